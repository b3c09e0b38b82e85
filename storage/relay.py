"""The relay between a member and a reporter: the messages either way, those waiting for the
reporter until they open them, and whom the reporter's answer goes to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.media import StoredFile
from storage.models import Channel, Media, RelayDirection, RelayMessage, Report
from storage.reports import file_name


def file_entries(files: Sequence[tuple[StoredFile, str | None]]) -> list[dict[str, str]]:
    """Files as a relayed message keeps them: their SHA-256, type and name (never a path)."""
    return [
        {"sha256": f.sha256, "content_type": f.content_type, "name": file_name(name) or ""}
        for f, name in files
    ]


async def add(
    session: AsyncSession,
    report: Report,
    direction: RelayDirection,
    *,
    member_id: int | None,
    text: str | None,
    files: Sequence[tuple[StoredFile, str | None]],
    at: datetime,
) -> RelayMessage:
    """Stores a relayed message. The reporter's files become evidence of the report too
    (a Media row), so they stay in the media store as long as the report does."""
    assert report.id is not None
    row = RelayMessage(
        report_id=report.id,
        created_at=at,
        direction=direction,
        member_id=member_id,
        text=text,
        files=file_entries(files),
        # The reporter's own message needs no opening.
        read_at=at if direction is RelayDirection.FROM_REPORTER else None,
    )
    session.add(row)
    if direction is RelayDirection.FROM_REPORTER:
        for stored, name in files:
            session.add(
                Media(
                    created_at=at,
                    report_id=report.id,
                    sha256=stored.sha256,
                    content_type=stored.content_type,
                    size=stored.size,
                    original_name=file_name(name),
                )
            )
    await session.flush()
    return row


async def waiting(
    session: AsyncSession, channel: Channel, sender: str
) -> Sequence[tuple[RelayMessage, Report]]:
    """The messages waiting for this chat (unread, to its reports), oldest first, whatever
    has become of the consent since: the caller decides what may still be shown."""
    query = (
        select(RelayMessage, Report)
        .join(Report, col(Report.id) == col(RelayMessage.report_id))
        .where(
            col(Report.channel) == channel,
            col(Report.sender) == sender,
            col(RelayMessage.direction) == RelayDirection.TO_REPORTER,
            col(RelayMessage.read_at).is_(None),
        )
        .order_by(col(RelayMessage.created_at), col(RelayMessage.id))
    )
    return [(m, r) for m, r in (await session.exec(query)).all()]


async def mark_read(session: AsyncSession, ids: Sequence[int], at: datetime) -> None:
    if ids:
        await session.exec(
            update(RelayMessage).where(col(RelayMessage.id).in_(ids)).values(read_at=at)
        )


async def last_writer(session: AsyncSession, report_id: int) -> int | None:
    """The member who last wrote to the report's reporter: their answer goes to them."""
    query = (
        select(RelayMessage.member_id)
        .where(
            col(RelayMessage.report_id) == report_id,
            col(RelayMessage.direction) == RelayDirection.TO_REPORTER,
        )
        .order_by(col(RelayMessage.id).desc())
    )
    return (await session.exec(query)).first()


async def of_report(session: AsyncSession, report_id: int) -> Sequence[RelayMessage]:
    query = select(RelayMessage).where(col(RelayMessage.report_id) == report_id)
    return (await session.exec(query.order_by(col(RelayMessage.id)))).all()
