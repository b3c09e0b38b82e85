"""nginx on loopback in front of several `sigap run` processes, as docs/DEPLOY.md sets it up:
its own master process in the foreground (never the system's service), everything it writes
in a folder of the test's, an upstream of the processes' ports taken in turn (round robin).
A test that needs nginx and cannot find it fails, saying how to install it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import time
from pathlib import Path

# Each request's upstream: which process answered it.
LOG_FORMAT = "'$request_method $uri $status $upstream_addr'"


def binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise AssertionError(
            "nginx is not installed: `apt-get install -y nginx` (.ci/run installs it); "
            "the tests run their own nginx, the system's service may stay stopped"
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def config(folder: Path, port: int, upstreams: list[int]) -> str:
    servers = "".join(f"        server 127.0.0.1:{p};\n" for p in upstreams)
    temp = "".join(
        f"    {kind}_temp_path {folder / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Run as root (in a container), the workers would drop to `nobody`, who may not write
    # the test's folder: they stay root here.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\n"
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    log_format upstreams {LOG_FORMAT};\n"
        f"    access_log {folder / 'access.log'} upstreams;\n"
        f"{temp}"
        "    upstream sigap {\n"
        f"{servers}"
        "        keepalive 32;\n"
        # Closed before Sigap's web server closes an idle connection (uvicorn: after 5 s):
        # a POST nginx sent on a connection closing under it would not be sent again.
        "        keepalive_timeout 4s;\n"
        "    }\n"
        "    server {\n"
        f"        listen 127.0.0.1:{port};\n"
        "        client_max_body_size 20m;\n"
        "        location / {\n"
        "            proxy_pass http://sigap;\n"
        "            proxy_http_version 1.1;\n"
        '            proxy_set_header Connection "";\n'
        "            proxy_set_header Host $http_host;\n"
        "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "            proxy_set_header X-Forwarded-Proto $scheme;\n"
        "        }\n"
        "    }\n"
        "}\n"
    )


class Nginx:
    """`nginx -p FOLDER -c FOLDER/nginx.conf -g 'daemon off;'` in front of `upstreams`."""

    def __init__(self, folder: Path, upstreams: list[int], port: int | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.conf = folder / "nginx.conf"
        self.conf.write_text(config(folder, self.port, upstreams))
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        command = [binary(), "-p", str(self.folder), "-c", str(self.conf)]
        command += ["-e", str(self.folder / "error.log"), "-g", "daemon off;"]
        self.process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            if self.process.returncode is not None:
                raise AssertionError(f"nginx exited at start:\n{self.errors()}")
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"nginx did not listen:\n{self.errors()}") from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: the workers finish
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def errors(self) -> str:
        log = self.folder / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def upstreams(self) -> dict[str, int]:
        """How many requests each upstream (127.0.0.1:PORT) answered, from the access log."""
        counts: dict[str, int] = {}
        log = self.folder / "access.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            address = line.rsplit(" ", 1)[-1]
            counts[address] = counts.get(address, 0) + 1
        return counts
