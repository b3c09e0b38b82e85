"""Subscriptions to awareness messages, and broadcasts: rows with a due time, fanned out into
one outbox row per recipient by whichever process claims them first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, case, func, insert, literal, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import claim
from storage.models import (
    Broadcast,
    BroadcastState,
    Channel,
    MessageKind,
    Outbox,
    OutboxState,
    Subscription,
)
from storage.outbox import BULK

BROADCAST_PRIORITY = BULK  # after alerts and answers (0), notices (1) and the rest (5)


async def subscribe(
    session: AsyncSession,
    channel: Channel,
    address: str,
    *,
    area: str | None,
    language: str,
    at: datetime,
) -> Subscription:
    """Subscribes the chat (replacing its earlier choice of area and language)."""
    await unsubscribe(session, channel, address, at=at, reason="changed")
    row = Subscription(
        channel=channel, address=address, area=area, language=language, created_at=at
    )
    session.add(row)
    return row


async def unsubscribe(
    session: AsyncSession, channel: Channel, address: str, *, at: datetime, reason: str
) -> bool:
    """Ends the chat's subscription; False if it had none."""
    result = await session.exec(
        update(Subscription)
        .where(
            col(Subscription.channel) == channel,
            col(Subscription.address) == address,
            col(Subscription.ended_at).is_(None),
        )
        .values(ended_at=at, end_reason=reason)
        .returning(col(Subscription.id))
    )
    return bool(result.all())


def _audience(areas: Sequence[str], language: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(Subscription.ended_at).is_(None)]
    if areas:
        conditions.append(or_(col(Subscription.area).is_(None), col(Subscription.area).in_(areas)))
    if language:
        conditions.append(col(Subscription.language) == language)
    return conditions


async def audience_size(session: AsyncSession, areas: Sequence[str], language: str | None) -> int:
    query = select(func.count()).select_from(Subscription).where(*_audience(areas, language))
    return (await session.exec(query)).one()


async def create(
    session: AsyncSession,
    *,
    text: str,
    areas: Sequence[str],
    language: str | None,
    due_at: datetime,
    at: datetime,
    created_by: int | None = None,
    library_id: str | None = None,
    image_sha256: str | None = None,
) -> Broadcast:
    row = Broadcast(
        created_at=at,
        created_by=created_by,
        text=text,
        library_id=library_id,
        image_sha256=image_sha256,
        areas=list(areas),
        language=language,
        due_at=due_at,
    )
    session.add(row)
    await session.flush()
    return row


async def claim_due(session: AsyncSession, now: datetime) -> list[Broadcast]:
    """Scheduled broadcasts now due, marked `sending` and taken by one process only."""
    due: list[Broadcast] = await claim(
        session,
        Broadcast,
        [col(Broadcast.state) == BroadcastState.SCHEDULED, col(Broadcast.due_at) <= now],
        {"state": BroadcastState.SENDING, "started_at": now},
    )
    return due


# Subscribers a transaction: a few milliseconds of SQLite's writer, so conversations never
# wait long (the rows are written by one INSERT ... SELECT).
FAN_OUT_CHUNK = 1000


async def fanning(session: AsyncSession) -> Broadcast | None:
    """A broadcast being sent whose fan-out is not finished, locked (another process takes
    another one, or waits)."""
    query = (
        select(Broadcast)
        .where(col(Broadcast.state) == BroadcastState.SENDING, col(Broadcast.fanned_out).is_(False))
        .order_by(col(Broadcast.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.exec(query)).first()


async def fan_out_chunk(
    session: AsyncSession, broadcast: Broadcast, texts: dict[str, str], at: datetime
) -> int:
    """The next subscribers get their outbox row, in their language, and the cursor moves
    past them in the same transaction: a crash repeats nobody and skips nobody. The rows are
    written by the database from the subscriptions (INSERT ... SELECT, each recipient's text
    picked by their language there): nothing passes through Python row by row, and the
    transaction holds SQLite's writer a few milliseconds."""
    assert broadcast.id is not None
    audience = [
        *_audience(broadcast.areas, broadcast.language),
        col(Subscription.id) > broadcast.cursor,
    ]
    chunk = select(Subscription.id).where(*audience).order_by(col(Subscription.id))
    ids = (await session.exec(chunk.limit(FAN_OUT_CHUNK))).all()
    if ids:
        fallback = next(iter(texts.values()))
        language = Subscription.metadata.tables["subscription"].c.language
        table = Outbox.metadata.tables["outbox"]
        row = {
            "created_at": literal(at, table.c.created_at.type),
            "updated_at": literal(at, table.c.updated_at.type),
            "channel": col(Subscription.channel),
            "address": col(Subscription.address),
            "kind": literal(MessageKind.BROADCAST, table.c.kind.type),
            "text": _by_language(language, {k: v or fallback for k, v in texts.items()}, fallback),
            "variables": _by_language(
                language,
                {k: {"1": (v or "")[:1000]} for k, v in texts.items()},
                {"1": ""},
                JSON,
            ),
            "buttons": literal([], JSON),
            "replies": literal([], JSON),
            "state": literal(OutboxState.PENDING, table.c.state.type),
            "priority": literal(BROADCAST_PRIORITY),
            "due_at": literal(at, table.c.due_at.type),
            "attempts": literal(0),
            "broadcast_id": literal(broadcast.id),
            "image_sha256": literal(broadcast.image_sha256, table.c.image_sha256.type),
        }
        recipients = select(*row.values()).where(*audience, col(Subscription.id) <= ids[-1])
        await session.exec(insert(table).from_select(list(row), recipients))
        session.info["outbox"] = True
        broadcast.cursor = ids[-1] or broadcast.cursor
    broadcast.recipients += len(ids)
    broadcast.fanned_out = len(ids) < FAN_OUT_CHUNK
    session.add(broadcast)
    return len(ids)


def _by_language(
    language: ColumnElement[str], values: dict[str, Any], otherwise: Any, kind: Any = String
) -> ColumnElement[Any]:
    """The value for each recipient's language, `otherwise` for a language not configured."""
    return case(
        {lang: literal(value, kind) for lang, value in values.items()},
        value=language,
        else_=literal(otherwise, kind),
    )


async def progress(session: AsyncSession, broadcast_id: int) -> dict[OutboxState, int]:
    query = (
        select(Outbox.state, func.count())
        .where(col(Outbox.broadcast_id) == broadcast_id)
        .group_by(col(Outbox.state))
    )
    return {OutboxState(state): n for state, n in (await session.exec(query)).all()}


async def blocked_count(session: AsyncSession, broadcast_id: int) -> int:
    """Recipients lost because they blocked the bot or opted out."""
    query = (
        select(func.count())
        .select_from(Outbox)
        .where(
            col(Outbox.broadcast_id) == broadcast_id,
            col(Outbox.error_code).in_(["blocked", "21610", "opted_out"]),
        )
    )
    return (await session.exec(query)).one()


async def finishing(session: AsyncSession) -> Sequence[Broadcast]:
    """Broadcasts being sent whose every row is settled, locked to be closed once."""
    open_rows = select(Outbox.broadcast_id).where(
        col(Outbox.broadcast_id).is_not(None),
        col(Outbox.state).in_([OutboxState.PENDING, OutboxState.SENDING]),
    )
    query = (
        select(Broadcast)
        .where(
            col(Broadcast.state) == BroadcastState.SENDING,
            col(Broadcast.fanned_out).is_(True),
            col(Broadcast.id).not_in(open_rows),
        )
        .with_for_update(skip_locked=True)
    )
    return (await session.exec(query)).all()


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def listing(session: AsyncSession) -> Sequence[Broadcast]:
    query = select(Broadcast).order_by(col(Broadcast.id).desc())
    return (await session.exec(query)).all()


async def cancel(session: AsyncSession, broadcast: Broadcast, at: datetime) -> int:
    """Stops a broadcast: what was not sent yet will not be. Returns how many rows that was."""
    broadcast.state = BroadcastState.CANCELLED
    broadcast.finished_at = at
    session.add(broadcast)
    result = await session.exec(
        update(Outbox)
        .where(
            col(Outbox.broadcast_id) == broadcast.id,
            col(Outbox.state) == OutboxState.PENDING,
        )
        .values(state=OutboxState.CANCELLED, error="broadcast cancelled", updated_at=at)
        .returning(col(Outbox.id))
    )
    return len(result.all())


async def image_in_use(session: AsyncSession, sha256: str) -> bool:
    """Whether a broadcast shows this image (only those are served to Twilio)."""
    query = select(Broadcast.id).where(col(Broadcast.image_sha256) == sha256)
    return (await session.exec(query)).first() is not None
