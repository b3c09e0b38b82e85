"""Forgetting a reporter, for every door: who they are is removed from a report, which stays
with the task force, anonymised (storage/retention.py `erase_identity`: the chat address
becomes a tombstone no chat can match, the contact number and every consent go, nothing can
be sent to them any more). Three ways:

- the reporter asks (HAPUS DATA, handlers/residents/forget.py): from every report of their
  chat, and the chat's subscription and messages with it;
- an admin, for one report, with a reason (`sigap reports erase`), in the audit;
- `[retention] closed_identity_months` after a case closed (usecases/retention.py).

Each writes an `identity_erased` event on the report's timeline, naming how, never whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.conversation.turn import Work
from handlers.i18n import N_
from handlers.usecases import Actor, Refused, audit, may
from handlers.usecases.casework import NO_REPORT, name_of
from storage import reports, retention
from storage.models import Channel, Door, Erasure, EventKind, Report, Role, Seen

ONLY_ADMINS = N_("Only an admin can erase a reporter's identity.")
ALREADY = N_("The reporter's identity of {reference} was already erased, on {date}.")
# What a member is told who tries to write to a reporter who is no longer known.
FORGOTTEN = N_(
    "The reporter of {reference} has asked to be forgotten: no message can be sent to them."
)
REMOVED = N_(
    "The reporter's identity of {reference} has been removed: no message can be sent to them."
)


async def erase(
    work: Work, report: Report, by: Erasure, *, actor: str, channel: Channel | None = None
) -> str:
    """Removes the reporter's identity from the report and writes the event; returns the chat
    address it had (never stored again), for the caller to forget the chat if no report
    names it any more."""
    chat = await retention.erase_identity(work.session, report, by=by, at=work.now)
    await reports.add_event(
        work.session,
        report,
        EventKind.IDENTITY_ERASED,
        at=work.now,
        actor=actor,
        channel=channel,
        detail={"by": by.value},
    )
    return chat


async def forget_chat_if_unnamed(work: Work, channel: Channel, chat: str) -> bool:
    """The chat's bookkeeping (message ids, its conversation if idle), once no report names
    it: True if it went."""
    if await retention.names_chat(work.session, channel, chat):
        return False
    await retention.forget_chat(work.session, channel, chat)
    return True


async def forget_me(work: Work, channel: Channel, chat: str) -> list[Report]:
    """HAPUS DATA, confirmed: the identity of every report this chat sent is removed, its
    subscription ends, and no message waiting for it will go. The conversation itself is the
    caller's (the flow in progress resets it). Returns the reports, now anonymised."""
    erased = list(await retention.reports_of_chat(work.session, channel, chat))
    for report in erased:
        await erase(work, report, Erasure.REPORTER, actor=reports.REPORTER, channel=channel)
    await retention.forget_address(work.session, channel, chat, work.now)
    return erased


@dataclass(frozen=True)
class Erased:
    report: Report
    chat_forgotten: bool  # no other report named the chat: its bookkeeping went too


async def erase_report(
    work: Work, reference: str, actor: Actor, reason: str, *, door: Door, place: str
) -> Erased:
    """An admin erases the identity of one report's reporter, giving a reason (kept in the
    audit with who did it); their chat is forgotten too when no other report names it."""
    if not may(actor, Role.ADMIN):
        raise Refused(ONLY_ADMINS)
    report = await reports.by_reference(work.session, reference, lock=True)
    if report is None:
        raise Refused(NO_REPORT, reference=reference.strip().upper())
    if report.identity_erased_at is not None:
        raise Refused(
            ALREADY,
            reference=report.reference,
            date=report.identity_erased_at.astimezone(work.services.bot.zone).date().isoformat(),
        )
    chat = await erase(work, report, Erasure.OPERATOR, actor=name_of(actor))
    await audit.viewed(work, report, actor, door, [Seen.ERASURE], place, reason=reason)
    forgotten = await forget_chat_if_unnamed(work, report.channel, chat)
    return Erased(report, forgotten)


async def expire_identities(work: Work, before: datetime, limit: int) -> int:
    """`[retention] closed_identity_months`: the identity of up to `limit` cases closed before
    `before` (the case stays, anonymised); their chats are forgotten when no report names
    them any more. Returns how many."""
    closed = await retention.closed_before(work.session, before, limit)
    for report in closed:
        chat = await erase(work, report, Erasure.RETENTION, actor="sigap")
        await forget_chat_if_unnamed(work, report.channel, chat)
    return len(closed)


def refusal(report: Report) -> Refused | None:
    """Why nothing can be sent to the report's reporter because their identity is gone."""
    if report.identity_erased_at is None:
        return None
    why = FORGOTTEN if report.identity_erased_by is Erasure.REPORTER else REMOVED
    return Refused(why, reference=report.reference)
