"""Conversation state per (channel, sender): loaded locked, so two messages from one chat are
handled one after the other, even by two processes."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import dialect, dialect_insert
from storage.models import Channel, Conversation


@functools.cache
def _load(name: str) -> Any:
    """The statement of `load` in the dialect `name`, built once (every message runs it)."""
    upsert = dialect_insert(name, Conversation).on_conflict_do_update(
        index_elements=["channel", "sender"],
        set_={"last_inbound_at": bindparam("written_at"), "unreachable_at": None},
    )
    return select(Conversation).from_statement(upsert.returning(Conversation))


async def load(
    session: AsyncSession, channel: Channel, sender: str, *, language: str, now: datetime
) -> Conversation:
    """The chat's conversation, created on first contact, locked until the transaction ends,
    and marked as written to now (reachable again). One statement: an upsert takes the row's
    lock as SELECT ... FOR UPDATE would (on SQLite, the transaction holds the writer)."""
    values = {
        "channel": channel,
        "sender": sender,
        "language": language,
        "data": {},
        "seq": 0,
        "created_at": now,
        "updated_at": now,
        "last_inbound_at": now,
        "written_at": now,
    }
    found = await session.exec(
        _load(dialect(session)), params=values, execution_options={"populate_existing": True}
    )
    conversation: Conversation = found.scalars().one()
    return conversation


async def find(session: AsyncSession, channel: Channel, sender: str) -> Conversation | None:
    query = select(Conversation).where(
        col(Conversation.channel) == channel, col(Conversation.sender) == sender
    )
    return (await session.exec(query)).first()


async def languages(
    session: AsyncSession, addresses: Sequence[tuple[Channel, str]]
) -> dict[tuple[Channel, str], str]:
    """The language of each address's conversation, for the addresses that have one: one
    query for everyone an alert goes to."""
    if not addresses:
        return {}
    wanted = set(addresses)
    query = select(Conversation.channel, Conversation.sender, Conversation.language).where(
        col(Conversation.channel).in_({channel for channel, _ in wanted}),
        col(Conversation.sender).in_({sender for _, sender in wanted}),
    )
    found = (await session.exec(query)).all()
    return {(Channel(c), s): language for c, s, language in found if (c, s) in wanted}


async def left_since(
    session: AsyncSession, flows: Sequence[str] | None, before: datetime, limit: int | None = None
) -> Sequence[Conversation]:
    """Conversations in one of `flows` (None: in any flow) untouched since `before`, locked
    (skipped if another process has them); at most `limit`."""
    in_flow = (
        col(Conversation.flow).is_not(None) if flows is None else col(Conversation.flow).in_(flows)
    )
    query = (
        select(Conversation)
        .where(in_flow, col(Conversation.updated_at) < before)
        .order_by(col(Conversation.id))
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        query = query.limit(limit)
    return (await session.exec(query)).all()
