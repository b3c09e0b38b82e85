"""deploy/Dockerfile built and run as an operator builds and runs it, with Podman: the image
built, `sigap keys new` run in it for the data key, `sigap run` in it with the compose
config, SQLite in its volume and no channel reachable, /healthz answering 200 on the
published port and the image's own HEALTHCHECK passing, then `podman stop` (its default
timeout, 10 s) ending it cleanly well within that.

Without Docker Hub: the base is Debian 12 made by debootstrap from Debian's archive
(docs/DEPLOY.md, "Docker"), cached in ~/.cache/sigap-container (the root file system, as a
tar) and in Podman's storage (the imported base, the build's layers), so that only the first
run pays for debootstrap (about 30 s) and a run whose sources did not change rebuilds nothing.

What this machine needs besides, in a containers.conf of the test's own (CONTAINERS_CONF):
runc rather than crun, which refuses this kernel's mix of cgroup v1 and v2 ("cgroups in
hybrid mode not supported"), and limits on open files and processes no higher than this
machine's own (root here may not raise them: "setrlimit RLIMIT_NOFILE: Operation not
permitted"). The base also carries this machine's local CAs (/usr/local/share/ca-certificates),
which its HTTPS to PyPI goes through. A missing tool fails the test, saying how to install it
(.ci/run installs them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.journeys.harness import free_port
from tests.test_deploy import CLEAN_STOP, DEPLOY, ROOT

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sigap-container"
BASE = "localhost/sigap-base:bookworm"  # Debian 12 by debootstrap, with the local CAs
IMAGE = "localhost/sigap:journey"
MIRROR = "http://deb.debian.org/debian"
# debian:bookworm-slim's sources: the release, its updates and its security fixes.
SOURCES = """\
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
"""
# Another channel than WhatsApp would need a server to answer it; this one only receives, and
# what it would send goes to a port where nothing listens.
WHATSAPP = """
[whatsapp]
account_sid = "AC00000000000000000000000000000000"
auth_token = "0000"
from = "whatsapp:+14155238886"
public_url = "https://sigap.example.org"
api_base_url = "http://127.0.0.1:9"
"""


def tool(name: str, package: str) -> str:
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise AssertionError(
            f"{name} is not installed: `apt-get install -y {package}` (.ci/run's "
            "install_container_tools installs what this test needs)"
        )
    return found


@pytest.fixture(scope="module")
def podman() -> Iterator[list[str]]:
    """The podman command, with this machine's containers.conf."""
    binary = tool("podman", "podman")
    tool("runc", "runc")
    CACHE.mkdir(parents=True, exist_ok=True)
    conf = CACHE / "containers.conf"
    conf.write_text(CONTAINERS_CONF, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTAINERS_CONF", str(conf))
        yield [binary]


def run(command: list[str], timeout: float = 120, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def logs(podman: list[str], name: str) -> str:
    """The container's output (Sigap logs on stderr)."""
    done = subprocess.run(
        [*podman, "logs", name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return done.stdout


def debian_root_file_system() -> Path:
    """Debian 12's minimal root file system (debootstrap's minbase), as a tar, made once."""
    tarball = CACHE / "bookworm-minbase.tar"
    if tarball.exists():
        return tarball
    debootstrap = tool("debootstrap", "debootstrap")
    root = CACHE / "rootfs.partial"
    shutil.rmtree(root, ignore_errors=True)
    run([debootstrap, "--variant=minbase", "bookworm", str(root), MIRROR], timeout=900)
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    (root / "etc/apt/sources.list.d/debian.sources").write_text(SOURCES, encoding="utf-8")
    for leftover in [*(root / "var/cache/apt/archives").glob("*.deb"), root / "var/lib/apt/lists"]:
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    partial = tarball.with_suffix(".partial")
    run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], timeout=300)
    partial.rename(tarball)
    shutil.rmtree(root)
    return tarball


def build_base(podman: list[str], folder: Path) -> None:
    """BASE: the debootstrap tar imported, then this machine's local CAs (a layer Podman
    caches: rebuilt only when they change)."""
    if subprocess.run([*podman, "image", "exists", "localhost/debian:bookworm-minbase"]).returncode:
        run([*podman, "import", "-q", str(debian_root_file_system()),
             "localhost/debian:bookworm-minbase"], timeout=300)  # fmt: skip
    context = folder / "base"
    (context / "ca").mkdir(parents=True)
    for ca in Path("/usr/local/share/ca-certificates").glob("**/*.crt"):
        shutil.copy(ca, context / "ca" / ca.name)
    (context / "Containerfile").write_text(
        "FROM localhost/debian:bookworm-minbase\nCOPY ca/ /usr/local/share/ca-certificates/\n"
    )
    run([*podman, "build", "-q", "-t", BASE, str(context)], timeout=300)


def image_id(podman: list[str], name: str) -> str | None:
    found = subprocess.run(
        [*podman, "image", "inspect", "--format", "{{.Id}}", name], capture_output=True, text=True
    )
    return found.stdout.strip() if found.returncode == 0 else None


def healthz(port: int) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        return answer.status, json.loads(answer.read())


def test_the_image_builds_serves_healthz_and_stops_cleanly(
    podman: list[str], tmp_path: Path
) -> None:
    timings: dict[str, float] = {}
    started = time.monotonic()
    build_base(podman, tmp_path)
    timings["base"] = time.monotonic() - started

    # The operator's build (docs/DEPLOY.md): from the repository's root, the base given.
    # --format docker keeps the HEALTHCHECK (Podman's default format, OCI, has none).
    before = image_id(podman, IMAGE)
    started = time.monotonic()
    run(
        [*podman, "build", "--format", "docker", "-f", str(DEPLOY / "Dockerfile"),
         "--build-arg", f"BASE={BASE}", "-t", IMAGE, str(ROOT)],
        timeout=900,
    )  # fmt: skip
    timings["build"] = time.monotonic() - started
    after = image_id(podman, IMAGE)
    if before not in (None, after):  # the previous build, no longer tagged: not kept
        subprocess.run([*podman, "rmi", before], capture_output=True)

    key = run([*podman, "run", "--rm", IMAGE, "sigap", "keys", "new"]).strip()
    assert key and "\n" not in key

    config = tmp_path / "config.toml"
    config.write_text((DEPLOY / "config.compose.toml").read_text() + WHATSAPP, encoding="utf-8")
    name, port = f"sigap-journey-{os.getpid()}", free_port()
    volume = f"{name}-data"
    run([*podman, "volume", "create", volume])
    try:
        run(
            [*podman, "run", "--detach", "--name", name,
             "--publish", f"127.0.0.1:{port}:8080",
             "--volume", f"{config}:/etc/sigap/config.toml:ro",
             "--volume", f"{volume}:/var/lib/sigap",
             "--env", "SIGAP_DATA_KEY", "--env", "SIGAP_MEDIA_DIR=/var/lib/sigap/media",
             # The HEALTHCHECK runs when asked (below): no systemd here for its timer.
             "--health-interval", "disable",
             IMAGE],
            env=os.environ | {"SIGAP_DATA_KEY": key},
        )  # fmt: skip
        started = time.monotonic()
        answer: tuple[int, dict[str, object]] | None = None
        while answer is None:
            try:
                answer = healthz(port)
            except OSError:
                state = json.loads(run([*podman, "inspect", "--format", "{{json .State}}", name]))
                assert state["Running"], logs(podman, name)
                assert time.monotonic() - started < 60, logs(podman, name)
                time.sleep(0.2)
        timings["healthy"] = time.monotonic() - started
        status, health = answer
        assert status == 200 and health["status"] == "up", health
        assert health["database"] == {"state": "up"}

        # The image's HEALTHCHECK, its user, and SQLite in the volume (the default url, in
        # the working directory).
        run([*podman, "healthcheck", "run", name])
        assert run([*podman, "exec", name, "id", "-un"]).strip() == "sigap"
        assert {"media", "sigap.db"} <= set(
            run([*podman, "exec", name, "ls", "/var/lib/sigap"]).split()
        )

        started = time.monotonic()
        run([*podman, "stop", name], timeout=30)  # Podman's default timeout: 10 s
        timings["stop"] = time.monotonic() - started
        state = json.loads(run([*podman, "inspect", "--format", "{{json .State}}", name]))
        log = logs(podman, name)
        assert state["ExitCode"] == 0, log  # not killed: 137
        assert timings["stop"] < CLEAN_STOP, log
        assert "INFO bot.service: stopping" in log and "Traceback" not in log, log
    finally:
        subprocess.run([*podman, "rm", "--force", name], capture_output=True)
        subprocess.run([*podman, "volume", "rm", "--force", volume], capture_output=True)
        print({what: round(seconds, 1) for what, seconds in timings.items()})
