"""The parts of a webhook benchmark as processes of their own, so that none of them takes its
CPU from the process measured: the fake Bot API, the load generator, and the server under
test (`sigap run`, or a baseline). Used by bench/telegram_webhook.py and bench/processes.py.

    python -m bench.separate --serve-fake             the fake Bot API; prints its origin
    python -m bench.separate --generate URL ...       posts /bantuan updates; prints the wall
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from aiohttp import web

from bench.common import KEYED, Post
from tests.fakes.telegram import FakeTelegram

SECRET = "bench-secret"


class CountingFake(FakeTelegram):
    """The fake Bot API with `GET /sent` (how many messages it was asked to send, and to how
    many chats) and `GET /replies?chat=ID` (the parameters of what was sent to that chat)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_by_front: Counter[int] = Counter()
        self.kept: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        self._ids = itertools.count(10_000)

    def count(self, chat: int, params: dict[str, Any]) -> None:
        """A message sent through the front, kept (`/replies`)."""
        self.sent_by_front[chat] += 1
        self.kept[chat].append(params)

    def next_id(self) -> int:
        return next(self._ids)

    def application(self) -> web.Application:
        app = super().application()

        async def sent(request: web.Request) -> web.Response:
            calls = self.called("sendMessage")
            chats = {call.params.get("chat_id") for call in calls} | set(self.sent_by_front)
            messages = len(calls) + sum(self.sent_by_front.values())
            return web.json_response({"messages": messages, "chats": len(chats)})

        async def replies(request: web.Request) -> web.Response:
            chat = int(request.query["chat"])
            calls = self.called("sendMessage")
            found = [c.params for c in calls if c.params.get("chat_id") == chat]
            return web.json_response(found or self.kept[chat])

        app.router.add_get("/sent", sent)
        app.router.add_get("/replies", replies)
        return app


class FastSend(asyncio.Protocol):
    """HTTP/1.1 in front of the fake Bot API: sendMessage answered here, as Telegram answers
    it (the message, with its text and keyboard), at a small part of the full fake's cost, so
    that the fake's CPU does not limit what the bench measures on 2 cores; every other method
    (set-up, health) passed on to the full fake."""

    def __init__(self, fake: CountingFake, upstream: httpx.AsyncClient) -> None:
        self.fake, self.upstream = fake, upstream
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.passing: set[asyncio.Future[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, rest = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
            length = int(headers.get("content-length", "0"))
            if len(rest) < length:
                return
            body, self.buffer = rest[:length], rest[length:]
            method, path = lines[0].split(" ")[:2]
            if path.endswith("/sendMessage"):
                self.answer(self.send_message(body, headers.get("content-type", "")))
            else:
                passing = asyncio.ensure_future(self.pass_on(method, path, headers, body))
                self.passing.add(passing)
                passing.add_done_callback(self.passing.discard)

    def send_message(self, body: bytes, content_type: str) -> bytes:
        if content_type.startswith("application/json"):
            params = json.loads(body)
        else:
            params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        chat = int(params["chat_id"])
        self.fake.count(chat, params)
        message = {
            "message_id": self.fake.next_id(),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": "Tester"},
            "from": {"id": FakeTelegram.BOT_ID, "is_bot": True, "first_name": "Sigap"},
            "text": params.get("text", ""),
        }
        markup = params.get("reply_markup")
        if markup:
            markup = json.loads(markup) if isinstance(markup, str) else markup
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
        return json.dumps({"ok": True, "result": message}).encode()

    async def pass_on(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        kept = {k: v for k, v in headers.items() if k in ("content-type",)}
        response = await self.upstream.request(method, path, headers=kept, content=body)
        self.answer(response.content, response.status_code)

    def answer(self, body: bytes, status: int = 200) -> None:
        assert self.transport is not None
        self.transport.write(
            f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )


async def serve_fake() -> None:
    """The fake Bot API until SIGTERM, behind its fast front; prints the front's origin."""
    fake = CountingFake()
    await fake.start()
    async with httpx.AsyncClient(base_url=fake.origin) as upstream:
        server = await asyncio.get_running_loop().create_server(
            lambda: FastSend(fake, upstream), "127.0.0.1", 0
        )
        print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        stopped = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
        await stopped.wait()
        server.close()
    await fake.stop()


class Fake:
    """The fake Bot API process, as the bench sees it."""

    def __init__(self) -> None:
        self.origin = ""
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Fake:
        self._process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bench.separate", "--serve-fake"],
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        self.origin = (await self._process.stdout.readline()).decode().strip()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        await self._process.wait()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def sent(self) -> dict[str, int]:
        async with httpx.AsyncClient() as client:
            counts: dict[str, int] = (await client.get(self.origin + "/sent", timeout=10)).json()
            return counts

    async def replies(self, chat: int) -> list[dict[str, Any]]:
        async with httpx.AsyncClient() as client:
            found: list[dict[str, Any]] = (
                await client.get(self.origin + "/replies", params={"chat": chat}, timeout=10)
            ).json()
            return found

    async def until_sent(self, messages: int, within: float = 180) -> None:
        """Waits until the fake has been asked to send `messages` messages in all (asked every
        20 ms on one kept connection: a new client each time would cost the cores measured)."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.origin) as client:
            while (sent := (await client.get("/sent", timeout=10)).json()["messages"]) < messages:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {sent} of {messages} sent")
                await asyncio.sleep(0.02)


def updates(count: int, offset: int) -> list[Post]:
    """`count` /bantuan messages, each from a new chat (its id: `offset` + n)."""
    made = FakeTelegram()  # only to make the updates
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    return [
        (
            offset + n,
            {
                "json": {
                    **made.message(offset + n, "/bantuan", language_code="en"),
                    "update_id": offset + n,
                },
                "headers": headers,
            },
        )
        for n in range(count)
    ]


async def generate(url: str, count: int, offset: int, concurrency: int) -> None:
    """The load generator: posts the updates over `concurrency` kept-alive connections, each
    request made beforehand and written raw (an HTTP client library would cost more CPU than
    the server measured on 2 cores). Prints "ready" once the requests are made and the
    connections open, starts on a line read from stdin, and prints the wall time and its own CPU
    time of posting."""
    address = urlsplit(url)
    requests = []
    for _key, arguments in updates(count, offset):
        body = json.dumps(arguments["json"]).encode()
        head = (
            f"POST {address.path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            "Content-Type: application/json\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in arguments["headers"].items())
            + f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    requests.reverse()
    connections = [
        await asyncio.open_connection(address.hostname, address.port) for _ in range(concurrency)
    ]

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while requests:
            writer.write(requests.pop())
            status = await reader.readline()
            if b" 200 " not in status:
                raise SystemExit(f"the webhook answered {status!r}")
            length = 0
            while (line := await reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
        writer.close()

    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    began, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(client(reader, writer) for reader, writer in connections))
    wall, cpu = time.monotonic() - began, time.process_time() - cpu
    print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)


class Generator:
    """The load generator as a process of its own: `ready` returns once it has made its
    requests and opened its connections; `go` has it post them and returns the seconds that
    took and the CPU seconds it used, so that a measure can begin after the generator's own
    set-up."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def ready(cls, url: str, count: int, offset: int, concurrency: int) -> Generator:
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bench.separate", "--generate", url],
            *["--updates", str(count), "--offset", str(offset)],
            *["--concurrency", str(concurrency)],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        if (await process.stdout.readline()).strip() != b"ready":
            raise SystemExit("the load generator failed to start")
        return cls(process)

    async def go(self) -> tuple[float, float]:
        out, _ = await self.process.communicate(b"go\n")
        if self.process.returncode != 0:
            raise SystemExit("the load generator failed")
        figures = json.loads(out)
        return figures["wall"], figures["cpu"]


async def generator(url: str, count: int, offset: int, concurrency: int) -> float:
    """Runs the load generator; the seconds it took to post the updates."""
    wall, _cpu = await (await Generator.ready(url, count, offset, concurrency)).go()
    return wall


def sigap_config(folder: Path, database: str, port: int, public: str, fake: str) -> Path:
    """A `sigap run` in webhook mode on `port`, every sending limit lifted."""
    path = folder / f"sigap-{port}.toml"
    path.write_text(
        f'[storage]\nurl = "{database}"\nmedia_dir = "{folder / "media"}"\n'
        f'[server]\nport = {port}\npublic_url = "{public}"\n'
        f'[privacy]\ndata_key = "{KEYED.data_key}"\n'
        f'[telegram]\ntoken = "{FakeTelegram.TOKEN}"\nbase_url = "{fake}/bot"\n'
        f'mode = "webhook"\nsecret_token = "{SECRET}"\n'
        "messages_per_second = 1000\nchat_messages_per_second = 30\n"
        "group_messages_per_minute = 60\n"
        "[intake]\nmax_messages_per_minute = 1000\n"
        '[logging]\nlevel = "warning"\n'
    )
    return path


async def healthy(url: str, within: float = 60) -> None:
    """Waits until the server's /healthz answers, with every job it lists run once."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while True:
            try:
                body = (await client.get(url + "/healthz", timeout=5)).json()
                if all(job["last_ok"] for job in body.get("jobs", {}).values()):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server at {url} did not get ready")
            await asyncio.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system, every thread) a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime: the 14th and 15th fields
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu(**pids: list[int]) -> dict[str, float]:
    """CPU seconds used so far by each group of processes named (pids), by every process of
    PostgreSQL and of nginx, and by the whole machine (Linux)."""
    used: dict[str, float] = {name: sum(map(cpu_seconds, group)) for name, group in pids.items()}
    for program in ("postgres", "nginx"):
        used[program] = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
                if name in ("postgres", "nginx"):
                    used[name] += cpu_seconds(int(entry.name))
            except (OSError, ValueError):
                continue  # ended meanwhile
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    # user nice system idle iowait irq softirq steal: all but idle and iowait
    ticks = sum(int(value) for index, value in enumerate(busy[:8]) if index not in (3, 4))
    used["machine"] = ticks / os.sysconf("SC_CLK_TCK")
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--serve-fake", action="store_true")
    parser.add_argument("--generate")
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=32)
    parsed = parser.parse_args()
    if parsed.serve_fake:
        asyncio.run(serve_fake())
    elif parsed.generate:
        asyncio.run(generate(parsed.generate, parsed.updates, parsed.offset, parsed.concurrency))
    else:
        parser.error("--serve-fake or --generate URL")


if __name__ == "__main__":
    main()
