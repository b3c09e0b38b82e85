"""The queries every message or every delivery runs go through their indexes on both
databases, so that their cost stays that of the rows they return however many reports,
outbox rows and follow-ups the database holds (bench/growth.py measures it).

Each test runs the real storage function, records the statements it sends, and asks the
database how it would run each one (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL).
The tables are nearly empty here, and PostgreSQL rightly reads a small table whole rather
than through an index: its plan would tell nothing. So the plans are asked with sequential
scans turned off (`SET LOCAL enable_seqscan = off`): the planner then takes an index
wherever one can serve, and among those the cheapest, which for these queries is the one
made for them; without that index it falls back to another one, or to the sequential scan
it must keep when nothing else can serve, and the test fails either way. SQLite plans
without statistics and picks by the shape of the query: the index whose columns match the
conditions and the order."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import App
from storage import broadcasts, chats, conversations, escalation, outbox, reports, workers
from storage.db import Database
from storage.models import Channel, MessageKind
from tests.support.clock import Clock

Work = Callable[[AsyncSession], Awaitable[object]]


async def plans(db: Database, work: Work) -> list[tuple[str, str]]:
    """How the database would run each query and update `work` sends (in a transaction
    rolled back afterwards): each statement with its plan."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            sent.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with AsyncSession(db.engine) as session:
            await work(session)
            await session.rollback()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    found = []
    async with db.engine.connect() as conn:
        if not db.is_sqlite:
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
        for statement, parameters in sent:
            rows = (await conn.exec_driver_sql(explain + statement, parameters)).all()
            found.append((statement, "\n".join(str(row[-1]) for row in rows)))
        await conn.rollback()
    assert found, "the work sent no query"
    return found


def reads_whole(plan: str, table: str) -> bool:
    """Whether the plan reads every row of the table (or of an index of it)."""
    return bool(
        re.search(rf"\bSCAN (TABLE )?{table}\b", plan)  # SQLite
        or re.search(rf"\bSeq Scan on {table}\b", plan)  # PostgreSQL
    )


def finds_by_chat(plan: str) -> bool:
    """Whether the plan looks the rows up by their chat (`chat`, or `address` in the outbox)
    in an index."""
    return bool(
        re.search(r"\bSEARCH \w+ USING (COVERING )?INDEX \w+ \((\w+=\? AND )*(chat|address)=", plan)
        or re.search(r"Index Cond: \(+(chat|address) = ", plan)  # PostgreSQL
    )


def assert_through(plan: str, index: str, *tables: str) -> None:
    assert index in plan, plan
    for table in tables:
        assert not reads_whole(plan, table), plan


async def test_a_report_is_found_by_its_reference_through_its_index(app: App) -> None:
    """ACK, DETAIL and every command naming a report, typed in any case."""
    db = app.db
    unique = "sqlite_autoindex_report_1" if db.is_sqlite else "report_reference_key"

    async def lookups(session: AsyncSession) -> None:
        await reports.by_reference(session, "btn-2026-00042")
        await reports.by_reference(session, "btn-2026-00042", lock=True)

    for _statement, plan in await plans(db, lookups):
        assert_through(plan, unique, "report")

    async def own(session: AsyncSession) -> None:  # a resident's: by reference or by chat
        await reports.own(session, Channel.TELEGRAM, "5001", "btn-2026-00042")

    ((_statement, plan),) = await plans(db, own)
    assert not reads_whole(plan, "report"), plan


async def test_a_residents_message_finds_its_rows_through_their_indexes(
    app: App, clock: Clock
) -> None:
    """What every message runs: the update seen once, the chat's conversation, the message's
    id kept, another process sending to the chat, the bot's messages still showing buttons,
    the answer's ids kept and its earlier buttons taken off; each through an index of the
    chat or of the row, never reading a whole table however many chats have written."""
    db = app.db
    async with db.write() as session:
        worker = (await workers.register(session, clock.now)).id
        assert worker is not None

    async def message(session: AsyncSession) -> None:
        now = clock.now
        assert await chats.first_sight(session, Channel.TELEGRAM, "update-1", now)
        await conversations.load(session, Channel.TELEGRAM, "5001", language="id", now=now)
        await chats.record_message(session, Channel.TELEGRAM, "5001", "10", at=now, from_bot=False)
        for before in (None, 7):
            await outbox.sending_elsewhere(
                session, Channel.TELEGRAM, "5001", worker, now, before=before
            )
        await chats.with_keyboard(session, Channel.TELEGRAM, "5001")
        shown = chats.BotMessage(Channel.TELEGRAM, "5001", "11", keyboard_seq=2)
        gone = chats.BotMessage(Channel.TELEGRAM, "5001", "9")
        await chats.record_sent(session, [shown], [gone], now)

    found = await plans(db, message)
    assert len(found) == 8, found
    for statement, plan in found:
        for table in ("seen_inbound", "conversation", "chat_message", "outbox"):
            assert not reads_whole(plan, table), (statement, plan)
    # The inserts find their conflicts through the unique indexes they name; the reads and
    # the update, the chat's rows through an index on the chat, not every row of a channel.
    reads = [plan for statement, plan in found if not statement.lstrip().startswith("INSERT")]
    assert len(reads) == 4, found
    for plan in reads:
        assert finds_by_chat(plan), plan


async def test_the_delivery_claim_walks_the_outbox_in_sending_order(app: App, clock: Clock) -> None:
    """Both claims (urgent rows, broadcast rows) find pending rows and the rows of dead
    workers through (state, priority, id), the report of an alert by its id, and update
    what they found by id."""
    async with app.db.write() as session:
        worker = (await workers.register(session, clock.now)).id
        assert worker is not None
        for priority in (0, outbox.BULK):
            await outbox.enqueue(
                session,
                Channel.TELEGRAM,
                "5001",
                MessageKind.ALERT,
                "Laporan baru",
                at=clock.now,
                priority=priority,
            )

    async def claims(session: AsyncSession) -> None:
        channels = [Channel.TELEGRAM, Channel.WHATSAPP]
        assert await outbox.claim(session, clock.now, 50, channels, worker)
        assert await outbox.claim(session, clock.now, 24, channels, worker, bulk=True)

    found = await plans(app.db, claims)
    selects = [plan for statement, plan in found if statement.lstrip().startswith("SELECT")]
    assert len(selects) == 4, found  # pending rows and abandoned ones, for each claim
    for plan in selects:
        assert_through(plan, "ix_outbox_state_priority_id", "outbox", "report")
    for _statement, plan in found:  # the updates too
        assert not reads_whole(plan, "outbox") and not reads_whole(plan, "report"), plan


async def test_the_follow_up_claim_walks_the_pending_ones_in_due_order(
    app: App, clock: Clock
) -> None:
    async def claim(session: AsyncSession) -> None:
        await escalation.claim_due(session, clock.now, 25)

    ((_statement, plan),) = await plans(app.db, claim)
    assert_through(plan, "ix_followup_state_due_at_id", "followup")


async def test_the_fan_out_reads_the_next_subscribers_by_id(app: App, clock: Clock) -> None:
    async with app.db.write() as session:
        await broadcasts.subscribe(
            session, Channel.TELEGRAM, "5001", area=None, language="id", at=clock.now
        )
        sending = await broadcasts.create(
            session, text="Waspada.", areas=[], language=None, due_at=clock.now, at=clock.now
        )

    async def chunk(session: AsyncSession) -> None:
        broadcast = await broadcasts.get(session, sending.id or 0)
        assert broadcast is not None
        assert await broadcasts.fan_out_chunk(session, broadcast, {"id": "Waspada."}, clock.now)

    found = await plans(app.db, chunk)
    reads = [plan for statement, plan in found if "FROM subscription" in statement]
    assert len(reads) == 2, found  # the next ids, then their rows written into the outbox
    for plan in reads:
        assert not reads_whole(plan, "subscription"), plan
