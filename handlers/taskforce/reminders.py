"""Reminders until a case is closed: an acknowledged, in-progress or referred case with no
event on its timeline for `[casework] stale_after_hours` reminds its assignee, and the next
time the coordinators. Any event resets the clock: a reminder due after one is outdated, and
the job schedules the next one from that event instead."""

from __future__ import annotations

from datetime import timedelta

from handlers import labels
from handlers.conversation.turn import Services, Work
from handlers.i18n import N_, gettext
from handlers.taskforce.alerts import NOTICE_PRIORITY, recipients
from handlers.taskforce.roster import coordinators
from storage import casework, members, outbox, reports
from storage.models import EventKind, Member, MessageKind, Report

ASSIGNEE, COORDINATORS = 0, 1  # the steps

TO_ASSIGNEE = N_(
    "Reminder: case {reference} ({state}) has had no update for {hours} hours. Add a note, "
    "or close it if it is done: KASUS {reference}"
)
TO_COORDINATORS = N_(
    "Case {reference} ({state}), assigned to {name}, has had no update for {hours} hours."
)


def stale_after(services: Services, report: Report) -> timedelta:
    return timedelta(hours=services.casework.stale_after_hours.hours(report.priority))


async def remind_later(work: Work, report: Report) -> None:
    """Starts the case's chain of reminders (on acknowledgement, on reopening)."""
    assert report.id is not None
    due = work.now + stale_after(work.services, report)
    await casework.schedule(work.session, report.id, ASSIGNEE, due, at=work.now)


async def remind(services: Services, *, batch: int = 25) -> int:
    """Sends the reminders that are due, each once; returns how many were sent. A case closed
    meanwhile ends its chain; one touched since the reminder was scheduled starts again."""
    sent = 0
    while True:
        async with services.work() as work:
            session, now = work.session, work.now
            due = await casework.claim_due(session, now, batch)
            locked = await reports.locked_many(session, [r.report_id for r in due])
            for row in due:
                report = locked.get(row.report_id)
                if report is None or report.state not in casework.OPEN:
                    continue
                wait = stale_after(services, report)
                last = await casework.last_activity(session, row.report_id) or row.created_at
                step, due_at = row.step, row.due_at
                if last >= row.created_at:  # something happened since: the clock starts again
                    step, due_at = ASSIGNEE, last + wait
                if due_at > now:
                    await casework.schedule(session, row.report_id, step, due_at, at=now)
                    continue
                await send(work, report, step, wait)
                sent += 1
                await casework.schedule(session, row.report_id, COORDINATORS, now + wait, at=now)
        if len(due) < batch:
            return sent


async def send(work: Work, report: Report, step: int, wait: timedelta) -> None:
    session = work.session
    assignee = await members.get(session, report.assignee_id) if report.assignee_id else None
    if assignee is not None and assignee.removed_at is not None:
        assignee = None
    to_assignee = step == ASSIGNEE and assignee is not None
    people: list[Member] = (
        [assignee] if to_assignee and assignee is not None else list(await coordinators(session))
    )
    hours = f"{wait.total_seconds() / 3600:g}"
    for recipient in await recipients(session, people, work.services.bot.default_language):
        _ = gettext(recipient.language)
        state = _(labels.CASE_STATE[report.state])
        if to_assignee:
            text = _(TO_ASSIGNEE).format(reference=report.reference, state=state, hours=hours)
        else:
            name = assignee.name if assignee is not None else "-"
            text = _(TO_COORDINATORS).format(
                reference=report.reference, state=state, name=name, hours=hours
            )
        await outbox.enqueue(
            session,
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
    await reports.add_event(
        session,
        report,
        EventKind.REMINDED,
        at=work.now,
        actor="sigap",
        detail={
            "step": ASSIGNEE if to_assignee else COORDINATORS,
            "members": [m.name for m in people],
        },
    )
