"""What a database holds after months of use, put in through the storage layer with old
timestamps: closed cases with their reporter and evidence, drafts left behind, idle chats.
For the tests of `[retention]` (unit and journey)."""

from __future__ import annotations

from datetime import datetime

from storage import chats, conversations, reports
from storage.db import Database
from storage.media import MediaStore
from storage.models import (
    Affected,
    Channel,
    ChildInvolved,
    Conversation,
    EventKind,
    Media,
    OfferKind,
    OfferSource,
    Outcome,
    Priority,
    Report,
    ReportState,
    Urgency,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CONTACT = "+6281211112222"


async def case(
    db: Database,
    reference: str,
    *,
    sender: str,
    created_at: datetime,
    closed_at: datetime | None = None,
    state: ReportState | None = None,
    channel: Channel = Channel.TELEGRAM,
    story: str = "Ditawari kerja di kapal ikan, paspor ditahan agen.",
) -> Report:
    """A report by a reporter who may be contacted (at CONTACT), closed at `closed_at`
    (open, acknowledged, when None)."""
    closed = closed_at is not None
    report = Report(
        reference=reference,
        created_at=created_at,
        state=state or (ReportState.CLOSED if closed else ReportState.ACKNOWLEDGED),
        priority=Priority.NORMAL,
        channel=channel,
        sender=sender,
        language="en",
        anonymous=False,
        consent_contact=True,
        consent_share_with=["police"],
        consent_share_with_police=True,
        contact_phone=CONTACT,
        urgency=Urgency.NONE,
        affected=Affected.ME,
        child_involved=ChildInvolved.NO,
        offer_kind=OfferKind.SHIP_CREW,
        destination="Malaysia",
        offer_source=OfferSource.AGENT,
        story=story,
        acknowledged_at=created_at,
        outcome=Outcome.NOT_TRAFFICKING if closed else None,
        closed_at=closed_at,
    )
    async with db.write() as session:
        session.add(report)
        await session.flush()
        await reports.add_event(session, report, EventKind.SUBMITTED, at=created_at)
    return report


async def evidence(
    db: Database, media: MediaStore, report: Report, at: datetime, data: bytes = PNG
) -> Media:
    """A photo the reporter sent with the report, received at `at`."""
    stored = await media.put(data)
    row = Media(
        created_at=at,
        report_id=report.id,
        sha256=stored.sha256,
        content_type=stored.content_type,
        size=stored.size,
        original_name="passport.png",
    )
    async with db.write() as session:
        session.add(row)
    return row


async def chat(
    db: Database,
    sender: str,
    at: datetime,
    *,
    flow: str | None = None,
    data: dict[str, object] | None = None,
    channel: Channel = Channel.TELEGRAM,
    message_ids: tuple[str, ...] = (),
) -> Conversation:
    """A chat last active at `at`: its conversation (in `flow`, with `data`, if given) and
    the ids of messages in it."""
    async with db.write() as session:
        conv = await conversations.load(session, channel, sender, language="en", now=at)
        conv.flow, conv.step, conv.data = flow, "start" if flow else None, data or {}
        conv.updated_at = conv.last_inbound_at = at
        session.add(conv)
        for message_id in message_ids:
            await chats.record_message(session, channel, sender, message_id, at=at, from_bot=True)
    return conv
