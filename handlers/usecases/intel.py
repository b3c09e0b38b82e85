"""Verified warnings on recruiters' identifiers, for every door (the bot's TANDAI, KONFIRMASI
and /intel, the `sigap intel` command line): any active member marks an identifier
`dangerous` or `cleared`, citing the case that proves it; a coordinator confirms (a
coordinator's own mark, and the operator's, is confirmed at once). Only confirmed marks ever
reach residents (handlers/intel/indexing.py `confirmed_marks`). Every mark and confirmation
is an event on the timeline of the case it cites."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.conversation.turn import Work
from handlers.i18n import N_, gettext
from handlers.intel import indexing
from handlers.intel.identifiers import normalised
from handlers.taskforce.alerts import NOTICE_PRIORITY, recipients
from handlers.usecases import NOT_ALLOWED, Actor, Refused, may
from handlers.usecases.casework import name_of
from storage import intel, members, outbox, reports
from storage.models import (
    Channel,
    EventKind,
    Identifier,
    IdentifierMark,
    LinkSource,
    Member,
    MessageKind,
    Report,
    Role,
    Verdict,
)

NO_REPORT = N_("There is no report {reference}.")
NOT_AN_IDENTIFIER = N_(
    "{value} is not a phone number, account, agency, link, @account or e-mail address."
)
NOTHING_KNOWN = N_("Nothing is known about {value}.")
NO_MARK = N_("There is no mark {id}.")
ALREADY_CONFIRMED = N_("Mark {id} was already confirmed by {name}.")
ONLY_COORDINATORS = N_("Only a coordinator can confirm a mark.")
TO_CONFIRM = N_(
    "{name} marked {value} as {verdict}, citing {reference}. KONFIRMASI {id} confirms it."
)

VERDICTS = {Verdict.DANGEROUS: N_("dangerous"), Verdict.CLEARED: N_("cleared")}


def _active(actor: Actor) -> None:
    if isinstance(actor, Member) and actor.removed_at is not None:
        raise Refused(NOT_ALLOWED)


@dataclass(frozen=True)
class Marked:
    mark: IdentifierMark
    identifier: Identifier
    report: Report
    confirmed: bool


async def mark(
    work: Work,
    actor: Actor,
    value: str,
    verdict: Verdict,
    reference: str,
    channel: Channel | None = None,
) -> Marked:
    """Marks the identifier written in `value` (stored if it was not, and linked to the
    case); the coordinators are told of a mark waiting for them."""
    _active(actor)
    report = await reports.by_reference(work.session, reference)
    if report is None or report.id is None:
        raise Refused(NO_REPORT, reference=reference.strip().upper())
    found = normalised(value)
    if found is None:
        raise Refused(NOT_AN_IDENTIFIER, value=value.strip())
    stored = await indexing.canonical(work.session, found, work.now)
    assert stored.id is not None
    await intel.link(work.session, report.id, stored.id, LinkSource.MARK, work.now)
    confirmed = may(actor, Role.COORDINATOR)
    member_id = actor.id if isinstance(actor, Member) else None
    made = await intel.add_mark(
        work.session,
        stored,
        verdict,
        report,
        by=name_of(actor),
        member_id=member_id,
        at=work.now,
        confirmed=confirmed,
    )
    await reports.add_event(
        work.session,
        report,
        EventKind.MARKED,
        at=work.now,
        actor=name_of(actor),
        channel=channel,
        detail={
            "mark_id": made.id,
            "kind": stored.kind.value,
            "identifier": stored.shown,
            "verdict": verdict.value,
            "confirmed": confirmed,
        },
    )
    if not confirmed:
        await _tell_coordinators(work, made, stored, report, name_of(actor))
    return Marked(made, stored, report, confirmed)


async def _tell_coordinators(
    work: Work, made: IdentifierMark, identifier: Identifier, report: Report, by: str
) -> None:
    people = await members.with_roles(work.session, [Role.COORDINATOR, Role.ADMIN])
    default = work.services.bot.default_language
    for recipient in await recipients(work.session, list(people), default):
        _ = gettext(recipient.language)
        text = _(TO_CONFIRM).format(
            name=by,
            value=identifier.shown,
            verdict=_(VERDICTS[made.verdict]),
            reference=report.reference,
            id=made.id,
        )
        await outbox.enqueue(
            work.session,
            recipient.channel,
            recipient.address,
            MessageKind.NOTICE,
            text,
            at=work.now,
            priority=NOTICE_PRIORITY,
            variables={"1": report.reference, "2": text[:200]},
            report_id=report.id,
            member_id=recipient.member.id,
        )


@dataclass(frozen=True)
class Pending:
    mark: IdentifierMark
    identifier: Identifier
    reference: str


async def pending(work: Work, actor: Actor) -> list[Pending]:
    """The marks waiting for a coordinator (coordinators only)."""
    _active(actor)
    if not may(actor, Role.COORDINATOR):
        raise Refused(ONLY_COORDINATORS)
    return [Pending(m, i, r) for m, i, r in await intel.pending(work.session)]


async def confirm(
    work: Work, actor: Actor, mark_id: int, channel: Channel | None = None
) -> Pending:
    """A coordinator confirms a mark: from now on residents who check the identifier see
    it."""
    _active(actor)
    if not may(actor, Role.COORDINATOR):
        raise Refused(ONLY_COORDINATORS)
    found = await intel.mark(work.session, mark_id, lock=True)
    if found is None:
        raise Refused(NO_MARK, id=mark_id)
    if found.confirmed_at is not None:
        raise Refused(ALREADY_CONFIRMED, id=mark_id, name=found.confirmed_by or "-")
    identifier = await intel.by_id(work.session, found.identifier_id)
    report = await reports.get(work.session, found.report_id)
    assert identifier is not None and report is not None
    await intel.confirm(work.session, found, name_of(actor), work.now)
    await reports.add_event(
        work.session,
        report,
        EventKind.MARK_CONFIRMED,
        at=work.now,
        actor=name_of(actor),
        channel=channel,
        detail={
            "mark_id": found.id,
            "kind": identifier.kind.value,
            "identifier": identifier.shown,
            "verdict": found.verdict.value,
            "marked_by": found.by,
        },
    )
    return Pending(found, identifier, report.reference)


@dataclass(frozen=True)
class Naming:
    report: Report
    source: LinkSource


@dataclass(frozen=True)
class Known:
    """Everything the task force knows of an identifier: the reports naming it (with their
    states) and every mark, confirmed or not, with the case it cites."""

    identifier: Identifier
    reports: list[Naming]
    marks: list[tuple[IdentifierMark, str]]


async def about(work: Work, actor: Actor, value: str) -> Known:
    """For members and the operator only: never for a resident."""
    _active(actor)
    return await known(work.session, value)


async def known(session: AsyncSession, value: str) -> Known:
    found = normalised(value)
    if found is None:
        raise Refused(NOT_AN_IDENTIFIER, value=value.strip())
    stored = await indexing.lookup(session, [found])
    if not stored or stored[0].id is None:
        raise Refused(NOTHING_KNOWN, value=found.shown)
    identifier = stored[0]
    assert identifier.id is not None
    naming = [Naming(r, s) for r, s in await intel.reports_naming(session, identifier.id)]
    references = {n.report.id: n.report.reference for n in naming}
    marks = []
    for made in await intel.marks_of(session, [identifier.id]):
        reference = references.get(made.report_id)
        if reference is None:
            cited = await reports.get(session, made.report_id)
            reference = cited.reference if cited else "?"
        marks.append((made, reference))
    return Known(identifier, naming, marks)
