"""The anonymous relay between a member and a reporter who consented to contact: who may
write, a member's message stored for the reporter (who is sent a neutral notice and reads it
with BUKA), the reporter's answer passed back to the member, and the reporter stopping it.
Neither side is ever given the other's number, name or chat id: the bot stands between, and
only the report's reference names the case to the member."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.conversation.messages import Capability
from handlers.conversation.turn import Work
from handlers.i18n import N_, gettext
from handlers.taskforce.alerts import NOTICE_PRIORITY, recipients
from handlers.taskforce.roster import coordinators
from handlers.usecases import Refused, casework, erasure
from storage import conversations, members, outbox, relay, reports
from storage.media import StoredFile
from storage.models import (
    Channel,
    EventKind,
    Member,
    MessageKind,
    RelayDirection,
    RelayMessage,
    Report,
)

Files = Sequence[tuple[StoredFile, str | None]]

MAX_TEXT = 3000
IMAGES = ("image/jpeg", "image/png", "image/webp")

# What the reporter's phone shows on its own: nothing of the report, of the task force's
# work or of who wrote (see lifecycle.NEWS).
NOTICE = N_("There is a message for you. Type BUKA to read it.")
FROM_REPORTER = N_("Reply from the reporter of {reference}: {text}")


def may_relay(member: Member, report: Report) -> bool:
    """Whether the member may write to the report's reporter: whoever may act on the case
    (its assignee, a coordinator or admin; see casework.allowed)."""
    return casework.allowed(member, report, casework.Action.NOTE)


def open_to(member: Member, report: Report) -> bool:
    """Whether the member can write to the reporter now (what the menus offer)."""
    return may_relay(member, report) and report.consent_contact and report.relay_stopped_at is None


async def check(work: Work, member: Member, reference: str) -> Report:
    """The report the member may write to the reporter of now, or Refused saying why not."""
    report = await reports.by_reference(work.session, reference)
    if report is None:
        raise Refused(N_("There is no report {reference}."), reference=reference)
    if not may_relay(member, report):
        raise Refused(
            N_(
                "Only the member who has case {reference}, or a coordinator, can write to "
                "its reporter."
            ),
            reference=report.reference,
        )
    forgotten = erasure.refusal(report)
    if forgotten is not None:
        raise forgotten
    if not report.consent_contact:
        raise Refused(
            N_(
                "The reporter of {reference} did not agree to be contacted: no message can "
                "be sent to them."
            ),
            reference=report.reference,
        )
    if report.relay_stopped_at is not None:
        raise Refused(
            N_("The reporter of {reference} has stopped replies: no message can be sent."),
            reference=report.reference,
        )
    return report


def _event(direction: RelayDirection, text: str | None, files: Files) -> dict[str, object]:
    return {
        "direction": direction.value,
        "text": text or "",
        "files": [f.sha256 for f, _ in files],
    }


async def to_reporter(
    work: Work,
    member: Member,
    reference: str,
    text: str | None,
    files: Files,
    channel: Channel | None,
) -> Report:
    """Stores the member's message for the reporter (it waits until they open it) and tells
    the reporter, neutrally, that a message waits: once, until they open what waits."""
    report = await check(work, member, reference)
    assert report.id is not None and member.id is not None
    session = work.session
    unread = await relay.waiting(session, report.channel, report.sender)
    await relay.add(
        session,
        report,
        RelayDirection.TO_REPORTER,
        member_id=member.id,
        text=text,
        files=files,
        at=work.now,
    )
    await reports.add_event(
        session,
        report,
        EventKind.RELAYED,
        at=work.now,
        actor=member.name,
        channel=channel,
        detail=_event(RelayDirection.TO_REPORTER, text, files),
    )
    if not unread and work.services.can(report.channel, Capability.NOTIFY):
        conv = await conversations.find(session, report.channel, report.sender)
        _ = gettext(conv.language if conv is not None else report.language)
        await outbox.enqueue(
            session,
            report.channel,
            report.sender,
            MessageKind.RELAY_NOTICE,
            _(NOTICE),
            at=work.now,
            priority=NOTICE_PRIORITY,
            report_id=report.id,
        )
    return report


@dataclass(frozen=True)
class Waiting:
    """A message the reporter may read now, and its report."""

    message: RelayMessage
    report: Report


async def open_waiting(work: Work, channel: Channel, sender: str) -> list[Waiting]:
    """The messages waiting for this chat, marked read. Those of a report whose reporter has
    since withdrawn consent or stopped replies are not shown (and stay unread)."""
    found = [
        Waiting(m, r)
        for m, r in await relay.waiting(work.session, channel, sender)
        if r.consent_contact and r.relay_stopped_at is None
    ]
    await relay.mark_read(work.session, [w.message.id for w in found if w.message.id], work.now)
    return found


async def answerable(work: Work, report_id: int) -> Report | None:
    """The report the reporter is answering, while they may still (consent, not stopped)."""
    report = await reports.get(work.session, report_id)
    if report is None or not report.consent_contact or report.relay_stopped_at is not None:
        return None
    return report


async def from_reporter(
    work: Work, report: Report, text: str | None, files: Files, channel: Channel
) -> None:
    """The reporter's answer goes to the member who last wrote to them (or, if that member
    is gone, to the coordinators), with no trace of the reporter's chat: the report's
    reference, their words and their files. Images come as images; other files are added
    to the report's evidence (DETAIL shows them)."""
    assert report.id is not None
    session, services, at = work.session, work.services, work.now
    writer_id = await relay.last_writer(session, report.id)
    writer = await members.get(session, writer_id) if writer_id is not None else None
    people = [writer] if writer is not None and writer.removed_at is None else []
    if not people:
        people = list(await coordinators(session))
    await relay.add(
        session,
        report,
        RelayDirection.FROM_REPORTER,
        member_id=people[0].id if len(people) == 1 else None,
        text=text,
        files=files,
        at=at,
    )
    await reports.add_event(
        session,
        report,
        EventKind.RELAYED,
        at=at,
        actor=reports.REPORTER,
        channel=channel,
        detail=_event(RelayDirection.FROM_REPORTER, text, files),
    )
    images = [f for f, _ in files if f.content_type in IMAGES]
    for recipient in await recipients(session, people, services.bot.default_language):
        _ = gettext(recipient.language)
        body = text or ""
        if files:
            body += (" " if body else "") + _(N_("(+{count} file(s))")).format(count=len(files))
        message = _(FROM_REPORTER).format(reference=report.reference, text=body)
        await outbox.enqueue(
            session,
            recipient.channel,
            recipient.address,
            MessageKind.NOTICE,
            message,
            at=at,
            priority=NOTICE_PRIORITY,
            variables={"1": report.reference, "2": body[:200]},
            report_id=report.id,
            member_id=recipient.member.id,
        )
        for image in images:
            row = await outbox.enqueue(
                session,
                recipient.channel,
                recipient.address,
                MessageKind.NOTICE,
                report.reference,
                at=at,
                priority=NOTICE_PRIORITY,
                variables={"1": report.reference, "2": _(N_("(a photo)"))},
                report_id=report.id,
                member_id=recipient.member.id,
            )
            row.image_sha256 = image.sha256


async def stop(work: Work, channel: Channel, sender: str) -> list[Report]:
    """The reporter stops the relay on every report of theirs that has one; returns those
    newly stopped."""
    stopped = []
    for report in await reports.of_sender(work.session, channel, sender):
        if report.relay_stopped_at is None and report.consent_contact:
            report.relay_stopped_at = work.now
            work.session.add(report)
            await reports.add_event(
                work.session,
                report,
                EventKind.RELAY_STOPPED,
                at=work.now,
                actor=reports.REPORTER,
                channel=channel,
            )
            stopped.append(report)
    return stopped
