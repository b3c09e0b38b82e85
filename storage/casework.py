"""Case work: the task force's notes on a case (with their files), the cases open per
assignee, and the reminders of open cases nobody touched (rows claimed once, as escalation's
follow-ups are)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import claim
from storage.media import StoredFile
from storage.models import (
    CaseNote,
    CaseReminder,
    EventKind,
    FollowupState,
    Media,
    Member,
    Report,
    ReportEvent,
    ReportState,
)
from storage.reports import file_name

OPEN = (ReportState.ACKNOWLEDGED, ReportState.IN_PROGRESS, ReportState.REFERRED)


async def add_note(
    session: AsyncSession,
    report: Report,
    *,
    author: str,
    member: Member | None,
    text: str | None,
    media: Sequence[tuple[StoredFile, str | None]] = (),
    at: datetime,
) -> CaseNote:
    """Stores the note and its files (the caller writes the event)."""
    assert report.id is not None
    note = CaseNote(
        report_id=report.id,
        created_at=at,
        member_id=member.id if member is not None else None,
        author=author,
        text=text,
    )
    session.add(note)
    await session.flush()
    await attach(session, note, media, at=at)
    return note


async def attach(
    session: AsyncSession,
    note: CaseNote,
    media: Sequence[tuple[StoredFile, str | None]],
    *,
    at: datetime,
) -> None:
    for stored, name in media:
        session.add(
            Media(
                created_at=at,
                note_id=note.id,
                sha256=stored.sha256,
                content_type=stored.content_type,
                size=stored.size,
                original_name=file_name(name),
            )
        )


async def note(session: AsyncSession, note_id: int) -> CaseNote | None:
    return await session.get(CaseNote, note_id)


async def notes_of(session: AsyncSession, report_id: int) -> Sequence[CaseNote]:
    query = select(CaseNote).where(col(CaseNote.report_id) == report_id).order_by(col(CaseNote.id))
    return (await session.exec(query)).all()


async def files_of(session: AsyncSession, note_ids: Sequence[int]) -> dict[int, list[Media]]:
    query = select(Media).where(col(Media.note_id).in_(note_ids)).order_by(col(Media.id))
    found: dict[int, list[Media]] = {i: [] for i in note_ids}
    for media in (await session.exec(query)).all():
        found[media.note_id or 0].append(media)
    return found


async def cases(
    session: AsyncSession,
    *,
    states: Sequence[ReportState] = OPEN,
    assignee_ids: Sequence[int] | None = None,
) -> Sequence[Report]:
    """The reports in those states (of those assignees), oldest first."""
    query = select(Report).where(col(Report.state).in_(states))
    if assignee_ids is not None:
        query = query.where(col(Report.assignee_id).in_(assignee_ids))
    return (await session.exec(query.order_by(col(Report.created_at), col(Report.id)))).all()


async def last_events(session: AsyncSession, report_id: int, count: int) -> list[ReportEvent]:
    query = (
        select(ReportEvent)
        .where(col(ReportEvent.report_id) == report_id)
        .order_by(col(ReportEvent.at).desc(), col(ReportEvent.id).desc())
        .limit(count)
    )
    return list(reversed((await session.exec(query)).all()))


async def last_activity(session: AsyncSession, report_id: int) -> datetime | None:
    """When something last happened on the case: its newest event that is not a reminder."""
    query = select(func.max(col(ReportEvent.at))).where(
        col(ReportEvent.report_id) == report_id, col(ReportEvent.kind) != EventKind.REMINDED
    )
    at: datetime | None = (await session.exec(query)).one()
    if at is not None and at.tzinfo is None:  # SQLite's max() loses the column's type
        at = at.replace(tzinfo=UTC)
    return at


# Reminders.


async def schedule(
    session: AsyncSession, report_id: int, step: int, due_at: datetime, *, at: datetime
) -> CaseReminder:
    """The case's next reminder; any pending one is cancelled (one chain per case)."""
    await cancel(session, report_id, at)
    row = CaseReminder(report_id=report_id, step=step, created_at=at, due_at=due_at)
    session.add(row)
    return row


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[CaseReminder]:
    """Due reminders, each marked done in this transaction and taken by one process only."""
    due: list[CaseReminder] = await claim(
        session,
        CaseReminder,
        [col(CaseReminder.state) == FollowupState.PENDING, col(CaseReminder.due_at) <= now],
        {"state": FollowupState.DONE, "done_at": now},
        order_by=[col(CaseReminder.due_at), col(CaseReminder.id)],
        limit=limit,
    )
    return due


async def cancel(session: AsyncSession, report_id: int, at: datetime) -> None:
    await session.exec(
        update(CaseReminder)
        .where(
            col(CaseReminder.report_id) == report_id,
            col(CaseReminder.state) == FollowupState.PENDING,
        )
        .values(state=FollowupState.CANCELLED, done_at=at)
    )


async def pending(session: AsyncSession, report_id: int) -> Sequence[CaseReminder]:
    query = select(CaseReminder).where(
        col(CaseReminder.report_id) == report_id,
        col(CaseReminder.state) == FollowupState.PENDING,
    )
    return (await session.exec(query)).all()
