"""Inbound throughput of 2 `sigap run` processes against 1, behind nginx, on one PostgreSQL
database: Telegram updates posted to the webhook through nginx (round robin over the
processes), each a /bantuan from a new chat, answered by Sigap through the fake Bot API. The
load generator, the fake Bot API (its limits lifted, as are Sigap's) and each `sigap run`
are processes of their own; nginx is the system's binary, run in the foreground. Throughput
is counted from the first update posted to the last answer received by the fake.

    python3 dev.py bench processes [--updates 3000] [--concurrency 64]
        [--database-url postgresql+psycopg://127.0.0.1:5432/test]

Everything runs on this machine: with 2 cores, the processes of Sigap share them with
PostgreSQL, nginx, the fake and the load generator (`uptime` is printed with the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx
from aiohttp import web

from bench.common import KEYED, Load, Post, drive, fresh_database
from tests.fakes.telegram import FakeTelegram
from tests.support.nginx import Nginx, free_port

SECRET = "bench-secret"
DEFAULT_DATABASE = "postgresql+psycopg://127.0.0.1:5432/test"
WARM_UP = 200  # updates before the measure: connections opened, caches filled


class CountingFake(FakeTelegram):
    """The fake Bot API with `GET /answered`: how many chats it was asked to send a message to
    (an answer may be more than one message)."""

    def application(self) -> web.Application:
        app = super().application()

        async def answered(request: web.Request) -> web.Response:
            chats = {call.params.get("chat_id") for call in self.called("sendMessage")}
            return web.json_response(len(chats))

        app.router.add_get("/answered", answered)
        return app


async def serve_fake() -> None:
    """The fake Bot API as a process of its own, until SIGTERM; prints its address."""
    fake = CountingFake()
    await fake.start()
    print(fake.origin, flush=True)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()
    await fake.stop()


async def generate(url: str, count: int, offset: int, concurrency: int) -> None:
    """The load generator as a process of its own: posts the updates, prints the wall time."""
    fake = FakeTelegram()  # only to make the updates
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    posts: list[Post] = [
        (
            offset + n,
            {
                "json": {
                    **fake.message(offset + n, "/bantuan", language_code="en"),
                    "update_id": offset + n,
                },
                "headers": headers,
            },
        )
        for n in range(count)
    ]
    wall, _started = await drive(url, posts, Load(concurrency))
    print(json.dumps({"wall": wall}))


def config(folder: Path, database: str, port: int, public: str, fake: str) -> Path:
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
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while True:
            try:
                body = (await client.get(url + "/healthz", timeout=5)).json()
                if all(job["last_ok"] for job in body["jobs"].values()):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"sigap run at {url} did not get ready")
            await asyncio.sleep(0.2)


async def answers(fake: str, count: int, within: float = 120) -> None:
    """Waits until the fake has answered `count` chats (or `within` seconds)."""
    deadline = time.monotonic() + within
    while True:
        if await answered(fake) >= count or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.02)


async def answered(fake: str) -> int:
    async with httpx.AsyncClient() as client:
        count: int = (await client.get(fake + "/answered", timeout=10)).json()
        return count


async def generator(url: str, count: int, offset: int, concurrency: int) -> float:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.processes",
        "--generate",
        url,
        "--updates",
        str(count),
        "--offset",
        str(offset),
        "--concurrency",
        str(concurrency),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit("the load generator failed")
    wall: float = json.loads(out)["wall"]
    return wall


async def measure(
    processes: int, arguments: argparse.Namespace, base: str, folder: Path, fake: str
) -> dict[str, float]:
    """`processes` of `sigap run` behind nginx on a new database; the figures."""
    run_folder = folder / f"run{processes}"
    run_folder.mkdir()
    async with fresh_database(base, run_folder, f"processes{processes}") as database:
        ports = [free_port() for _ in range(processes)]
        nginx = Nginx(run_folder / "nginx", ports)
        running: list[asyncio.subprocess.Process] = []
        try:
            await nginx.start()
            for port in ports:  # one after the other: the first migrates the database
                path = config(run_folder, database, port, nginx.url, fake)
                log = (run_folder / f"sigap-{port}.log").open("ab")
                running.append(
                    await asyncio.create_subprocess_exec(
                        *[sys.executable, "-m", "bot.cli", "run", "--config", str(path)],
                        stdout=log,
                        stderr=log,
                    )
                )
                await healthy(f"http://127.0.0.1:{port}")
            hook = nginx.url + "/telegram/webhook"
            before = await answered(fake)
            await generator(hook, WARM_UP, 10_000_000 * processes, arguments.concurrency)
            await answers(fake, before + WARM_UP)
            before = await answered(fake)
            began = time.monotonic()
            posting = await generator(
                hook, arguments.updates, 10_000_000 * processes + WARM_UP, arguments.concurrency
            )
            await answers(fake, before + arguments.updates)
            wall = time.monotonic() - began
            got = await answered(fake) - before
            upstreams = nginx.upstreams()
        finally:
            for process in running:
                process.send_signal(signal.SIGTERM)
            for process in running:
                try:
                    await asyncio.wait_for(process.wait(), 60)
                except TimeoutError:
                    process.kill()
            await nginx.stop()
            for port in ports:
                logged = (run_folder / f"sigap-{port}.log").read_text()
                failures = [line for line in logged.splitlines() if " ERROR " in line]
                if failures:
                    print(f"sigap on {port} logged {len(failures)} error(s): {failures[0]}")
            errors = [line for line in nginx.errors().splitlines() if "[error]" in line]
            if errors:
                print(f"nginx logged {len(errors)} error(s), the first: {errors[0]}")
    figures = {"per_second": got / wall, "posting_per_second": arguments.updates / posting}
    share = ", ".join(f"{a}: {n}" for a, n in sorted(upstreams.items()))
    print(
        f"{processes} process(es): {figures['per_second']:7.0f} updates/s answered "
        f"({figures['posting_per_second']:.0f}/s posted), {got} of {arguments.updates} "
        f"answered in {wall:.1f} s; requests by upstream: {share}"
    )
    return figures


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        fake_process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bench.processes", "--serve-fake"],
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert fake_process.stdout is not None
            fake = (await fake_process.stdout.readline()).decode().strip()
            print(
                f"{arguments.updates} updates, {arguments.concurrency} at a time, through nginx "
                f"on PostgreSQL; each is /bantuan from a new chat; {os.cpu_count()} cores; "
                f"load before: {os.getloadavg()[0]:.2f}"
            )
            one = await measure(1, arguments, arguments.database_url, folder, fake)
            two = await measure(2, arguments, arguments.database_url, folder, fake)
        finally:
            fake_process.send_signal(signal.SIGTERM)
            await fake_process.wait()
    print(
        f"ratio 2/1: {two['per_second'] / one['per_second']:.2f} "
        f"(goal 1.7); load after: {os.getloadavg()[0]:.2f}"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    # The parts started as processes of their own.
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def run(parsed: argparse.Namespace) -> None:
    if parsed.serve_fake:
        asyncio.run(serve_fake())
    elif parsed.generate:
        asyncio.run(generate(parsed.generate, parsed.updates, parsed.offset, parsed.concurrency))
    else:
        asyncio.run(main(parsed))


if __name__ == "__main__":
    run(arguments())
