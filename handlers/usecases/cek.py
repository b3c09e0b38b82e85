"""A resident's check of an offer (CEK): the identifiers in what they sent, the confirmed
verdict on each (and nothing else the task force knows: no report, no count, no mark waiting
for confirmation), and the risk signs in the text. Every check is stored with the chat's key
hashed (`chat_key`), never the resident's name or number; a chat may check `[cek] per_hour`
times an hour; an identifier checked by `[cek] alert_after_chats` different chats within a
week is told to the coordinators, once a week, without saying who checked it."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from handlers.conversation.turn import Work
from handlers.i18n import N_, gettext
from handlers.intel import indexing
from handlers.intel.identifiers import Identifier, identifiers
from handlers.risk import Risk, score
from handlers.taskforce.alert_texts import IDENTIFIER_KIND
from handlers.taskforce.alerts import NOTICE_PRIORITY, recipients
from handlers.usecases import Refused
from storage import checks, members, outbox
from storage.models import Channel, IdentifierKind, MessageKind, Role, Verdict

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
# What one check looks up at most: an advert names a few; a message naming dozens is someone
# trying numbers, and the rate limit counts checks, not numbers.
MAX_IDENTIFIERS = 6
TEXT_MAX = 4000  # what is read of a message (Telegram's longest is 4096)
# The key of `chat_key` when `[cek] secret` is not set (the service warns at start).
BUILT_IN_KEY = "sigap-cek-built-in-key"

RATE_LIMITED = N_(
    "You have checked many offers in the last hour. Please try again later. If an offer "
    "worries you now, type LAPOR to report it, or call the KP2MI call centre."
)
CHECKED_BY_MANY = N_(
    "Residents are checking {value} ({kind}): {chats} different chats in the last 7 days. "
    "Who they are is not kept. /intel {value} shows what is known of it."
)


def chat_key(secret: str, channel: Channel, sender: str) -> str:
    """The chat as a check stores it: HMAC-SHA256 of its channel and key, so that the same
    chat is counted as one without being named (and a number cannot be found by hashing
    numbers without the secret)."""
    key = (secret or BUILT_IN_KEY).encode()
    return hmac.new(key, f"{channel.value}:{sender}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Found:
    """An identifier the resident sent, and the confirmed verdict on it if there is one."""

    identifier: Identifier
    verdict: Verdict | None
    shown: str  # as the task force stored it when confirmed, else as the resident wrote it


@dataclass(frozen=True)
class Checked:
    found: list[Found]
    left_out: int  # identifiers beyond MAX_IDENTIFIERS, not looked up
    risk: Risk


async def check(work: Work, channel: Channel, sender: str, text: str) -> Checked:
    """Checks the text for the chat, stores the check, and tells the coordinators when many
    chats checked one of its identifiers this week. Refused when the chat has checked
    `per_hour` times in the last hour."""
    settings = work.services.cek
    chat = chat_key(settings.secret, channel, sender)
    if await checks.of_chat_since(work.session, chat, work.now - HOUR) >= settings.per_hour:
        raise Refused(RATE_LIMITED)
    text = text[:TEXT_MAX]
    extracted = identifiers(text)
    asked, left_out = extracted[:MAX_IDENTIFIERS], max(0, len(extracted) - MAX_IDENTIFIERS)
    found = []
    for identifier in asked:
        # One at a time, to know which of them each verdict is about.
        marks = await indexing.confirmed_marks(work.session, [identifier])
        mark = marks[0] if marks else None
        found.append(
            Found(
                identifier,
                mark.verdict if mark else None,
                mark.shown if mark else identifier.shown,
            )
        )
    risk = score((), None, None, text)
    stored = [await indexing.canonical(work.session, i, work.now) for i in asked]
    ids = [s.id for s in stored if s.id is not None]
    await checks.add(work.session, channel, chat, ids, risk.level.value, work.now)
    for row in stored:
        await _alert_if_many(work, row.id or 0, row.shown, row.kind)
    return Checked(found, left_out, risk)


async def _alert_if_many(work: Work, identifier_id: int, shown: str, kind: IdentifierKind) -> None:
    since = work.now - WEEK
    _checks, chats = await checks.counts_since(work.session, identifier_id, since)
    if chats < work.services.cek.alert_after_chats:
        return
    await checks.lock_identifier(work.session, identifier_id)
    if await checks.alerted_since(work.session, identifier_id, since):
        return
    await checks.add_alert(work.session, identifier_id, chats, work.now)
    people = await members.with_roles(work.session, [Role.COORDINATOR, Role.ADMIN])
    default = work.services.bot.default_language
    for recipient in await recipients(work.session, list(people), default):
        _ = gettext(recipient.language)
        text = _(CHECKED_BY_MANY).format(value=shown, kind=_(IDENTIFIER_KIND[kind]), chats=chats)
        await outbox.enqueue(
            work.session,
            recipient.channel,
            recipient.address,
            MessageKind.NOTICE,
            text,
            at=work.now,
            priority=NOTICE_PRIORITY,
            variables={"1": shown[:100], "2": text[:200]},
            member_id=recipient.member.id,
        )
