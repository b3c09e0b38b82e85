"""Follow-ups: the next escalation step of each unacknowledged report, as rows with a due time,
claimed once whatever the number of processes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import claim, insert_many
from storage.models import Followup, FollowupState


async def schedule(session: AsyncSession, report_id: int, step: int, due_at: datetime) -> Followup:
    row = Followup(report_id=report_id, step=step, due_at=due_at)
    session.add(row)  # flushed with the rest of the transaction
    return row


async def schedule_many(session: AsyncSession, steps: Sequence[tuple[int, int, datetime]]) -> None:
    """Follow-ups (report id, step, due time) of many reports in one statement."""
    rows = [{"report_id": r, "step": step, "due_at": due_at} for r, step, due_at in steps]
    await insert_many(session, Followup, rows)


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next pending follow-up falls due (the follow-up job sleeps until then)."""
    query = select(func.min(Followup.due_at)).where(col(Followup.state) == FollowupState.PENDING)
    return (await session.exec(query)).one()


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[Followup]:
    """Due follow-ups, each marked done in this transaction and taken by one process only."""
    due: list[Followup] = await claim(
        session,
        Followup,
        [col(Followup.state) == FollowupState.PENDING, col(Followup.due_at) <= now],
        {"state": FollowupState.DONE, "done_at": now},
        order_by=[col(Followup.due_at), col(Followup.id)],
        limit=limit,
    )
    return due


async def cancel(session: AsyncSession, report_id: int, at: datetime) -> None:
    await session.exec(
        update(Followup)
        .where(col(Followup.report_id) == report_id, col(Followup.state) == FollowupState.PENDING)
        .values(state=FollowupState.CANCELLED, done_at=at)
    )
