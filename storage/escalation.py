"""Follow-ups: the next escalation step of each unacknowledged report, as rows with a due time,
claimed once whatever the number of processes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Followup, FollowupState


async def schedule(session: AsyncSession, report_id: int, step: int, due_at: datetime) -> Followup:
    row = Followup(report_id=report_id, step=step, due_at=due_at)
    session.add(row)  # flushed with the rest of the transaction
    return row


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> Sequence[Followup]:
    """Due follow-ups, each marked done in this transaction: another process skips the rows
    this one holds (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite has one writer at a time), and
    the compare-and-set keeps a row from being taken twice in any case."""
    query = (
        select(Followup)
        .where(col(Followup.state) == FollowupState.PENDING, col(Followup.due_at) <= now)
        .order_by(col(Followup.due_at), col(Followup.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    due = (await session.exec(query)).all()
    if not due:
        return []
    claimed = await session.exec(
        update(Followup)
        .where(
            col(Followup.id).in_([f.id for f in due]),
            col(Followup.state) == FollowupState.PENDING,
        )
        .values(state=FollowupState.DONE, done_at=now)
        .returning(col(Followup.id))
    )
    ids = set(claimed.scalars().all())
    return [f for f in due if f.id in ids]


async def cancel(session: AsyncSession, report_id: int, at: datetime) -> None:
    await session.exec(
        update(Followup)
        .where(col(Followup.report_id) == report_id, col(Followup.state) == FollowupState.PENDING)
        .values(state=FollowupState.CANCELLED, done_at=at)
    )


async def next_due(session: AsyncSession) -> datetime | None:
    query = select(func.min(Followup.due_at)).where(col(Followup.state) == FollowupState.PENDING)
    return (await session.exec(query)).one()


async def pending(session: AsyncSession, report_id: int) -> Sequence[Followup]:
    query = select(Followup).where(
        col(Followup.report_id) == report_id, col(Followup.state) == FollowupState.PENDING
    )
    return (await session.exec(query)).all()
