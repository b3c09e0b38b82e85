"""Alerting figures, through the real scheduler and delivery job:
1. time from a resident's confirm to the alert requests reaching the (fake, local) Bot API for
   10 members on duty: median and p99;
2. lateness of follow-ups with 10,000 open alerts: p50, p99 and max against their due time;
3. duplicates when two processes run the follow-ups on one PostgreSQL database (must be 0).

    python3 dev.py bench alerts [--reports 50] [--open 10000] [--database-url URL]
(part 3 always uses PostgreSQL: SIGAP_BENCH_PG, default postgresql://127.0.0.1:5432/test)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert
from sqlmodel import col, select

from bench.common import fresh_database
from bot.app import App, build
from bot.config import ServerSettings, Settings, TelegramSettings
from bot.outbox import Delivery
from bot.scheduler import Jobs
from bot.telegram import TelegramChannel
from handlers.conversation.messages import Inbound
from storage import members, roster
from storage.db import Database, StorageSettings
from storage.migrate import upgrade
from storage.models import (
    Channel,
    EventKind,
    Followup,
    FollowupState,
    MessageKind,
    Outbox,
    Report,
    ReportEvent,
    Role,
)
from storage.roster import ShiftRow
from tests.fakes.telegram import FakeTelegram
from tests.support.answers import ENGLISH_REPORT

PG = os.environ.get("SIGAP_BENCH_PG", "postgresql://127.0.0.1:5432/test")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q) - 1))]


async def staff(app: App, count: int) -> None:
    """`count` members on duty around the clock."""
    now = app.services.clock()
    async with app.db.write() as session:
        ids = []
        for n in range(count):
            member = await members.add(session, f"Member {n}", Role.MEMBER, at=now)
            await members.link(session, member, Channel.TELEGRAM, str(7000 + n))
            ids.append(member.id or 0)
        await roster.replace_shifts(
            session, [ShiftRow(day, "00:00", "00:00", tuple(ids)) for day in range(7)]
        )


async def confirm_to_alert(url: str, media: Path, reports: int) -> list[float]:
    settings = Settings(
        storage=StorageSettings(url=url, media_dir=media),
        server=ServerSettings(port=0),
    )
    app = await build(settings)
    await staff(app, 10)
    async with FakeTelegram() as fake:
        telegram = TelegramChannel(
            app.for_channels,
            TelegramSettings(token=FakeTelegram.TOKEN, base_url=fake.base_url),
            settings.server,
        )
        await telegram.bot.initialize()
        delivery = Delivery(app.services, {Channel.TELEGRAM: telegram})
        jobs = Jobs(app.services, delivery)
        app.conversations.on_outbox.append(jobs.wake_outbox)
        jobs.start()
        times = []
        for n in range(reports):
            sender = str(100_000 + n)
            for answer, _question in ENGLISH_REPORT:
                await app.conversations.handle(Inbound(Channel.CONSOLE, sender, text=answer))
            before = len(fake.called("sendMessage"))
            began = time.monotonic()
            await app.conversations.handle(Inbound(Channel.CONSOLE, sender, text="1"))
            calls = await fake.wait_for("sendMessage", before + 10, within=30)
            times.append(calls[before + 9].at - began)
            await asyncio.sleep(1)  # Telegram's 30 messages a second is not what is measured
        await jobs.stop(grace=30)
        await telegram.bot.shutdown()
    await app.close()
    return times


async def seed_open_alerts(db: Database, count: int, first_due: datetime, spread: float) -> None:
    """`count` unacknowledged reports whose follow-up falls due within `spread` seconds."""
    now = datetime.now(UTC)
    async with db.write() as session:
        member = await members.add(session, "Coordinator", Role.COORDINATOR, at=now)
        await members.link(session, member, Channel.TELEGRAM, "8000")
        base = {
            "created_at": now,
            "state": "new",
            "priority": "urgent",
            "channel": "telegram",
            "language": "id",
            "anonymous": True,
            "consent_contact": False,
            "consent_share_with_police": False,
            "urgency": "danger_now",
            "affected": "me",
            "child_involved": "no",
            "offer_kind": "work_abroad",
            "destination": "Malaysia",
            "offer_source": "agent",
            "red_flags": [],
            "story": "x" * 40,
        }
        for start in range(0, count, 1000):
            chunk = range(start, min(count, start + 1000))
            await session.exec(
                insert(Report).values(  # type: ignore[call-overload]
                    [{**base, "reference": f"BEN-2026-{n:05d}", "sender": f"r{n}"} for n in chunk]
                )
            )
        ids = (await session.exec(select(Report.id).order_by(col(Report.id)))).all()
        rows = [
            {
                "report_id": report_id,
                "step": 1,
                "state": "pending",
                "due_at": first_due + timedelta(seconds=spread * i / count),
            }
            for i, report_id in enumerate(ids)
        ]
        for start in range(0, len(rows), 1000):
            await session.exec(insert(Followup).values(rows[start : start + 1000]))  # type: ignore[call-overload]


async def lateness(url: str, media: Path, count: int) -> list[float]:
    settings = Settings(storage=StorageSettings(url=url, media_dir=media))
    app = await build(settings)
    first_due = datetime.now(UTC) + timedelta(seconds=5)
    spread = 30.0
    await seed_open_alerts(app.db, count, first_due, spread)
    jobs = Jobs(app.services, Delivery(app.services, {}))  # no channel: measure the claiming
    jobs.start()
    await asyncio.sleep((first_due - datetime.now(UTC)).total_seconds() + spread + 2)
    while True:
        async with app.db.read() as session:
            left = (
                await session.exec(
                    select(func.count())
                    .select_from(Followup)
                    .where(col(Followup.state) == FollowupState.PENDING, col(Followup.step) == 1)
                )
            ).one()
        if not left:
            break
        await asyncio.sleep(0.5)
    await jobs.stop(grace=30)
    async with app.db.read() as session:
        done = (await session.exec(select(Followup).where(col(Followup.step) == 1))).all()
    await app.close()
    return [(f.done_at - f.due_at).total_seconds() for f in done if f.done_at]


WORKER = """
import asyncio, sys
from bot.app import build
from bot.config import Settings
from handlers.taskforce.alerts import follow_up
from storage.db import StorageSettings
async def main():
    app = await build(Settings(storage=StorageSettings(url=sys.argv[1], media_dir=sys.argv[2])))
    total = 0
    for _ in range(50):
        total += await follow_up(app.services, batch=50)
        await asyncio.sleep(0.05)
    print(total)
    await app.close()
asyncio.run(main())
"""


async def duplicates(url: str, media: Path, count: int) -> tuple[int, list[int]]:
    db = Database(url)
    await upgrade(db)
    await seed_open_alerts(db, count, datetime.now(UTC) - timedelta(seconds=1), 0.0)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, url, str(media), stdout=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in processes))
    handled = [int(out.strip() or 0) for out, _err in outputs]
    async with db.read() as session:
        followed = (
            await session.exec(
                select(ReportEvent.report_id, func.count())
                .where(col(ReportEvent.kind) == EventKind.FOLLOWED_UP)
                .group_by(col(ReportEvent.report_id))
            )
        ).all()
        messages = (
            await session.exec(
                select(Outbox.report_id, func.count())
                .where(col(Outbox.kind) == MessageKind.FOLLOWUP)
                .group_by(col(Outbox.report_id))
            )
        ).all()
    await db.close()
    doubled = sum(n - 1 for _, n in followed if n > 1) + sum(n - 1 for _, n in messages if n > 1)
    missing = count - len(followed)
    return doubled + missing, handled


async def main(arguments: argparse.Namespace) -> None:
    base = arguments.database_url
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        media = folder / "media"
        print(f"on {(base or 'sqlite').split(':')[0]}")
        async with fresh_database(base, folder, "confirm") as url:
            times = await confirm_to_alert(url, media, arguments.reports)
        print(
            f"confirm -> 10 alert requests at the Bot API, {arguments.reports} reports: "
            f"median {statistics.median(times) * 1000:.0f} ms, "
            f"p99 {percentile(times, 0.99) * 1000:.0f} ms"
        )
        async with fresh_database(base, folder, "lateness") as url:
            late = await lateness(url, media, arguments.open)
        print(
            f"follow-up lateness, {len(late)} open alerts falling due over 30 s: "
            f"p50 {percentile(late, 0.5):.2f} s, p99 {percentile(late, 0.99):.2f} s, "
            f"max {max(late):.2f} s"
        )
        async with fresh_database(PG, folder, "duplicates") as url:
            dupes, handled = await duplicates(url, media, arguments.duplicates)
        print(
            f"two processes on PostgreSQL, {arguments.duplicates} due follow-ups: handled "
            f"{handled[0]} + {handled[1]}, duplicates or misses {dupes}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=50)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--duplicates", type=int, default=2_000)
    parser.add_argument("--database-url", default="")
    asyncio.run(main(parser.parse_args()))
