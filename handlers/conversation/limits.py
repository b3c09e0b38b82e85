"""The inbound rate limit: one chat cannot flood the task force with reports or the bot with
work. A chat may send `[intake] max_messages_per_minute` messages in a minute counted from the
first; the first message over the limit is answered politely, once, with the question the
chat is at (its buttons, for after the minute), and neither it nor the rest of that minute is
handled. What came before it was handled in full (a report in progress
keeps every answer).

The count lives on the chat's conversation row (`inbound_window_at`, `inbound_in_window`),
which `Conversations.handle` loads locked in the transaction that handles the message: every
process serving the bot counts the same chat in one place, exactly, with no statement of its
own, and a crash that rolls a message back rolls its count back with it (the channel's
redelivery is counted once). A message recognised as a redelivery is never counted.

Not limited: task-force members (known, accountable, and at times acting on many alerts in a
minute; looked up only when a chat is over the limit, so residents' messages cost nothing
more), group chats (where no report is taken and a resident is answered once ever; members
act there), and the terminal (`sigap chat`, whose user is on the server already)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.conversation.messages import Inbound
from handlers.i18n import N_
from storage import members
from storage.models import Channel, Conversation

MINUTE = timedelta(minutes=1)

SLOW_DOWN = N_(
    "You are sending messages faster than I can take them (at most {count} a minute). I did "
    "not take this one, nor the ones you send in the next minute. Please wait a minute, then "
    "send them again. Everything you sent before is kept."
)


def count(conv: Conversation, now: datetime) -> int:
    """Counts a message from the chat; its number in the chat's current minute (a new minute
    begins with the first message after the last one ended, or after the clock went back)."""
    began = conv.inbound_window_at
    if began is None or not began <= now < began + MINUTE:
        conv.inbound_window_at = now
        conv.inbound_in_window = 0
    conv.inbound_in_window += 1
    return conv.inbound_in_window


class Over(StrEnum):
    """Where a message stands against its chat's limit."""

    NO = "no"  # handled
    FIRST = "first"  # the first over the limit this minute: not handled, answered politely
    AGAIN = "again"  # later in the same minute: not handled, not answered


async def check(
    session: AsyncSession, conv: Conversation, inbound: Inbound, now: datetime, limit: int
) -> Over:
    """Counts the message (whoever sent it) and says whether it is over the chat's limit."""
    number = count(conv, now)
    if number <= limit or inbound.group or inbound.channel is Channel.CONSOLE:
        return Over.NO
    if await members.by_address(session, inbound.channel, inbound.sender) is not None:
        return Over.NO
    return Over.FIRST if number == limit + 1 else Over.AGAIN
