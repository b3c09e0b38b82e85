"""Inbound Telegram updates through the webhook path: Sigap's CPU per message and throughput
against a bare python-telegram-bot handler doing the same work (issue #18, goal 1: within
1.5x).

Each update is /bantuan from a new chat. `sigap run` answers it with two messages (the
emergency numbers, then the menu with its keyboard); the baseline (bench/bare_bot.py) sends
those very two messages, with the same writes in the same transactions and the same engine
settings. The load generator, the fake Bot API and the server measured are processes of
their own, so the server's CPU (read from /proc: every thread, user and system) is its own.
Sending limits are lifted on both sides. Each server gets 200 updates to warm up (connections
opened, caches filled) before the measure: on PostgreSQL, the first requests wait while the
pool opens its connections, which the old in-process bench counted as a stall of 1-3.6 s.

    python3 dev.py bench telegram_webhook [--updates 2000] [--concurrency 32]
        [--database-url postgresql+psycopg://127.0.0.1:5432/test]
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
from collections.abc import Sequence
from pathlib import Path

from bench.common import fresh_database
from bench.separate import Fake, cpu_seconds, generator, healthy, sigap_config
from tests.support.nginx import free_port

WARM_UP = 200


async def measure(
    name: str, command: Sequence[str], port: int, fake: Fake, arguments: argparse.Namespace,
    offset: int, log: Path,
) -> dict[str, float]:  # fmt: skip
    """Starts the server, warms it up, then posts the updates: its figures."""
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(*command, stdout=output, stderr=output)
    try:
        url = f"http://127.0.0.1:{port}"
        await healthy(url)
        hook = url + "/telegram/webhook"
        before = (await fake.sent())["messages"]
        await generator(hook, WARM_UP, offset, arguments.concurrency)
        await fake.until_sent(before + 2 * WARM_UP)
        before = (await fake.sent())["messages"]
        cpu, began = cpu_seconds(process.pid), time.monotonic()
        await generator(hook, arguments.updates, offset + WARM_UP, arguments.concurrency)
        await fake.until_sent(before + 2 * arguments.updates)
        wall, cpu = time.monotonic() - began, cpu_seconds(process.pid) - cpu
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
        errors = logged_errors(log)
        if errors:
            print(f"       {name} logged {len(errors)} error line(s), the first: {errors[0]}")
    figures = {"per_second": arguments.updates / wall, "cpu_ms": cpu / arguments.updates * 1000}
    print(
        f"{name:<6} {figures['per_second']:6.0f} updates/s   "
        f"CPU {figures['cpu_ms']:5.2f} ms a message   ({arguments.updates} in {wall:.1f} s)"
    )
    return figures


def logged_errors(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "ERROR" in line or "Error" in line]


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with (
            Fake() as fake,
            fresh_database(arguments.database_url, folder, "webhook") as database,
        ):
            print(
                f"{arguments.updates} updates, {arguments.concurrency} at a time, on "
                f"{database.split(':')[0]}; each is /bantuan from a new chat, answered with 2 "
                f"messages; {os.cpu_count()} cores, load before: {os.getloadavg()[0]:.2f}"
            )
            port = free_port()
            path = sigap_config(folder, database, port, f"http://127.0.0.1:{port}", fake.origin)
            sigap = await measure(
                "sigap", [sys.executable, "-m", "bot.cli", "run", "--config", str(path)],
                port, fake, arguments, 1_000_000, folder / "sigap.log",
            )  # fmt: skip
            replies = folder / "replies.json"
            replies.write_text(json.dumps(await fake.replies(1_000_000)))
            port = free_port()
            bare = await measure(
                "bare",
                [sys.executable, "-m", "bench.bare_bot", "--database", database,
                 "--bot-api", fake.origin, "--port", str(port), "--replies", str(replies)],
                port, fake, arguments, 2_000_000, folder / "bare.log",
            )  # fmt: skip
    print(
        f"ratio sigap/bare: CPU a message {sigap['cpu_ms'] / bare['cpu_ms']:.2f} (goal <= 1.5), "
        f"throughput {sigap['per_second'] / bare['per_second']:.2f}; "
        f"load after: {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default="")
    asyncio.run(main(parser.parse_args()))
