"""Reports: submitting one, the reporter's own view of theirs, additions, evidence and the
timeline. Every change of a report writes a ReportEvent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert, insert_many
from storage.listing import newest_first
from storage.media import StoredFile
from storage.models import (
    Addition,
    Channel,
    Counter,
    EventKind,
    Media,
    MessageKind,
    Outbox,
    OutboxState,
    RecruiterPhone,
    Report,
    ReportEvent,
)

REPORTER = "reporter"  # the actor of the reporter's own events: never their chat id

NAME_MAX = 255  # Media.original_name


def file_name(name: str | None) -> str | None:
    """The name a file is kept under: as sent, or shortened to fit, keeping its extension."""
    if name is None or len(name) <= NAME_MAX:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 16:
        return name[:NAME_MAX]
    return stem[: NAME_MAX - len(extension) - 1] + "." + extension


def canonical(reference: str) -> str:
    """A reference as stored (in capitals), whatever way it was typed: compared as it is, so
    that the lookup goes through the unique index of `reference` (a lookup on
    upper(reference) would read every report)."""
    return reference.strip().upper()


async def next_reference(session: AsyncSession, prefix: str, year: int) -> str:
    """`BTN-2026-00042`: numbered per prefix and year, without gaps between committed reports."""
    name = f"{prefix}-{year}"
    await session.exec(
        insert(session, Counter)
        .values(name=name, value=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    result = await session.exec(
        update(Counter)
        .where(col(Counter.name) == name)
        .values(value=col(Counter.value) + 1)
        .returning(col(Counter.value))
    )
    return canonical(f"{name}-{result.scalar_one():05d}")


async def submit(
    session: AsyncSession,
    report: Report,
    *,
    phones: Sequence[str],
    conversation_id: int,
    channel: Channel,
) -> Report:
    """Stores a new report with its recruiter phones, claims the draft's evidence, and writes
    the `submitted` event."""
    session.add(report)
    await session.flush()
    assert report.id is not None
    for phone in dict.fromkeys(phones):
        session.add(RecruiterPhone(report_id=report.id, phone=phone))
    await session.exec(
        update(Media)
        .where(col(Media.conversation_id) == conversation_id, col(Media.report_id).is_(None))
        .values(report_id=report.id, conversation_id=None)
    )
    await add_event(
        session,
        report,
        EventKind.SUBMITTED,
        at=report.created_at,
        channel=channel,
        detail={"priority": report.priority.value},
    )
    return report


def event(
    report: Report,
    kind: EventKind,
    *,
    at: datetime,
    actor: str = REPORTER,
    channel: Channel | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event of the report's timeline (its values), stored by `add_event` or, many at
    once, by `add_events`."""
    assert report.id is not None
    return dict(
        report_id=report.id, at=at, kind=kind, actor=actor, channel=channel, detail=detail or {}
    )


async def add_event(
    session: AsyncSession,
    report: Report,
    kind: EventKind,
    *,
    at: datetime,
    actor: str = REPORTER,
    channel: Channel | None = None,
    detail: dict[str, Any] | None = None,
) -> ReportEvent:
    row = ReportEvent(**event(report, kind, at=at, actor=actor, channel=channel, detail=detail))
    session.add(row)  # flushed with the rest of the transaction
    return row


async def add_events(session: AsyncSession, events: Sequence[dict[str, Any]]) -> None:
    """Events (made by `event`) of many reports in one statement (a batch of follow-ups)."""
    await insert_many(session, ReportEvent, events)


async def of_sender(session: AsyncSession, channel: Channel, sender: str) -> Sequence[Report]:
    """The chat's own reports, newest first (not those whose reporter's identity is erased:
    their sender is a tombstone no chat has, and this says so again)."""
    query = (
        select(Report)
        .where(
            col(Report.channel) == channel,
            col(Report.sender) == sender,
            col(Report.identity_erased_at).is_(None),
        )
        .order_by(col(Report.created_at).desc(), col(Report.id).desc())
    )
    return (await session.exec(query)).all()


async def own(
    session: AsyncSession, channel: Channel, sender: str, reference: str
) -> Report | None:
    """The report with that reference if this chat sent it; None otherwise, whether or not it
    exists (a resident learns nothing about other people's reports)."""
    query = select(Report).where(
        col(Report.reference) == canonical(reference),
        col(Report.channel) == channel,
        col(Report.sender) == sender,
        col(Report.identity_erased_at).is_(None),
    )
    return (await session.exec(query)).first()


async def by_reference(
    session: AsyncSession, reference: str, *, lock: bool = False
) -> Report | None:
    query = select(Report).where(col(Report.reference) == canonical(reference))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.exec(query)).first()


async def get(session: AsyncSession, report_id: int) -> Report | None:
    return await session.get(Report, report_id)


async def locked_many(session: AsyncSession, report_ids: Sequence[int]) -> dict[int, Report]:
    query = (
        select(Report)
        .where(col(Report.id).in_(report_ids))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {r.id: r for r in (await session.exec(query)).all() if r.id is not None}


async def phones_of(session: AsyncSession, report_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each report's recruiter numbers, for many reports in one query."""
    query = (
        select(RecruiterPhone)
        .where(col(RecruiterPhone.report_id).in_(report_ids))
        .order_by(col(RecruiterPhone.id))
    )
    found: dict[int, list[str]] = {i: [] for i in report_ids}
    for row in (await session.exec(query)).all():
        found[row.report_id].append(row.phone)
    return found


async def alerted_names_of(
    session: AsyncSession, report_ids: Sequence[int]
) -> dict[int, list[str]]:
    """alerted_names for many reports in one query."""
    query = (
        select(ReportEvent)
        .where(
            col(ReportEvent.report_id).in_(report_ids),
            col(ReportEvent.kind).in_([EventKind.ALERTED, EventKind.FOLLOWED_UP]),
        )
        .order_by(col(ReportEvent.id))
    )
    names: dict[int, dict[str, None]] = {i: {} for i in report_ids}
    for event in (await session.exec(query)).all():
        names[event.report_id].update(dict.fromkeys(event.detail.get("members", [])))
    return {i: list(n) for i, n in names.items()}


async def events_of(
    session: AsyncSession, report_id: int, kinds: Sequence[EventKind]
) -> Sequence[ReportEvent]:
    query = (
        select(ReportEvent)
        .where(col(ReportEvent.report_id) == report_id, col(ReportEvent.kind).in_(kinds))
        .order_by(col(ReportEvent.id))
    )
    return (await session.exec(query)).all()


async def alerted_names(session: AsyncSession, report_id: int) -> list[str]:
    """Everyone alerted or followed up about the report so far, in order, once each."""
    return (await alerted_names_of(session, [report_id]))[report_id]


async def alerted_member_ids(session: AsyncSession, report_id: int) -> list[int]:
    query = (
        select(Outbox.member_id)
        .where(
            col(Outbox.report_id) == report_id,
            col(Outbox.kind).in_([MessageKind.ALERT, MessageKind.FOLLOWUP]),
            col(Outbox.member_id).is_not(None),
        )
        .distinct()
    )
    return [i for i in (await session.exec(query)).all() if i is not None]


async def failed_addresses(
    session: AsyncSession, report_id: int, member_id: int
) -> set[tuple[Channel, str]]:
    """Where the report's alerts to the member failed for good."""
    query = select(Outbox.channel, Outbox.address).where(
        col(Outbox.report_id) == report_id,
        col(Outbox.member_id) == member_id,
        col(Outbox.kind).in_([MessageKind.ALERT, MessageKind.FOLLOWUP]),
        col(Outbox.state).in_([OutboxState.FAILED, OutboxState.UNDELIVERED]),
    )
    return {(Channel(c), a) for c, a in (await session.exec(query)).all()}


async def unreachable_told(session: AsyncSession, report_id: int, member_id: int) -> bool:
    events = await events_of(session, report_id, [EventKind.UNREACHABLE])
    return any(e.detail.get("member_id") == member_id for e in events)


async def unalerted(session: AsyncSession) -> Sequence[Report]:
    """Reports not acknowledged that no alert or follow-up was ever written for: they came in
    while nobody could be reached."""
    alerted = select(Outbox.report_id).where(
        col(Outbox.report_id).is_not(None),
        col(Outbox.kind).in_([MessageKind.ALERT, MessageKind.FOLLOWUP]),
    )
    query = select(Report).where(
        col(Report.acknowledged_at).is_(None), col(Report.id).not_in(alerted)
    )
    return (await session.exec(query.order_by(col(Report.id)))).all()


async def listing(session: AsyncSession, *, limit: int | None = None) -> Sequence[Report]:
    """The reports in the order of `sigap reports list` (storage.listing reads it quicker)."""
    query = newest_first(select(Report), inspect(Report).local_table, limit)
    return (await session.exec(query)).all()


async def add_information(
    session: AsyncSession,
    report: Report,
    *,
    text: str | None,
    media: Sequence[tuple[StoredFile, str | None]] = (),
    at: datetime,
    channel: Channel,
) -> Addition:
    """Stores what the reporter added (text and/or files) and writes the `addition` event."""
    assert report.id is not None
    addition = Addition(report_id=report.id, created_at=at, text=text)
    session.add(addition)
    await session.flush()
    for stored, name in media:
        session.add(
            Media(
                created_at=at,
                report_id=report.id,
                addition_id=addition.id,
                sha256=stored.sha256,
                content_type=stored.content_type,
                size=stored.size,
                original_name=file_name(name),
            )
        )
    await add_event(
        session,
        report,
        EventKind.ADDITION,
        at=at,
        channel=channel,
        detail={"addition_id": addition.id, "files": len(media)},
    )
    return addition


async def add_phones(session: AsyncSession, report: Report, phones: Sequence[str]) -> None:
    """Recruiter numbers told after the report was sent (the ones it has already stay)."""
    assert report.id is not None
    known = set(await recruiter_phones(session, report.id))
    for phone in dict.fromkeys(phones):
        if phone not in known:
            session.add(RecruiterPhone(report_id=report.id, phone=phone))


async def recruiter_phones(session: AsyncSession, report_id: int) -> list[str]:
    query = (
        select(RecruiterPhone.phone)
        .where(col(RecruiterPhone.report_id) == report_id)
        .order_by(col(RecruiterPhone.id))
    )
    return list((await session.exec(query)).all())


async def media_of(session: AsyncSession, report_id: int) -> Sequence[Media]:
    query = select(Media).where(col(Media.report_id) == report_id).order_by(col(Media.id))
    return (await session.exec(query)).all()


async def additions_of(session: AsyncSession, report_id: int) -> Sequence[Addition]:
    query = select(Addition).where(col(Addition.report_id) == report_id).order_by(col(Addition.id))
    return (await session.exec(query)).all()


async def timeline(session: AsyncSession, report_id: int) -> Sequence[ReportEvent]:
    query = (
        select(ReportEvent)
        .where(col(ReportEvent.report_id) == report_id)
        .order_by(col(ReportEvent.at), col(ReportEvent.id))
    )
    return (await session.exec(query)).all()


# Evidence attached to a draft, before the report is sent.


async def add_draft_media(
    session: AsyncSession,
    conversation_id: int,
    stored: StoredFile,
    *,
    name: str | None,
    at: datetime,
) -> Media:
    media = Media(
        created_at=at,
        conversation_id=conversation_id,
        sha256=stored.sha256,
        content_type=stored.content_type,
        size=stored.size,
        original_name=file_name(name),
    )
    session.add(media)
    await session.flush()
    return media


async def draft_media(session: AsyncSession, conversation_id: int) -> Sequence[Media]:
    query = (
        select(Media).where(col(Media.conversation_id) == conversation_id).order_by(col(Media.id))
    )
    return (await session.exec(query)).all()


async def discard_draft_media(session: AsyncSession, conversation_id: int) -> list[str]:
    """Forgets a draft's files; returns the hashes no other row uses, for the store to delete."""
    shas = {m.sha256 for m in await draft_media(session, conversation_id)}
    await session.exec(delete(Media).where(col(Media.conversation_id) == conversation_id))
    if not shas:
        return []
    still_used = set(
        (await session.exec(select(Media.sha256).where(col(Media.sha256).in_(shas)))).all()
    )
    return sorted(shas - still_used)
