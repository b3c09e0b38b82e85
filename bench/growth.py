"""Flat growth: the queries every message or every delivery runs, with 1,000 reports and then
with 100,000 (and as many pending outbox rows and follow-ups), each figure with its ratio
large/small, which should stay near 1 (the goal: within 1.10). The rows are bulk-inserted
before the clock starts; each claim runs in a transaction rolled back afterwards, so every
sample claims the same rows; the two databases take turns, sample after sample.

- ACK/DETAIL by reference: `reports.by_reference`, the reference as a member types it
  (lower case).
- The delivery job's claim of urgent rows (50) and of broadcast rows (24), among the
  pending rows: a broadcast's backlog (all but 220), 200 urgent rows (alerts of reports not
  yet acknowledged, notices) and 20 rows a dead worker had claimed; beside them the sent
  history (one alert per report).
- The follow-up claim (25) among one follow-up per report: most done or cancelled long ago,
  a tenth pending for later, 100 due now.
- A resident's message (/bantuan from a chat that wrote before: one conversation, five
  handled updates and four messages' ids kept per report), handled as `sigap run` handles
  a Telegram update: the update's id, the conversation, the answer claimed as it is stored,
  sent at once through a fake Bot API and recorded as sent by the delivery job. For this
  part the pending rows are put off for a day, so that the job sends only the answers.
- A broadcast's fan-out into the outbox, to as many subscribers (1,000, then 100,000: the
  goal is under 10 s), as the broadcasts job runs it (chunk after chunk).

    python3 dev.py bench growth [--db sqlite|postgresql|both] [--small 1000] [--large 100000]
(PostgreSQL: --database-url, or SIGAP_BENCH_PG, default postgresql://127.0.0.1:5432/test)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy import text as sql
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.common import KEYED, fresh_database
from bot.app import App, build
from bot.config import ServerSettings, Settings, TelegramSettings
from bot.outbox import Delivery
from bot.telegram import TelegramChannel
from handlers.conversation.messages import Inbound
from handlers.taskforce.broadcast import start_due
from storage import broadcasts, escalation, outbox, reports, workers
from storage.models import (
    Affected,
    Channel,
    ChatMessage,
    ChildInvolved,
    Conversation,
    Followup,
    FollowupState,
    MessageKind,
    OfferKind,
    OfferSource,
    Outbox,
    OutboxState,
    Priority,
    Report,
    ReportState,
    SeenInbound,
    Subscription,
    Urgency,
)
from storage.settings import StorageSettings
from tests.fakes.telegram import FakeTelegram

PG = os.environ.get("SIGAP_BENCH_PG", "postgresql://127.0.0.1:5432/test")
GOAL_RATIO = 1.10
FAN_OUT_GOAL_S = 10.0
URGENT_PENDING = 200  # alerts and notices waiting, whatever the size
ABANDONED = 20  # rows claimed by a worker that died
DUE_FOLLOWUPS = 100
CHUNK = 5000  # rows an INSERT statement while filling
NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def reference(n: int) -> str:
    return f"BTN-2026-{n:06d}"


def chat(n: int) -> str:
    """The Telegram chat report n came from."""
    return str(100_000_000 + n)


def report_rows(count: int) -> list[dict[str, Any]]:
    """Reports 1..count; nine in ten acknowledged."""
    rows = []
    for n in range(1, count + 1):
        acknowledged = n % 10 != 0
        rows.append(
            {
                "id": n,
                "reference": reference(n),
                "created_at": NOW - timedelta(minutes=count - n),
                "state": ReportState.ACKNOWLEDGED if acknowledged else ReportState.NEW,
                "priority": Priority.NORMAL,
                "channel": Channel.TELEGRAM,
                "sender": chat(n),
                "language": "id",
                "consent_share_with": [],
                "urgency": Urgency.NONE,
                "affected": Affected.ME,
                "child_involved": ChildInvolved.NO,
                "offer_kind": OfferKind.WORK_ABROAD,
                "destination": "malaysia",
                "offer_source": OfferSource.SOCIAL_MEDIA,
                "red_flags": [],
                "story": "Ditawari kerja di luar negeri.",
                "acknowledged_at": NOW - timedelta(minutes=count - n - 5) if acknowledged else None,
            }
        )
    return rows


def outbox_row(**values: Any) -> dict[str, Any]:
    return {
        "created_at": NOW - timedelta(minutes=5),
        "updated_at": NOW - timedelta(minutes=5),
        "channel": Channel.TELEGRAM,
        "address": "200000",
        "kind": MessageKind.NOTICE,
        "text": "Pesan.",
        "template": None,
        "variables": {},
        "buttons": [],
        "state": OutboxState.PENDING,
        "priority": 5,
        "due_at": NOW - timedelta(minutes=5),
        "attempts": 0,
        "replies": [],
        "report_id": None,
        "claimed_by": None,
        **values,
    }


def outbox_rows(count: int, dead_worker: int) -> list[dict[str, Any]]:
    """The sent history (an alert per report), then the pending rows: urgent, abandoned, and
    a broadcast's backlog making `count` pending in all."""
    rows = [
        outbox_row(
            kind=MessageKind.ALERT,
            priority=0,
            report_id=n,
            state=OutboxState.SENT,
            address=str(300_000 + n % 50),
        )
        for n in range(1, count + 1)
    ]
    for n in range(URGENT_PENDING):
        alert = n % 2 == 0
        rows.append(
            outbox_row(
                kind=MessageKind.ALERT if alert else MessageKind.NOTICE,
                priority=0 if alert else 1,
                # Reports not acknowledged: every tenth.
                report_id=10 * (1 + n % (count // 10)) if alert else None,
                address=str(300_000 + n % 50),
            )
        )
    rows += [
        outbox_row(state=OutboxState.SENDING, claimed_by=dead_worker, attempts=1, priority=1)
        for _ in range(ABANDONED)
    ]
    backlog = count - URGENT_PENDING - ABANDONED
    rows += [
        outbox_row(
            kind=MessageKind.BROADCAST, priority=outbox.BULK, address=str(400_000 + n), text="Info."
        )
        for n in range(backlog)
    ]
    return rows


def followup_rows(count: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(1, count + 1):
        if n <= DUE_FOLLOWUPS:
            state, due = FollowupState.PENDING, NOW - timedelta(seconds=n)
        elif n % 10 == 0:
            state, due = FollowupState.PENDING, NOW + timedelta(minutes=n)
        else:
            state, due = FollowupState.DONE, NOW - timedelta(minutes=count - n)
        done = None if state is FollowupState.PENDING else due
        rows.append({"report_id": n, "step": 1, "due_at": due, "state": state, "done_at": done})
    return rows


UPDATES_A_CHAT = 5  # updates handled, and so kept (seen_inbound), of each chat that reported
MESSAGES_A_CHAT = 4  # message ids kept (chat_message), the chat's and the bot's


def chat_rows(count: int) -> dict[Any, list[dict[str, Any]]]:
    """What the chats of `count` reports left: their conversations (back at the menu), the
    updates handled and the messages' ids."""

    def row(model: Any) -> dict[str, Any]:
        return {k: v for k, v in model.model_dump().items() if k != "id"}

    at = NOW - timedelta(days=1)
    chats: dict[Any, list[dict[str, Any]]] = {Conversation: [], SeenInbound: [], ChatMessage: []}
    for n in range(1, count + 1):
        chats[Conversation].append(
            row(
                Conversation(
                    channel=Channel.TELEGRAM,
                    sender=chat(n),
                    language="id",
                    seq=12,
                    created_at=at,
                    updated_at=at,
                    last_inbound_at=at,
                )
            )
        )
        for u in range(UPDATES_A_CHAT):
            key = str(UPDATES_A_CHAT * n + u)
            chats[SeenInbound].append(row(SeenInbound(channel=Channel.TELEGRAM, key=key, at=at)))
        for m in range(MESSAGES_A_CHAT):
            chats[ChatMessage].append(
                row(
                    ChatMessage(
                        channel=Channel.TELEGRAM,
                        chat=chat(n),
                        message_id=str(m),
                        at=at,
                        from_bot=m % 2 == 1,
                    )
                )
            )
    return chats


def subscriber_rows(count: int) -> list[dict[str, Any]]:
    languages = ["id", "en", "id", "id"]
    return [
        {
            "channel": Channel.TELEGRAM if n % 3 else Channel.WHATSAPP,
            "address": str(500_000 + n),
            "area": None,
            "language": languages[n % len(languages)],
            "created_at": NOW - timedelta(days=1),
        }
        for n in range(count)
    ]


async def bulk(app: App, table: Any, rows: list[dict[str, Any]]) -> None:
    async with app.db.write() as session:
        connection = await session.connection()
        for start in range(0, len(rows), CHUNK):
            await connection.execute(insert(table), rows[start : start + CHUNK])


async def fill(app: App, count: int) -> int:
    """The rows, then the planner's statistics (as autovacuum keeps them on a live
    database); returns the live worker's id."""
    async with app.db.write() as session:
        dead = await workers.register(session, NOW - timedelta(hours=1))
        dead.heartbeat_at = dead.stopped_at = NOW - timedelta(hours=1)
        session.add(dead)
        live = await workers.register(session, NOW)
    assert dead.id is not None and live.id is not None
    await bulk(app, Report, report_rows(count))
    await bulk(app, Outbox, outbox_rows(count, dead.id))
    await bulk(app, Followup, followup_rows(count))
    for table, rows in chat_rows(count).items():
        await bulk(app, table, rows)
    async with app.db.write() as session:
        await session.exec(sql("ANALYZE"))  # type: ignore[call-overload]
    return live.id


@contextlib.asynccontextmanager
async def rolled_back(app: App) -> AsyncIterator[AsyncSession]:
    """A write transaction (BEGIN IMMEDIATE on SQLite) that is rolled back at the end."""
    engine = app.db.engine
    if app.db.is_sqlite:
        engine = engine.execution_options(sqlite_immediate=True)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            await session.rollback()


NAMES = {
    "message": "a resident's message",
    "by_reference": "ACK/DETAIL by reference",
    "urgent_claim": "outbox claim, urgent (50)",
    "bulk_claim": "outbox claim, broadcast (24)",
    "followup_claim": "follow-up claim (25)",
}


Sample = Callable[[AsyncSession, int], Awaitable[int]]


@dataclass(frozen=True)
class Filled:
    app: App
    count: int
    worker: int  # the live worker that claims


async def once(app: App, sample: Sample, n: int) -> tuple[float, float]:
    """The time of `sample` alone (not the transaction around it), on the clock and in CPU
    of this process (on SQLite that is all the work, and a busy machine's other processes
    do not count in it); it must find rows."""
    async with rolled_back(app) as session:
        began, cpu = time.perf_counter(), time.process_time()
        found = await sample(session, n)
        elapsed = time.perf_counter() - began, time.process_time() - cpu
    assert found, f"{sample.__name__} found nothing"
    return elapsed


def samples(filled: Filled, repeats: int) -> dict[str, Sample]:
    rng = random.Random(18)
    wanted = [reference(rng.randint(1, filled.count)).lower() for _ in range(repeats + 5)]
    channels = [Channel.TELEGRAM, Channel.WHATSAPP]

    async def by_reference(session: AsyncSession, n: int) -> int:
        return int(await reports.by_reference(session, wanted[n], lock=True) is not None)

    async def urgent_claim(session: AsyncSession, n: int) -> int:
        return len(await outbox.claim(session, NOW, 50, channels, filled.worker))

    async def bulk_claim(session: AsyncSession, n: int) -> int:
        return len(await outbox.claim(session, NOW, 24, channels, filled.worker, bulk=True))

    async def followup_claim(session: AsyncSession, n: int) -> int:
        return len(await escalation.claim_due(session, NOW, 25))

    return {
        "by_reference": by_reference,
        "urgent_claim": urgent_claim,
        "bulk_claim": bulk_claim,
        "followup_claim": followup_claim,
    }


async def measure(databases: list[Filled], repeats: int) -> dict[int, dict[str, float]]:
    """The median of each query on every database (`name`: on the clock, `name_cpu`: in CPU
    of this process), `repeats` times after 5 to warm up, the databases taking turns sample
    after sample: the machine is shared, and a change of its load during the run weighs on
    every size alike."""
    queries = [samples(filled, repeats) for filled in databases]
    figures: dict[int, dict[str, float]] = {filled.count: {} for filled in databases}
    for name in queries[0]:
        times: dict[int, list[tuple[float, float]]] = {filled.count: [] for filled in databases}
        for n in range(repeats + 5):
            for filled, sample in zip(databases, queries, strict=True):
                elapsed = await once(filled.app, sample[name], n)
                if n >= 5:
                    times[filled.count].append(elapsed)
        for count, taken in times.items():
            figures[count][name] = statistics.median(wall for wall, _ in taken) * 1000
            figures[count][f"{name}_cpu"] = statistics.median(cpu for _, cpu in taken) * 1000
    return figures


@contextlib.asynccontextmanager
async def answering(app: App, fake: FakeTelegram) -> AsyncIterator[None]:
    """The app answering Telegram chats as `sigap run` wires it (bot/service.py), through
    `fake` with Telegram's limits lifted; the pending rows put off for a day first, so that
    the delivery job sends only the answers."""
    async with app.db.write() as session:
        await session.exec(
            update(Outbox)
            .where(col(Outbox.state).in_([OutboxState.PENDING, OutboxState.SENDING]))
            .values(due_at=NOW + timedelta(days=1))
        )
    settings = TelegramSettings(
        token=FakeTelegram.TOKEN,
        base_url=fake.base_url,
        messages_per_second=1000,
        chat_messages_per_second=30,
    )
    telegram = TelegramChannel(app.for_channels, settings, ServerSettings(port=0))
    await telegram.bot.initialize()
    delivery = Delivery(app.services, {Channel.TELEGRAM: telegram})
    await delivery.register()
    app.conversations.answered_by_outbox = {Channel.TELEGRAM}
    app.conversations.sender = delivery
    try:
        yield
    finally:
        await delivery.stop(grace=10)
        await telegram.bot.shutdown()


async def messages(databases: list[Filled], repeats: int) -> dict[int, dict[str, float]]:
    """The median of a resident's message handled (see the module's doc), on the clock and in
    CPU of this process, the databases taking turns as in `measure`; each message from
    another chat that reported, its answer sent before the next."""
    figures: dict[int, dict[str, float]] = {filled.count: {} for filled in databases}
    rng = random.Random(4)
    async with FakeTelegram() as fake, contextlib.AsyncExitStack() as stack:
        for filled in databases:
            await stack.enter_async_context(answering(filled.app, fake))
        times: dict[int, list[tuple[float, float]]] = {filled.count: [] for filled in databases}
        for n in range(repeats + 5):
            for filled in databases:
                sender = chat(rng.randint(1, filled.count))
                inbound = Inbound(
                    Channel.TELEGRAM,
                    sender,
                    text="/bantuan",
                    key=f"growth-{n}",
                    message_id=str(1000 + n),
                    language_hint="en",
                )
                before = len(fake.called("sendMessage"))
                began, cpu = time.perf_counter(), time.process_time()
                outcome = await filled.app.conversations.handle(inbound)
                elapsed = time.perf_counter() - began, time.process_time() - cpu
                assert not outcome.duplicate
                await fake.wait_for("sendMessage", before + 2, within=10)
                if n >= 5:
                    times[filled.count].append(elapsed)
        for count, taken in times.items():
            figures[count]["message"] = statistics.median(wall for wall, _ in taken) * 1000
            figures[count]["message_cpu"] = statistics.median(cpu for _, cpu in taken) * 1000
    return figures


async def fan_out(app: App, count: int) -> float:
    """Seconds from a due broadcast to every subscriber's outbox row."""
    await bulk(app, Subscription, subscriber_rows(count))
    async with app.db.write() as session:
        await session.exec(sql("ANALYZE"))  # type: ignore[call-overload]
        await broadcasts.create(
            session, text="Waspada tawaran kerja.", areas=[], language=None, due_at=NOW, at=NOW
        )
    began = time.perf_counter()
    written = await start_due(app.services)
    seconds = time.perf_counter() - began
    assert written == count, (written, count)
    return seconds


async def run(
    url: str, folder: Path, sizes: tuple[int, int], repeats: int
) -> dict[int, dict[str, float]]:
    async with contextlib.AsyncExitStack() as stack:
        databases = []
        for count in sizes:
            name = f"growth_{count}"
            database = await stack.enter_async_context(fresh_database(url, folder, name))
            settings = Settings(
                privacy=KEYED, storage=StorageSettings(url=database, media_dir=folder / "media")
            )
            app = await build(settings, clock=lambda: NOW)
            stack.push_async_callback(app.close)
            began = time.monotonic()
            databases.append(Filled(app, count, await fill(app, count)))
            print(f"  {count} reports and rows stored in {time.monotonic() - began:.1f} s")
        print(f"  measuring, load {os.getloadavg()[0]:.2f} (1 min)")
        results = await measure(databases, repeats)
        print(f"  messages, load {os.getloadavg()[0]:.2f} (1 min)")
        for count, figures in (await messages(databases, repeats)).items():
            results[count].update(figures)
        for filled in databases:
            print(f"  fan-out to {filled.count}, load {os.getloadavg()[0]:.2f} (1 min)")
            results[filled.count]["fan_out_s"] = await fan_out(filled.app, filled.count)
        return results


def report(backend: str, sizes: tuple[int, int], results: dict[int, dict[str, float]]) -> bool:
    small, large = (results[size] for size in sizes)
    load = os.getloadavg()
    print(f"{backend}: load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ok = True
    # The CPU of this process: on PostgreSQL the bot's side only (the server's is apart).
    for key, name in NAMES.items():
        ratio = large[key] / small[key]
        cpu = f"{key}_cpu"
        ok &= ratio <= GOAL_RATIO
        print(
            f"  {name:<30} {sizes[0]:>7}: {small[key]:8.3f} ms   {sizes[1]:>7}: "
            f"{large[key]:8.3f} ms   ratio {ratio:6.2f}   (cpu {small[cpu]:.3f} / "
            f"{large[cpu]:.3f} ms, ratio {large[cpu] / small[cpu]:.2f})"
        )
    fast = large["fan_out_s"] < FAN_OUT_GOAL_S
    ok &= fast
    print(
        f"  {'fan-out':<30} {sizes[0]:>7}: {small['fan_out_s']:8.2f} s    {sizes[1]:>7}: "
        f"{large['fan_out_s']:8.2f} s    ({'under' if fast else 'OVER'} the "
        f"{FAN_OUT_GOAL_S:.0f} s goal)"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=200, help="samples of each query")
    parser.add_argument("--database-url", default="", help="PostgreSQL (default SIGAP_BENCH_PG)")
    args = parser.parse_args()
    sizes = (args.small, args.large)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            url = "sqlite" if backend == "sqlite" else args.database_url or PG
            print(f"growth on {backend}, {sizes[0]} then {sizes[1]} reports")
            results = asyncio.run(run(url, Path(folder), sizes, args.repeats))
            ok &= report(backend, sizes, results)
    print(f"goal: every ratio within {GOAL_RATIO:.2f}, the fan-out under {FAN_OUT_GOAL_S:.0f} s")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
