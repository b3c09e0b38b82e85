"""What happens to a report after its alert: the acknowledgement (alerts marked, the reporter
told there is news, in words neutral on a lock screen), refused presses, the reporter's
additions, and members who cannot be reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_datetime
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.conversation.messages import Capability
from handlers.conversation.turn import Services, Work
from handlers.i18n import N_, gettext
from handlers.taskforce import reminders
from handlers.taskforce.alert_texts import relay_buttons
from handlers.taskforce.alerts import NOTICE_PRIORITY, URGENT_FIRST, recipients
from handlers.taskforce.roster import coordinators
from storage import conversations, escalation, members, outbox, reports
from storage.models import (
    Channel,
    EventKind,
    Member,
    MessageKind,
    Outbox,
    Report,
    ReportState,
)


@dataclass(frozen=True)
class Acknowledged:
    report: Report
    by: str
    at: datetime
    first: bool  # False: someone else had acknowledged it already


async def acknowledge(
    work: Work, reference: str, member: Member, channel: Channel | None
) -> Acknowledged | None:
    """The first acknowledgement assigns the report: pending follow-ups and unsent alerts are
    cancelled, the alerts already sent are updated, the reporter is told there is news.
    A later one changes nothing. None: no such report."""
    session, at = work.session, work.now
    report = await reports.by_reference(session, reference, lock=True)
    if report is None:
        return None
    assert report.id is not None and member.id is not None
    if report.acknowledged_at is not None:
        first_by = await members.get(session, report.acknowledged_by or 0)
        return Acknowledged(
            report, first_by.name if first_by else "?", report.acknowledged_at, False
        )
    report.acknowledged_by, report.acknowledged_at = member.id, at
    report.assignee_id = member.id  # the case is theirs until reassigned
    report.state = ReportState.ACKNOWLEDGED
    session.add(report)
    await escalation.cancel(session, report.id, at)
    await outbox.cancel_escalation(session, report.id, at)
    await reports.add_event(
        session,
        report,
        EventKind.ACKNOWLEDGED,
        at=at,
        actor=member.name,
        channel=channel,
        detail={"member_id": member.id},
    )
    await mark_alerts(work, report, member.name)
    await tell_reporter(work, report)
    await reminders.remind_later(work, report)
    return Acknowledged(report, member.name, at, True)


ACKNOWLEDGED_LINE = N_("✅ Acknowledged by {name} at {time}.")


async def mark_alerts(work: Work, report: Report, name: str) -> None:
    """Every alert and follow-up already sent says who acknowledged it: edited where the
    channel can edit a message (its buttons removed), else answered (once per address)."""
    session, services, at = work.session, work.services, work.now
    answered: set[tuple[Channel, str]] = set()
    for row in await outbox.escalation_sent(session, report.id or 0):
        language = await language_of(session, services, row)
        _ = gettext(language)
        time = format_datetime(at.astimezone(services.bot.zone), "HH:mm", locale=language)
        line = _(ACKNOWLEDGED_LINE).format(name=name, time=time)
        if services.can(row.channel, Capability.EDIT):
            await outbox.enqueue(
                session,
                row.channel,
                row.address,
                row.kind,
                row.text + "\n\n" + line,
                at=at,
                priority=URGENT_FIRST,
                buttons=relay_buttons(_, report),
                report_id=report.id,
                member_id=row.member_id,
                edit_of=row.id,
            )
        elif (row.channel, row.address) not in answered:
            answered.add((row.channel, row.address))
            await outbox.enqueue(
                session,
                row.channel,
                row.address,
                MessageKind.NOTICE,
                f"{report.reference}: {line}",
                at=at,
                priority=URGENT_FIRST,
                variables={"1": report.reference, "2": line},
                report_id=report.id,
                member_id=row.member_id,
            )


async def language_of(session: AsyncSession, services: Services, row: Outbox) -> str:
    conv = await conversations.find(session, row.channel, row.address)
    return conv.language if conv is not None else services.bot.default_language


# What the bot says on its own to a reporter: nothing in it (no "report", no reference, no
# subject) tells someone else who sees the phone's lock screen what it is about. The news
# itself is on the report's timeline, and STATUS shows it (handlers/residents/status.py).
NEWS = N_("There is news for you. Type STATUS to read it.")


async def tell_reporter(work: Work, report: Report) -> None:
    """Tells the reporter, in their language, that there is news, and nothing more (the
    news is the event just written on the report's timeline). Not on a channel that keeps no
    chat to write to (the terminal), nor to a reporter who is no longer known (their identity
    erased). WhatsApp's template of this kind takes no variable."""
    if report.identity_erased_at is not None:
        return
    if not work.services.can(report.channel, Capability.NOTIFY):
        return
    conv = await conversations.find(work.session, report.channel, report.sender)
    _ = gettext(conv.language if conv is not None else report.language)
    await outbox.enqueue(
        work.session,
        report.channel,
        report.sender,
        MessageKind.REPORT_UPDATE,
        _(NEWS),
        at=work.now,
        priority=NOTICE_PRIORITY,
        report_id=report.id,
    )


async def refuse(work: Work, reference: str, who: str, channel: Channel) -> None:
    """Someone who is not an active member pressed a report's button: nothing changes, the
    attempt is on the timeline."""
    report = await reports.by_reference(work.session, reference)
    if report is not None:
        await reports.add_event(
            work.session,
            report,
            EventKind.REFUSED,
            at=work.now,
            actor=who,
            channel=channel,
            detail={"reason": "not an active member"},
        )


ADDITION = N_("Report {reference} has new information from the reporter: {text}")


async def addition_received(work: Work, report: Report, text: str | None, files: int) -> None:
    """The reporter's addition reaches whoever acknowledged the report, or everyone alerted
    so far if nobody has."""
    assert report.id is not None
    session, services, at = work.session, work.services, work.now
    if report.acknowledged_by is not None:
        people = [m for m in [await members.get(session, report.acknowledged_by)] if m]
    else:
        ids = await reports.alerted_member_ids(session, report.id)
        people = [m for m in [await members.get(session, i) for i in ids] if m and not m.removed_at]
    for recipient in await recipients(session, people, services.bot.default_language):
        _ = gettext(recipient.language)
        body = text or ""
        if files:
            body += (" " if body else "") + _(N_("(+{count} file(s))")).format(count=files)
        await outbox.enqueue(
            session,
            recipient.channel,
            recipient.address,
            MessageKind.NOTICE,
            _(ADDITION).format(reference=report.reference, text=body),
            at=at,
            priority=NOTICE_PRIORITY,
            variables={"1": report.reference, "2": body[:200]},
            report_id=report.id,
            member_id=recipient.member.id,
        )


UNREACHABLE = N_("{name} could not be reached on any channel for report {reference}.")


async def delivery_failed(work: Work, row: Outbox) -> None:
    """When a member's alert failed for good on every one of their channels, the
    coordinators are told (once per member and report)."""
    session, services, at = work.session, work.services, work.now
    if row.member_id is None or row.report_id is None or row.kind not in outbox.ESCALATION:
        return
    member = await members.get(session, row.member_id)
    report = await reports.get(session, row.report_id)
    if member is None or report is None:
        return
    addresses = {(a.channel, a.address) for a in await members.addresses(session, [row.member_id])}
    failed = await reports.failed_addresses(session, row.report_id, row.member_id)
    if not addresses <= failed or await reports.unreachable_told(
        session, row.report_id, row.member_id
    ):
        return
    await reports.add_event(
        session,
        report,
        EventKind.UNREACHABLE,
        at=at,
        actor="sigap",
        detail={"member_id": member.id, "member": member.name},
    )
    others = [m for m in await coordinators(session) if m.id != member.id]
    for recipient in await recipients(session, others, services.bot.default_language):
        _ = gettext(recipient.language)
        await outbox.enqueue(
            session,
            recipient.channel,
            recipient.address,
            MessageKind.NOTICE,
            _(UNREACHABLE).format(name=member.name, reference=report.reference),
            at=at,
            priority=URGENT_FIRST,
            variables={"1": report.reference, "2": member.name},
            report_id=report.id,
            member_id=recipient.member.id,
        )
