"""The parts of a webhook benchmark as processes of their own, so that none of them takes its
CPU from the process measured: the fake Bot API, the load generator, and the server under
test (`sigap run`, or a baseline). Used by bench/telegram_webhook.py and bench/processes.py.

    python -m bench.separate --serve-fake             the fake Bot API; prints its origin
    python -m bench.separate --generate URL ...       posts /bantuan updates; prints the wall
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bench.common import KEYED, Load, Post, drive
from tests.fakes.telegram import FakeTelegram

SECRET = "bench-secret"


class CountingFake(FakeTelegram):
    """The fake Bot API with `GET /sent` (how many messages it was asked to send, and to how
    many chats) and `GET /replies?chat=ID` (the parameters of what was sent to that chat)."""

    def application(self) -> web.Application:
        app = super().application()

        async def sent(request: web.Request) -> web.Response:
            calls = self.called("sendMessage")
            chats = {call.params.get("chat_id") for call in calls}
            return web.json_response({"messages": len(calls), "chats": len(chats)})

        async def replies(request: web.Request) -> web.Response:
            chat = int(request.query["chat"])
            calls = self.called("sendMessage")
            return web.json_response([c.params for c in calls if c.params.get("chat_id") == chat])

        app.router.add_get("/sent", sent)
        app.router.add_get("/replies", replies)
        return app


async def serve_fake() -> None:
    """The fake Bot API until SIGTERM; prints its origin."""
    fake = CountingFake()
    await fake.start()
    print(fake.origin, flush=True)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()
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
        """Waits until the fake has been asked to send `messages` messages in all."""
        deadline = time.monotonic() + within
        while (await self.sent())["messages"] < messages:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {(await self.sent())['messages']} of {messages} sent")
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
    """The load generator: posts the updates, prints the wall time of posting them."""
    wall, _started = await drive(url, updates(count, offset), Load(concurrency))
    print(json.dumps({"wall": wall}))


async def generator(url: str, count: int, offset: int, concurrency: int) -> float:
    """Runs the load generator as a process; the seconds it took to post the updates."""
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "bench.separate", "--generate", url],
        *["--updates", str(count), "--offset", str(offset), "--concurrency", str(concurrency)],
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit("the load generator failed")
    wall: float = json.loads(out)["wall"]
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
