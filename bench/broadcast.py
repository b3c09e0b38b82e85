"""A broadcast to many Telegram subscribers through the real delivery job, against a local fake
Bot API server answering each request after a realistic latency: the achieved messages per
second as a fraction of the configured limit (30/s), duplicates (must be 0), peak memory.

    python3 dev.py bench broadcast [--subscribers 10000] [--latency 0.05] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bench.common import KEYED, fresh_database
from bot.app import build
from bot.config import ServerSettings, Settings, TelegramSettings
from bot.outbox import Delivery
from bot.telegram import TelegramChannel
from handlers.taskforce.broadcast import start_due
from storage import broadcasts
from storage.models import Channel, Subscription
from storage.settings import StorageSettings
from tests.fakes.telegram import FakeTelegram

TEXT = "Hati-hati dengan tawaran kerja ke luar negeri yang meminta uang di muka. Ketik LAPOR."


async def run(url: str, media: Path, subscribers: int, latency: float) -> None:
    settings = Settings(privacy=KEYED, storage=StorageSettings(url=url, media_dir=media))
    app = await build(settings)
    now = datetime.now(UTC)
    async with app.db.write() as session:
        rows = [
            {
                "channel": Channel.TELEGRAM,
                "address": str(10_000_000 + n),
                "area": None,
                "language": "id",
                "created_at": now,
            }
            for n in range(subscribers)
        ]
        for start in range(0, len(rows), 1000):
            await session.exec(insert(Subscription).values(rows[start : start + 1000]))  # type: ignore[call-overload]
        await broadcasts.create(session, text=TEXT, areas=[], language=None, due_at=now, at=now)
    async with FakeTelegram(latency=latency) as fake:
        limit = TelegramSettings(token=FakeTelegram.TOKEN, base_url=fake.base_url)
        telegram = TelegramChannel(app.for_channels, limit, ServerSettings())
        await telegram.bot.initialize()
        delivery = Delivery(app.services, {Channel.TELEGRAM: telegram})
        began = time.monotonic()
        fanned = await start_due(app.services)
        fanned_in = time.monotonic() - began
        await delivery.run()
        await telegram.bot.shutdown()
        calls = fake.called("sendMessage")
    await app.close()
    first, last = calls[0].at, calls[-1].at
    rate = (len(calls) - 1) / (last - first)
    per_chat = Counter(int(c.params["chat_id"]) for c in calls)
    duplicates = sum(n - 1 for n in per_chat.values())
    missed = subscribers - len(per_chat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{subscribers} subscribers, {latency * 1000:.0f} ms per request, "
        f"limit {limit.messages_per_second:g}/s"
    )
    print(f"fan-out into the outbox: {fanned} rows in {fanned_in:.2f} s")
    print(
        f"sent {len(calls)} in {last - first:.1f} s: {rate:.2f} messages/s = "
        f"{rate / limit.messages_per_second:.3f} of the limit"
    )
    print(f"duplicates {duplicates}, missed {missed}, peak memory {peak:.0f} MB (whole process)")


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with fresh_database(arguments.database_url, folder, "broadcast") as url:
            await run(url, folder / "media", arguments.subscribers, arguments.latency)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--database-url", default="")
    asyncio.run(main(parser.parse_args()))
