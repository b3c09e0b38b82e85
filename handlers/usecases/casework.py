"""The case after its acknowledgement, for every door (the bot's buttons and words, `/kasus`,
the `sigap reports` command line): who may do what, and each action with its event on the
timeline. The assigned member or a coordinator (an admin counts as one) acts on a case; only
a coordinator reopens a closed one; the operator at the command line may do everything.

States: new -> acknowledged -> in_progress -> referred -> closed (with an outcome); a closed
case reopens to in_progress. `referred` is set by the referrals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from handlers.conversation.turn import Work
from handlers.i18n import N_, gettext
from handlers.taskforce import reminders
from handlers.taskforce.alert_texts import alert_text
from handlers.taskforce.alerts import NOTICE_PRIORITY, recipients
from handlers.taskforce.lifecycle import tell_reporter
from handlers.usecases import NOT_ALLOWED, Actor, Operator, Refused, may
from storage import casework, members, outbox, reports
from storage.casework import OPEN
from storage.media import StoredFile
from storage.models import (
    CaseNote,
    Channel,
    EventKind,
    Media,
    Member,
    MessageKind,
    Outcome,
    Report,
    ReportEvent,
    ReportState,
    Role,
)

OPERATOR_NAME = "operator"  # the actor of the command line's actions on the timeline
NOTE_MAX = 3000
EVENTS_SHOWN = 5


class Action(StrEnum):
    """What can be done to a case (also the words' and buttons' values)."""

    PROGRESS = "progress"
    NOTE = "note"
    ASSIGN = "assign"
    CLOSE = "close"
    REOPEN = "reopen"


NO_REPORT = N_("There is no report {reference}.")
NOT_YOURS = N_("Only {name}, who has case {reference}, or a coordinator can do that.")
ONLY_COORDINATORS = N_("Only a coordinator can reopen a closed case.")
IS_CLOSED = N_("Case {reference} is closed; a coordinator can reopen it.")
NOT_CLOSED = N_("Case {reference} is not closed.")
NOT_TAKEN = N_("Report {reference} has not been acknowledged yet: acknowledge it first.")
ALREADY_IN_PROGRESS = N_("Case {reference} is already in progress.")
NO_SUCH_MEMBER = N_("There is no active member called {name}.")
SEVERAL_MEMBERS = N_("Several members are called {name}: choose one from KASUS {reference}.")
ALREADY_ASSIGNED = N_("Case {reference} is already {name}'s.")
DUPLICATE_NEEDS = N_("Give the reference of the other report, e.g. BTN-2026-00042.")
SELF_DUPLICATE = N_("A report cannot be a duplicate of itself.")
EMPTY_NOTE = N_("A note needs text or a file.")
TOO_LONG = N_("That is too long ({length} characters): please keep it under {maximum}.")

ASSIGNED_TO_YOU = N_(
    "Case {reference} is now yours, assigned by {name}. KASUS {reference} shows it."
)


def name_of(actor: Actor) -> str:
    return OPERATOR_NAME if isinstance(actor, Operator) else actor.name


def allowed(actor: Actor, report: Report, action: Action) -> bool:
    """The role matrix: the operator may everything; a removed member nothing; reopening is
    for coordinators; the rest for the assignee and coordinators."""
    if isinstance(actor, Operator):
        return True
    if actor.removed_at is not None:
        return False
    if action is Action.REOPEN:
        return may(actor, Role.COORDINATOR)
    return may(actor, Role.COORDINATOR) or (
        report.assignee_id is not None and report.assignee_id == actor.id
    )


def possible(report: Report, action: Action) -> bool:
    """Whether the case's state allows the action at all."""
    state = report.state
    if action is Action.REOPEN:
        return state is ReportState.CLOSED
    if action is Action.NOTE:
        return True
    if action is Action.PROGRESS:
        return state is ReportState.ACKNOWLEDGED
    return state in OPEN  # ASSIGN, CLOSE: a new report is acknowledged first


def actions(actor: Actor, report: Report) -> list[Action]:
    """What the actor can do to the case now, in the order a menu shows them."""
    return [a for a in Action if possible(report, a) and allowed(actor, report, a)]


async def _case(work: Work, reference: str) -> Report:
    report = await reports.by_reference(work.session, reference, lock=True)
    if report is None:
        raise Refused(NO_REPORT, reference=reference.strip().upper())
    return report


async def _check(work: Work, actor: Actor, report: Report, action: Action) -> None:
    """Refuses what the actor may not do, then what the state does not allow."""
    if not allowed(actor, report, action):
        if isinstance(actor, Member) and actor.removed_at is None and action is Action.REOPEN:
            raise Refused(ONLY_COORDINATORS)
        if isinstance(actor, Member) and actor.removed_at is None:
            assignee = await _assignee(work, report)
            if assignee is None:
                raise Refused(NOT_TAKEN, reference=report.reference)
            raise Refused(NOT_YOURS, name=assignee.name, reference=report.reference)
        raise Refused(NOT_ALLOWED)
    if possible(report, action):
        return
    if report.state is ReportState.CLOSED:
        raise Refused(IS_CLOSED, reference=report.reference)
    if action is Action.REOPEN:
        raise Refused(NOT_CLOSED, reference=report.reference)
    if report.state is ReportState.NEW:
        raise Refused(NOT_TAKEN, reference=report.reference)
    raise Refused(ALREADY_IN_PROGRESS, reference=report.reference)


async def require_any(work: Work, reference: str) -> Report:
    """The case, whoever asks (what they may do is `actions`)."""
    report = await reports.by_reference(work.session, reference)
    if report is None:
        raise Refused(NO_REPORT, reference=reference.strip().upper())
    return report


async def require(work: Work, reference: str, actor: Actor, action: Action) -> Report:
    """The case, if the actor may do the action to it now (before asking them how)."""
    report = await reports.by_reference(work.session, reference)
    if report is None:
        raise Refused(NO_REPORT, reference=reference.strip().upper())
    await _check(work, actor, report, action)
    return report


async def _assignee(work: Work, report: Report) -> Member | None:
    if report.assignee_id is None:
        return None
    return await members.get(work.session, report.assignee_id)


async def _changed(
    work: Work,
    report: Report,
    actor: Actor,
    channel: Channel | None,
    to: ReportState,
    **detail: object,
) -> None:
    before = report.state
    report.state = to
    # When it closed is what `[retention]` counts from; a case reopened is open again.
    report.closed_at = work.now if to is ReportState.CLOSED else None
    work.session.add(report)
    await reports.add_event(
        work.session,
        report,
        EventKind.STATE_CHANGED,
        at=work.now,
        actor=name_of(actor),
        channel=channel,
        detail={"from": before.value, "to": to.value, **detail},
    )


async def progress(
    work: Work, reference: str, actor: Actor, channel: Channel | None = None
) -> Report:
    """acknowledged -> in_progress."""
    report = await _case(work, reference)
    await _check(work, actor, report, Action.PROGRESS)
    await _changed(work, report, actor, channel, ReportState.IN_PROGRESS)
    return report


async def note(
    work: Work,
    reference: str,
    actor: Actor,
    text: str | None,
    media: Sequence[tuple[StoredFile, str | None]] = (),
    *,
    author: Member | None = None,
    channel: Channel | None = None,
) -> CaseNote:
    """A note on the case, with its files: private to the task force. `author`: the member
    the operator writes it for (`--as`); a member writes their own."""
    report = await _case(work, reference)
    await _check(work, actor, report, Action.NOTE)
    text = (text or "").strip() or None
    if text is None and not media:
        raise Refused(EMPTY_NOTE)
    if text is not None and len(text) > NOTE_MAX:
        raise Refused(TOO_LONG, length=len(text), maximum=NOTE_MAX)
    writer = actor if isinstance(actor, Member) else author
    stored = await casework.add_note(
        work.session,
        report,
        author=writer.name if writer is not None else OPERATOR_NAME,
        member=writer,
        text=text,
        media=media,
        at=work.now,
    )
    detail: dict[str, object] = {"note_id": stored.id, "files": len(media)}
    if isinstance(actor, Operator) and author is not None:
        detail["for"] = author.name
    await reports.add_event(
        work.session,
        report,
        EventKind.NOTE,
        at=work.now,
        actor=name_of(actor),
        channel=channel,
        detail=detail,
    )
    return stored


async def add_to_note(
    work: Work,
    note_id: int,
    actor: Actor,
    text: str | None,
    media: Sequence[tuple[StoredFile, str | None]],
    channel: Channel | None = None,
) -> CaseNote:
    """More text or files for a note written in several messages."""
    stored = await casework.note(work.session, note_id)
    report = await reports.get(work.session, stored.report_id) if stored else None
    if stored is None or report is None:
        raise Refused(EMPTY_NOTE)
    await _check(work, actor, report, Action.NOTE)
    text = (text or "").strip() or None
    if text is None and not media:
        raise Refused(EMPTY_NOTE)
    if text is not None:
        joined = f"{stored.text}\n{text}" if stored.text else text
        if len(joined) > NOTE_MAX:
            raise Refused(TOO_LONG, length=len(joined), maximum=NOTE_MAX)
        stored.text = joined
        work.session.add(stored)
    await casework.attach(work.session, stored, media, at=work.now)
    await reports.add_event(
        work.session,
        report,
        EventKind.NOTE,
        at=work.now,
        actor=name_of(actor),
        channel=channel,
        detail={"note_id": stored.id, "files": len(media), "added": True},
    )
    return stored


@dataclass(frozen=True)
class Assigned:
    report: Report
    member: Member
    previous: Member | None


async def assignable(work: Work, reference: str, actor: Actor) -> list[Member]:
    """The members the case can go to (everyone active but its assignee)."""
    report = await _case(work, reference)
    await _check(work, actor, report, Action.ASSIGN)
    return [m for m in await members.active(work.session) if m.id != report.assignee_id]


async def assign(
    work: Work,
    reference: str,
    actor: Actor,
    to: str | int,
    channel: Channel | None = None,
) -> Assigned:
    """Gives the case to another active member (by name or id); they are told, with the
    case."""
    report = await _case(work, reference)
    await _check(work, actor, report, Action.ASSIGN)
    found = await members.named(work.session, str(to))
    if not found:
        raise Refused(NO_SUCH_MEMBER, name=str(to))
    if len(found) > 1:
        raise Refused(SEVERAL_MEMBERS, name=str(to), reference=report.reference)
    member = found[0]
    assert member.id is not None
    if member.id == report.assignee_id:
        raise Refused(ALREADY_ASSIGNED, reference=report.reference, name=member.name)
    previous = await _assignee(work, report)
    report.assignee_id = member.id
    work.session.add(report)
    await reports.add_event(
        work.session,
        report,
        EventKind.ASSIGNED,
        at=work.now,
        actor=name_of(actor),
        channel=channel,
        detail={
            "from": previous.name if previous else None,
            "to": member.name,
            "member_id": member.id,
        },
    )
    await _tell_assignee(work, report, member, name_of(actor))
    return Assigned(report, member, previous)


async def _tell_assignee(work: Work, report: Report, member: Member, by: str) -> None:
    default = work.services.bot.default_language
    for recipient in await recipients(work.session, [member], default):
        _ = gettext(recipient.language)
        heading = _(ASSIGNED_TO_YOU).format(reference=report.reference, name=by)
        body = await alert_text(work.session, report, work.services, recipient.language)
        await outbox.enqueue(
            work.session,
            recipient.channel,
            recipient.address,
            MessageKind.NOTICE,
            heading + "\n\n" + body,
            at=work.now,
            priority=NOTICE_PRIORITY,
            variables={"1": report.reference, "2": heading[:200]},
            report_id=report.id,
            member_id=member.id,
        )


async def close(
    work: Work,
    reference: str,
    actor: Actor,
    outcome: Outcome,
    duplicate_of: str | None = None,
    channel: Channel | None = None,
) -> Report:
    """Closes the case with its outcome (a duplicate names the other report); the reporter is
    told there is news, in neutral words; its reminders stop."""
    report = await _case(work, reference)
    await _check(work, actor, report, Action.CLOSE)
    other = None
    if outcome is Outcome.DUPLICATE:
        if not duplicate_of or not duplicate_of.strip():
            raise Refused(DUPLICATE_NEEDS)
        found = await reports.by_reference(work.session, duplicate_of)
        if found is None:
            raise Refused(NO_REPORT, reference=duplicate_of.strip().upper())
        if found.id == report.id:
            raise Refused(SELF_DUPLICATE)
        other = found.reference
    assert report.id is not None
    report.outcome, report.duplicate_of = outcome, other
    detail: dict[str, object] = {"outcome": outcome.value}
    if other is not None:
        detail["duplicate_of"] = other
    await _changed(work, report, actor, channel, ReportState.CLOSED, **detail)
    await casework.cancel(work.session, report.id, work.now)
    await tell_reporter(work, report)
    return report


async def reopen(
    work: Work, reference: str, actor: Actor, channel: Channel | None = None
) -> Report:
    """A closed case back to in_progress (coordinators only); its reminders start again."""
    report = await _case(work, reference)
    await _check(work, actor, report, Action.REOPEN)
    before = report.outcome
    report.state, report.outcome, report.duplicate_of = ReportState.IN_PROGRESS, None, None
    report.closed_at = None
    work.session.add(report)
    await reports.add_event(
        work.session,
        report,
        EventKind.REOPENED,
        at=work.now,
        actor=name_of(actor),
        channel=channel,
        detail={
            "from": ReportState.CLOSED.value,
            "to": ReportState.IN_PROGRESS.value,
            "outcome": before.value if before else None,
        },
    )
    if report.assignee_id is not None:
        await reminders.remind_later(work, report)
    return report


@dataclass(frozen=True)
class Note:
    note: CaseNote
    files: list[Media]


@dataclass(frozen=True)
class CaseView:
    """A case as a member or the operator sees it: where it stands, who has it, its last
    events and its notes, and what the viewer can do to it."""

    report: Report
    assignee: Member | None
    events: list[ReportEvent]
    notes: list[Note]
    actions: list[Action]


async def view(work: Work, reference: str, actor: Actor) -> CaseView:
    """Any active member may look at a case (they get its alerts too)."""
    if isinstance(actor, Member) and actor.removed_at is not None:
        raise Refused(NOT_ALLOWED)
    report = await reports.by_reference(work.session, reference)
    if report is None or report.id is None:
        raise Refused(NO_REPORT, reference=reference.strip().upper())
    written = await casework.notes_of(work.session, report.id)
    files = await casework.files_of(work.session, [n.id for n in written if n.id is not None])
    return CaseView(
        report=report,
        assignee=await _assignee(work, report),
        events=await casework.last_events(work.session, report.id, EVENTS_SHOWN),
        notes=[Note(n, files.get(n.id or 0, [])) for n in written],
        actions=actions(actor, report),
    )


@dataclass(frozen=True)
class Desk:
    """Open cases of one assignee (None: nobody's)."""

    assignee: Member | None
    cases: list[Report]


async def open_cases(
    work: Work,
    actor: Actor,
    *,
    states: Sequence[ReportState] = OPEN,
    assignee: str | None = None,
) -> list[Desk]:
    """A member's own open cases; for a coordinator (and the operator) everyone's, per
    member, or one member's (`assignee`, a name or id)."""
    if isinstance(actor, Member) and actor.removed_at is not None:
        raise Refused(NOT_ALLOWED)
    ids: list[int] | None = None
    if isinstance(actor, Member) and not may(actor, Role.COORDINATOR):
        ids = [actor.id or 0]
    elif assignee is not None:
        found = [m for m in await members.named(work.session, assignee) if m.id is not None]
        if not found:
            raise Refused(NO_SUCH_MEMBER, name=assignee)
        ids = [m.id for m in found if m.id is not None]
    found_cases = await casework.cases(work.session, states=states, assignee_ids=ids)
    people = {m.id: m for m in await members.active(work.session)}
    desks: dict[int | None, list[Report]] = {}
    for report in found_cases:
        desks.setdefault(report.assignee_id, []).append(report)
    for key in desks:
        if key is not None and key not in people:
            removed = await members.get(work.session, key)
            if removed is not None:
                people[key] = removed
    ordered = sorted(
        desks.items(),
        key=lambda kv: (kv[0] not in people, people[kv[0]].name if kv[0] in people else ""),
    )
    return [Desk(people.get(k) if k is not None else None, cases) for k, cases in ordered]
