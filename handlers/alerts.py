"""Alerting the task force: the alert on a new report, follow-ups that widen the circle until
someone acknowledges, the acknowledgement, details for members, and notices. Every message is
an outbox row written in the same transaction as the change that causes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.dates import format_datetime
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import labels
from handlers.i18n import N_, Gettext, gettext
from handlers.messages import Capability
from handlers.roster import coordinators, duty_now
from handlers.settings import BotSettings
from handlers.turn import Services
from storage import conversations, escalation, members, outbox, reports
from storage.models import (
    Channel,
    Destination,
    EventKind,
    Media,
    Member,
    MessageKind,
    Outbox,
    RedFlag,
    Report,
    ReportState,
    Role,
)

EXCERPT = 280
URGENT_FIRST = 0  # outbox priority of alerts and follow-ups: before everything else
NOTICE_PRIORITY = 1
ACK, DETAIL = "ack", "detail"


def action(kind: str, reference: str) -> str:
    """A button's value for a member action on a report, e.g. `ack:BTN-2026-00042`."""
    return f"{kind}:{reference}"


def parse_action(value: str) -> tuple[str, str] | None:
    kind, _, reference = value.partition(":")
    return (kind, reference) if kind in (ACK, DETAIL) and reference else None


async def alert_text(
    session: AsyncSession, report: Report, bot: BotSettings, language: str | None = None
) -> str:
    """What members read first: enough to judge the report, never the reporter's identity
    (that is in the details, and only if they consented)."""
    assert report.id is not None
    phones = await reports.recruiter_phones(session, report.id)
    earlier = await reports.earlier_reports_with_phones(session, report)
    return compose_alert(report, phones, earlier, bot, language or bot.default_language)


@dataclass(frozen=True)
class Facts:
    """What an alert says besides the report itself."""

    phones: Sequence[str]
    earlier: int


def compose_alert(
    report: Report, phones: Sequence[str], earlier: int, bot: BotSettings, language: str
) -> str:
    _ = gettext(language)
    destination = report.destination
    if destination in (Destination.OTHER, Destination.UNKNOWN):
        destination = _(labels.DESTINATION[Destination(destination)])
    story = report.story if len(report.story) <= EXCERPT else report.story[:EXCERPT] + "…"
    sent = format_datetime(report.created_at.astimezone(bot.zone), "medium", locale=language)
    lines = [
        _(N_("New report {reference} — priority {priority}")).format(
            reference=report.reference, priority=_(labels.PRIORITY[report.priority])
        ),
        _(N_("Sent: {time}")).format(time=sent),
        _(N_("Offer: {offer}")).format(offer=_(labels.OFFER[report.offer_kind])),
        _(N_("Destination: {destination}")).format(destination=destination),
        _(N_("Area: {area}")).format(area=where(report)),
        _(N_("Urgency: {urgency}")).format(urgency=_(labels.URGENCY[report.urgency])),
        _(N_("Child involved: {child}")).format(child=_(labels.CHILD[report.child_involved])),
    ]
    if report.red_flags:
        flags = ", ".join(_(labels.RED_FLAGS[RedFlag(f)]) for f in report.red_flags)
        lines.append(_(N_("Warning signs: {flags}")).format(flags=flags))
    if phones:
        lines.append(
            _(N_("Recruiter numbers: {phones} (named in {count} earlier report(s))")).format(
                phones=", ".join(phones), count=earlier
            )
        )
    lines.append(_(N_("Story: {excerpt}")).format(excerpt=story))
    return "\n".join(lines)


def where(report: Report) -> str:
    if report.area:
        return report.area
    if report.latitude is not None and report.longitude is not None:
        return f"{report.latitude:.5f}, {report.longitude:.5f}"
    return "-"


def map_link(report: Report) -> str | None:
    if report.latitude is None or report.longitude is None:
        return None
    return f"https://www.openstreetmap.org/?mlat={report.latitude}&mlon={report.longitude}"


@dataclass(frozen=True)
class Recipient:
    member: Member
    channel: Channel
    address: str
    language: str


async def audience(
    session: AsyncSession, services: Services, step: str, at: datetime
) -> list[Member]:
    """The members a step names ("on_duty+backup"...). Nobody on duty means the coordinators;
    an empty circle is never the answer while anyone is a member."""
    everyone = {m.id: m for m in await members.active(session) if m.id is not None}
    chosen: set[int] = set()
    parts = step.split("+")
    if "on_duty" in parts:
        chosen |= await duty_now(session, services, at) or ids(await coordinators(session))
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
    ids = [m.id for m in people if m.id is not None]
    by_id = {m.id: m for m in people}
    found = []
    for address in await members.addresses(session, ids):
        conv = await conversations.find(session, address.channel, address.address)
        language = conv.language if conv is not None else default
        found.append(
            Recipient(by_id[address.member_id], address.channel, address.address, language)
        )
    return found


def buttons(_: Gettext, report: Report) -> list[dict[str, str]]:
    return [
        {"value": action(ACK, report.reference), "label": _(N_("Acknowledge"))},
        {"value": action(DETAIL, report.reference), "label": _(N_("Details"))},
    ]


def typed_hint(_: Gettext, report: Report) -> str:
    """The words that do what the buttons do (what a channel without buttons shows)."""
    return _(
        N_("Reply ACK {reference} to take it, DETAIL {reference} for the full report.")
    ).format(reference=report.reference)


@dataclass(frozen=True)
class Circle:
    """The members a step reaches, and where: worked out once per batch of follow-ups."""

    people: Sequence[Member]
    recipients: Sequence[Recipient]


async def circle(session: AsyncSession, services: Services, step: str, at: datetime) -> Circle:
    people = await audience(session, services, step, at)
    return Circle(people, await recipients(session, people, services.bot.default_language))


async def notify_members(
    session: AsyncSession,
    services: Services,
    report: Report,
    reached: Circle,
    kind: MessageKind,
    heading: str,
    at: datetime,
    already: Sequence[str] = (),
    facts: Facts | None = None,
) -> list[str]:
    """Queues the alert (with `heading` above it, a catalog message) for each member on each
    of their channels, and for the task force's group; returns the names notified."""
    assert report.id is not None
    bot = services.bot
    texts: dict[str, str] = {}
    for recipient in reached.recipients:
        _ = gettext(recipient.language)
        if recipient.language not in texts:
            texts[recipient.language] = (
                compose_alert(report, facts.phones, facts.earlier, bot, recipient.language)
                if facts is not None
                else await alert_text(session, report, bot, recipient.language)
            )
        text = texts[recipient.language]
        if heading:
            text = heading_text(_, heading, report, at, already) + "\n\n" + text
        await outbox.enqueue(
            session,
            recipient.channel,
            recipient.address,
            kind,
            text,
            at=at,
            priority=URGENT_FIRST,
            buttons=buttons(_, report),
            hint=typed_hint(_, report),
            variables=template_variables(_, report),
            report_id=report.id,
            member_id=recipient.member.id,
        )
    group = services.alerts.telegram_group_id
    if group:
        _ = gettext(bot.default_language)
        text = await alert_text(session, report, bot)
        if heading:
            text = heading_text(_, heading, report, at, already) + "\n\n" + text
        await outbox.enqueue(
            session,
            Channel.TELEGRAM,
            str(group),
            kind,
            text,
            at=at,
            priority=URGENT_FIRST,
            buttons=buttons(_, report),
            hint=typed_hint(_, report),
            report_id=report.id,
        )
    return [m.name for m in reached.people]


def heading_text(
    _: Gettext, heading: str, report: Report, at: datetime, already: Sequence[str]
) -> str:
    waited = max(1, int((at - report.created_at).total_seconds() // 60))
    return _(heading).format(
        reference=report.reference, minutes=waited, names=", ".join(already) or "-"
    )


def template_variables(_: Gettext, report: Report) -> dict[str, str]:
    """For WhatsApp templates: 1 the reference, 2 the priority, 3 the kind of offer."""
    return {
        "1": report.reference,
        "2": _(labels.PRIORITY[report.priority]),
        "3": _(labels.OFFER[report.offer_kind]),
    }


def timeout(services: Services, report: Report) -> timedelta:
    return timedelta(minutes=services.escalation.ack_timeout_minutes.minutes(report.priority))


async def report_submitted(
    session: AsyncSession, services: Services, report: Report, at: datetime
) -> bool:
    """In the transaction that stores the report: the alert to the first step's members
    (the members on duty), and the first follow-up. False when the alert reaches nobody (no
    member yet, no group)."""
    assert report.id is not None
    steps = services.escalation.steps
    reached = await circle(session, services, steps[0], at)
    notified = await notify_members(session, services, report, reached, MessageKind.ALERT, "", at)
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


async def catch_up(session: AsyncSession, services: Services, member: Member, at: datetime) -> int:
    """A member who can now be reached gets the alert of every report still waiting that
    reached nobody (it came in while the task force had no member). Returns how many."""
    waiting = await reports.unalerted(session)
    reached = Circle([member], await recipients(session, [member], services.bot.default_language))
    for report in waiting:
        notified = await notify_members(
            session, services, report, reached, MessageKind.ALERT, CAUGHT_UP, at
        )
        await reports.add_event(
            session,
            report,
            EventKind.ALERTED,
            at=at,
            actor="sigap",
            detail={"step": 0, "members": notified, "caught_up": True},
        )
    return len(waiting)


FOLLOWUP_HEADING = N_(
    "Not yet acknowledged: report {reference} has waited {minutes} minutes. Already "
    "notified: {names}. Who takes it?"
)


async def follow_up(services: Services, *, batch: int = 25) -> int:
    """Sends the follow-ups that are due, each once; returns how many. A report acknowledged
    meanwhile is skipped. After the last step, the last step repeats: there is no cap.
    Small batches keep each transaction short (on SQLite, conversations wait for it)."""
    done = 0
    steps = services.escalation.steps
    while True:
        now = services.clock()
        async with services.db.write() as session:
            due = await escalation.claim_due(session, now, batch)
            ids = [f.report_id for f in due]
            # Read what the whole batch needs at once: a few queries instead of a few each.
            locked = await reports.locked_many(session, ids)
            phones = await reports.phones_of(session, ids)
            earlier = await reports.earlier_counts(session, ids)
            names = await reports.alerted_names_of(session, ids)
            circles: dict[int, Circle] = {}
            for followup in due:
                report = locked.get(followup.report_id)
                if report is None or report.acknowledged_at is not None:
                    continue
                step = min(followup.step, len(steps) - 1)
                if step not in circles:
                    circles[step] = await circle(session, services, steps[step], now)
                already = names[followup.report_id]
                facts = Facts(phones[followup.report_id], earlier[followup.report_id])
                notified = await notify_members(
                    session,
                    services,
                    report,
                    circles[step],
                    MessageKind.FOLLOWUP,
                    FOLLOWUP_HEADING,
                    now,
                    already,
                    facts,
                )
                await reports.add_event(
                    session,
                    report,
                    EventKind.FOLLOWED_UP,
                    at=now,
                    actor="sigap",
                    detail={"step": step, "members": notified, "already_notified": already},
                )
                last = step == len(steps) - 1
                wait = (
                    timedelta(minutes=services.escalation.repeat_minutes.minutes(report.priority))
                    if last
                    else timeout(services, report)
                )
                await escalation.schedule(
                    session, followup.report_id, min(step + 1, len(steps) - 1), now + wait
                )
            done += len(due)
        if len(due) < batch:
            return done


@dataclass(frozen=True)
class Acknowledged:
    report: Report
    by: str
    at: datetime
    first: bool  # False: someone else had acknowledged it already


async def acknowledge(
    session: AsyncSession,
    services: Services,
    reference: str,
    member: Member,
    channel: Channel,
    at: datetime,
) -> Acknowledged | None:
    """The first acknowledgement assigns the report: pending follow-ups and unsent alerts are
    cancelled, the alerts already sent are updated, the reporter is told it is being handled.
    A later one changes nothing. None: no such report."""
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
    await mark_alerts(session, services, report, member.name, at)
    await tell_reporter(session, services, report, at)
    return Acknowledged(report, member.name, at, True)


ACKNOWLEDGED_LINE = N_("✅ Acknowledged by {name} at {time}.")


async def mark_alerts(
    session: AsyncSession, services: Services, report: Report, name: str, at: datetime
) -> None:
    """Every alert and follow-up already sent says who acknowledged it: edited where the
    channel can edit a message (its buttons removed), else answered (once per address)."""
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


HANDLED = N_("Your report {reference} is being handled.")


async def tell_reporter(
    session: AsyncSession, services: Services, report: Report, at: datetime
) -> None:
    """A neutral line in the reporter's language: nothing in it tells someone else holding
    their phone what the report was about. Not on a channel that keeps no chat to write to
    (the terminal)."""
    if not services.can(report.channel, Capability.NOTIFY):
        return
    _ = gettext(report.language)
    await outbox.enqueue(
        session,
        report.channel,
        report.sender,
        MessageKind.REPORT_UPDATE,
        _(HANDLED).format(reference=report.reference),
        at=at,
        priority=NOTICE_PRIORITY,
        variables={"1": report.reference},
        report_id=report.id,
    )


async def refuse(
    session: AsyncSession, reference: str, who: str, channel: Channel, at: datetime
) -> None:
    """Someone who is not an active member pressed a report's button: nothing changes, the
    attempt is on the timeline."""
    report = await reports.by_reference(session, reference)
    if report is not None:
        await reports.add_event(
            session,
            report,
            EventKind.REFUSED,
            at=at,
            actor=who,
            channel=channel,
            detail={"reason": "not an active member"},
        )


async def details(
    session: AsyncSession, services: Services, report: Report, language: str
) -> tuple[str, Sequence[Media]]:
    """The full report for a member: everything but an anonymous reporter's identity; the
    contact only if the reporter consented."""
    assert report.id is not None
    _ = gettext(language)
    lines = [await alert_text(session, report, services.bot, language), ""]
    lines.append(_(N_("What happened:")) + "\n" + report.story)
    lines.append(_(N_("Who is affected: {who}")).format(who=_(labels.AFFECTED[report.affected])))
    lines.append(
        _(N_("How the offer came: {how}")).format(how=_(labels.SOURCE[report.offer_source]))
    )
    recruiter = [report.recruiter_name, report.recruiter_agency, report.recruiter_link]
    if any(recruiter):
        lines.append(
            _(N_("Recruiter: {details}")).format(details=", ".join(x for x in recruiter if x))
        )
    link = map_link(report)
    if link:
        lines.append(_(N_("Location: {link}")).format(link=link))
    if report.anonymous:
        lines.append(_(N_("Reporter: anonymous.")))
    elif report.consent_contact and report.contact_phone:
        lines.append(
            _(N_("Reporter may be contacted at {phone}.")).format(phone=report.contact_phone)
        )
        if report.consent_share_with_police:
            lines.append(_(N_("Their identity may be shared with the police.")))
    else:
        lines.append(_(N_("Reporter: not anonymous, but did not agree to be contacted.")))
    for addition in await reports.additions_of(session, report.id):
        if addition.text:
            lines.append(_(N_("Added later: {text}")).format(text=addition.text))
    files = await reports.media_of(session, report.id)
    lines.append(_(N_("Evidence: {count} file(s).")).format(count=len(files)))
    return "\n".join(lines), files


ADDITION = N_("Report {reference} has new information from the reporter: {text}")


async def addition_received(
    session: AsyncSession,
    services: Services,
    report: Report,
    text: str | None,
    files: int,
    at: datetime,
) -> None:
    """The reporter's addition reaches whoever acknowledged the report, or everyone alerted
    so far if nobody has."""
    assert report.id is not None
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


async def delivery_failed(
    session: AsyncSession, services: Services, row: Outbox, at: datetime
) -> None:
    """When a member's alert failed for good on every one of their channels, the
    coordinators are told (once per member and report)."""
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
