"""Per-chat bookkeeping for the channels: messages handled once, the ids of messages in a chat
(for clearing it and for removing answered keyboards), and chats that cannot be reached."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import dialect, dialect_insert
from storage.models import Channel, ChatMessage, Conversation, SeenInbound

# Every message runs the statements below: each is built once (per dialect), its values
# bound when it runs. Building a statement costs more than running it on SQLite.
SEEN = SeenInbound.__table__  # type: ignore[attr-defined]
MESSAGES = ChatMessage.__table__  # type: ignore[attr-defined]


@functools.cache
def _first_sight(name: str) -> Any:
    return (
        dialect_insert(name, SEEN)
        .on_conflict_do_nothing(index_elements=["channel", "key"])
        .returning(SEEN.c.id)
    )


@functools.cache
def _record_message(name: str) -> Any:
    insert = dialect_insert(name, MESSAGES)
    return insert.on_conflict_do_nothing(index_elements=["channel", "chat", "message_id"])


WITH_KEYBOARD = select(MESSAGES.c.message_id, MESSAGES.c.keyboard_seq).where(
    MESSAGES.c.channel == bindparam("channel"),
    MESSAGES.c.chat == bindparam("chat"),
    MESSAGES.c.keyboard_seq.is_not(None),
)


async def first_sight(session: AsyncSession, channel: Channel, key: str, at: datetime) -> bool:
    """True the first time a message key is seen; False for a redelivery."""
    values = {"channel": channel, "key": key, "at": at}
    result = await session.exec(_first_sight(dialect(session)), params=values)
    return result.first() is not None


async def forget_seen(session: AsyncSession, before: datetime) -> None:
    await session.exec(delete(SeenInbound).where(col(SeenInbound.at) < before))


async def record_message(
    session: AsyncSession,
    channel: Channel,
    chat: str,
    message_id: str,
    *,
    at: datetime,
    from_bot: bool,
    keyboard_seq: int | None = None,
) -> None:
    values = {
        "channel": channel,
        "chat": chat,
        "message_id": message_id,
        "at": at,
        "from_bot": from_bot,
        "keyboard_seq": keyboard_seq,
    }
    await session.exec(_record_message(dialect(session)), params=values)


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent to a chat, with the question whose buttons it shows."""

    channel: Channel
    chat: str
    message_id: str
    keyboard_seq: int | None = None


async def record_sent(
    session: AsyncSession,
    messages: Sequence[BotMessage],
    unbuttoned: Sequence[BotMessage],
    at: datetime,
) -> None:
    """The bot's messages just sent, and those whose buttons are gone: a statement each."""
    if messages:
        rows = [
            {
                "channel": m.channel,
                "chat": m.chat,
                "message_id": m.message_id,
                "at": at,
                "from_bot": True,
                "keyboard_seq": m.keyboard_seq,
            }
            for m in messages
        ]
        connection = await session.connection()  # executemany: one statement for every row
        await connection.execute(_record_message(dialect(session)), rows)
    if unbuttoned:
        table = ChatMessage.metadata.tables["chat_message"]
        statement = (
            update(table)
            .where(
                table.c.channel == bindparam("b_channel"),
                table.c.chat == bindparam("b_chat"),
                table.c.message_id == bindparam("b_message"),
            )
            .values(keyboard_seq=None)
        )
        connection = await session.connection()  # executemany: one statement for every row
        await connection.execute(
            statement,
            [
                {"b_channel": m.channel, "b_chat": m.chat, "b_message": m.message_id}
                for m in unbuttoned
            ],
        )


async def with_keyboard(
    session: AsyncSession, channel: Channel, chat: str
) -> Sequence[tuple[str, int]]:
    """The bot's messages in the chat that still show buttons: (message_id, keyboard_seq)."""
    found = await session.exec(WITH_KEYBOARD, params={"channel": channel, "chat": chat})
    return found.all()


async def messages(session: AsyncSession, channel: Channel, chat: str) -> Sequence[ChatMessage]:
    query = (
        select(ChatMessage)
        .where(col(ChatMessage.channel) == channel, col(ChatMessage.chat) == chat)
        .order_by(col(ChatMessage.id))
    )
    return (await session.exec(query)).all()


async def forget_messages(
    session: AsyncSession, channel: Channel, chat: str, message_ids: Sequence[str]
) -> None:
    await session.exec(
        delete(ChatMessage).where(
            col(ChatMessage.channel) == channel,
            col(ChatMessage.chat) == chat,
            col(ChatMessage.message_id).in_(message_ids),
        )
    )


async def mark_unreachable(
    session: AsyncSession, channel: Channel, chat: str, at: datetime
) -> None:
    await session.exec(
        update(Conversation)
        .where(col(Conversation.channel) == channel, col(Conversation.sender) == chat)
        .values(unreachable_at=at)
    )


async def mark_opted_out(session: AsyncSession, channel: Channel, chat: str, at: datetime) -> None:
    """The chat opted out at the provider (or had already, with STOP: that time stays)."""
    await session.exec(
        update(Conversation)
        .where(
            col(Conversation.channel) == channel,
            col(Conversation.sender) == chat,
            col(Conversation.opted_out_at).is_(None),
        )
        .values(opted_out_at=at)
    )
