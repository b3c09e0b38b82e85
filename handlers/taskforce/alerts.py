"""Who is alerted, and when: the alert on a new report to the members on duty, follow-ups
that widen the circle until someone acknowledges, and the catching up of reports that came in
while nobody could be reached. Every message is an outbox row written in the same transaction
as the change that causes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.conversation.turn import Services, Work
from handlers.i18n import N_, gettext
from handlers.intel import indexing
from handlers.taskforce.alert_texts import (
    Facts,
    alert_facts,
    buttons,
    compose_alert,
    heading_text,
    template_variables,
    typed_hint,
)
from handlers.taskforce.roster import coordinators, duty_now
from storage import escalation, members, outbox, reports
from storage.models import (
    Channel,
    EventKind,
    Member,
    MessageKind,
    Report,
    Role,
)


@dataclass(frozen=True)
class Recipient:
    member: Member
    channel: Channel
    address: str
    language: str


async def audience(work: Work, step: str) -> list[Member]:
    """The members a step names ("on_duty+backup"...). Nobody on duty means the coordinators;
    an empty circle is never the answer while anyone is a member."""
    session, services = work.session, work.services
    everyone = {m.id: m for m in await members.active(session) if m.id is not None}
    chosen: set[int] = set()
    parts = step.split("+")
    if "on_duty" in parts:
        chosen |= await duty_now(session, services, work.now) or ids(await coordinators(session))
    if "backup" in parts:
        for entry in services.escalation.backup:
            if entry.startswith("role:"):
                role = Role(entry.removeprefix("role:"))
                chosen |= ids(await members.with_roles(session, [role]))
            else:
                chosen |= ids([m for m in [await members.find(session, entry)] if m])
    if "coordinators" in parts:
        chosen |= ids(await coordinators(session))
    if "all_members" in parts or not chosen & everyone.keys():
        chosen |= set(everyone)
    return [everyone[i] for i in sorted(chosen & everyone.keys())]


def ids(people: Sequence[Member]) -> set[int]:
    return {m.id for m in people if m.id is not None}


async def recipients(
    session: AsyncSession, people: Sequence[Member], default: str
) -> list[Recipient]:
    """Where each person is reached, in the language of their conversation there (`default`
    where they have none yet): one query however many people."""
    by_id = {m.id: m for m in people if m.id is not None}
    return [
        Recipient(by_id[member_id], channel, address, language or default)
        for member_id, channel, address, language in await members.reached_at(session, list(by_id))
    ]


@dataclass(frozen=True)
class Circle:
    """The members a step reaches, and where: worked out once per batch of follow-ups."""

    people: Sequence[Member]
    recipients: Sequence[Recipient]


async def circle(work: Work, step: str) -> Circle:
    people = await audience(work, step)
    default = work.services.bot.default_language
    return Circle(people, await recipients(work.session, people, default))


URGENT_FIRST = 0  # outbox priority of alerts and follow-ups: before everything else


NOTICE_PRIORITY = 1


async def notify_members(
    work: Work,
    report: Report,
    reached: Circle,
    kind: MessageKind,
    heading: str,
    already: Sequence[str] = (),
    facts: Facts | None = None,
) -> list[str]:
    """Queues the alert (with `heading` above it, a catalog message) for each member on each
    of their channels, and for the task force's group; returns the names notified. Claimed
    by the work's claimant, when it has one, which sends them as soon as the work commits."""
    rows = await alert_rows(work, report, reached, kind, heading, already, facts)
    if work.claimant is not None:
        work.claimed += await outbox.enqueue_claimed(work.session, rows, work.claimant)
    else:
        await outbox.enqueue_many(work.session, rows)
    return [m.name for m in reached.people]


async def alert_rows(
    work: Work,
    report: Report,
    reached: Circle,
    kind: MessageKind,
    heading: str,
    already: Sequence[str] = (),
    facts: Facts | None = None,
) -> list[dict[str, Any]]:
    """The outbox rows of notify_members, not yet stored (a batch of follow-ups stores all of
    its rows in one statement). What they say is made once per language."""
    assert report.id is not None
    services = work.services
    known = facts if facts is not None else await alert_facts(work.session, report)
    said: dict[str, Said] = {}

    def row(to: tuple[Channel, str], language: str, member: Member | None) -> dict[str, Any]:
        if language not in said:
            _ = gettext(language)
            text = compose_alert(report, known.phones, known.links, services, language)
            if heading:
                text = heading_text(_, heading, report, work.now, already) + "\n\n" + text
            said[language] = Said(
                text, buttons(_, report), typed_hint(_, report), template_variables(_, report)
            )
        words = said[language]
        return outbox.message(
            *to,
            kind,
            words.text,
            at=work.now,
            priority=URGENT_FIRST,
            buttons=words.buttons,
            hint=words.hint,
            # A member's also with the variables of its WhatsApp template.
            variables=words.variables if member is not None else None,
            report_id=report.id,
            member_id=member.id if member is not None else None,
        )

    rows = [
        row((recipient.channel, recipient.address), recipient.language, recipient.member)
        for recipient in reached.recipients
    ]
    group = services.alerts.telegram_group_id
    if group:
        rows.append(row((Channel.TELEGRAM, str(group)), services.bot.default_language, None))
    return rows


@dataclass(frozen=True)
class Said:
    """An alert or follow-up in one language: its text, its buttons (or the words that do the
    same), the variables of its WhatsApp template."""

    text: str
    buttons: list[dict[str, str]]
    hint: str
    variables: dict[str, str]


def timeout(services: Services, report: Report) -> timedelta:
    return timedelta(minutes=services.escalation.ack_timeout_minutes.minutes(report.priority))


async def report_submitted(work: Work, report: Report, phones: Sequence[str]) -> bool:
    """In the transaction that stores the report (with the recruiter `phones`, as stored):
    the alert to the first step's members (the members on duty), and the first follow-up.
    False when the alert reaches nobody (no member yet, no group)."""
    assert report.id is not None
    session, services, at = work.session, work.services, work.now
    steps = services.escalation.steps
    reached = await circle(work, steps[0])
    linked = (await indexing.links(session, [report.id], earlier_only=True))[report.id]
    facts = Facts(phones, linked)
    notified = await notify_members(work, report, reached, MessageKind.ALERT, "", facts=facts)
    await reports.add_event(
        session,
        report,
        EventKind.ALERTED,
        at=at,
        actor="sigap",
        detail={"step": 0, "members": notified},
    )
    await escalation.schedule(
        session, report.id, min(1, len(steps) - 1), at + timeout(services, report)
    )
    return bool(notified or services.alerts.telegram_group_id)


CAUGHT_UP = N_(
    "This report {reference} came in {minutes} minutes ago, when no member of the task force "
    "could be reached. Who takes it?"
)


async def catch_up(work: Work, member: Member) -> int:
    """A member who can now be reached gets the alert of every report still waiting that
    reached nobody (it came in while the task force had no member). Returns how many."""
    session = work.session
    waiting = await reports.unalerted(session)
    default = work.services.bot.default_language
    reached = Circle([member], await recipients(session, [member], default))
    for report in waiting:
        notified = await notify_members(work, report, reached, MessageKind.ALERT, CAUGHT_UP)
        await reports.add_event(
            session,
            report,
            EventKind.ALERTED,
            at=work.now,
            actor="sigap",
            detail={"step": 0, "members": notified, "caught_up": True},
        )
    return len(waiting)


FOLLOWUP_HEADING = N_(
    "Not yet acknowledged: report {reference} has waited {minutes} minutes. Already "
    "notified: {names}. Who takes it?"
)


FOLLOWUPS_BATCH = 250  # follow-ups claimed, written and committed together


async def follow_up(services: Services, *, batch: int = FOLLOWUPS_BATCH) -> int:
    """Sends the follow-ups that are due, each once; returns how many. A report acknowledged
    meanwhile is skipped. After the last step, the last step repeats: there is no cap.
    A batch costs a few statements whatever its size: its facts are read together and its
    messages, events and next follow-ups written in one executemany each (10,000 falling
    due within 30 s go out in time); a batch of 250 holds SQLite's writer ~0.1 s."""
    done = 0
    steps = services.escalation.steps
    while True:
        async with services.work() as work:
            session, now = work.session, work.now
            due = await escalation.claim_due(session, now, batch)
            if not due:
                return done  # the job runs each few seconds: nothing more to read
            ids = [f.report_id for f in due]
            locked = await reports.locked_many(session, ids)
            phones = await reports.phones_of(session, ids)
            linked = await indexing.links(session, ids, earlier_only=True)
            names = await reports.alerted_names_of(session, ids)
            circles: dict[int, Circle] = {}
            messages: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            next_steps: list[tuple[int, int, datetime]] = []
            for followup in due:
                report = locked.get(followup.report_id)
                if report is None or report.acknowledged_at is not None:
                    continue
                step = min(followup.step, len(steps) - 1)
                if step not in circles:
                    circles[step] = await circle(work, steps[step])
                reached, already = circles[step], names[followup.report_id]
                facts = Facts(phones[followup.report_id], linked[followup.report_id])
                messages += await alert_rows(
                    work, report, reached, MessageKind.FOLLOWUP, FOLLOWUP_HEADING, already, facts
                )
                notified = [m.name for m in reached.people]
                detail = {"step": step, "members": notified, "already_notified": already}
                events.append(
                    reports.event(
                        report, EventKind.FOLLOWED_UP, at=now, actor="sigap", detail=detail
                    )
                )
                last = step == len(steps) - 1
                wait = (
                    timedelta(minutes=services.escalation.repeat_minutes.minutes(report.priority))
                    if last
                    else timeout(services, report)
                )
                next_steps.append((followup.report_id, min(step + 1, len(steps) - 1), now + wait))
            await outbox.enqueue_many(session, messages)
            await reports.add_events(session, events)
            await escalation.schedule_many(session, next_steps)
            done += len(due)
        if len(due) < batch:
            return done
