"""The duty roster as stored: weekly shifts (local wall times) and one-off overrides (UTC)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Override, Shift, ShiftMember


@dataclass(frozen=True)
class ShiftRow:
    weekday: int
    start: str
    end: str
    member_ids: tuple[int, ...]


async def shifts(session: AsyncSession) -> list[ShiftRow]:
    """The weekly roster. Read as plain values, not models: every alert reads it, and a
    roster of 100 members on every day is 700 links."""
    query = select(Shift.id, Shift.weekday, Shift.start, Shift.end)
    rows = (await session.exec(query.order_by(col(Shift.weekday), col(Shift.start)))).all()
    links = (await session.exec(select(ShiftMember.shift_id, ShiftMember.member_id))).all()
    members: dict[int, list[int]] = {}
    for shift_id, member_id in links:
        members.setdefault(shift_id, []).append(member_id)
    return [
        ShiftRow(weekday, start, end, tuple(sorted(members.get(shift_id or 0, []))))
        for shift_id, weekday, start, end in rows
    ]


async def replace_shifts(session: AsyncSession, rows: Sequence[ShiftRow]) -> None:
    """The weekly roster becomes exactly `rows`."""
    await session.exec(delete(ShiftMember))
    await session.exec(delete(Shift))
    for row in rows:
        shift = Shift(weekday=row.weekday, start=row.start, end=row.end)
        session.add(shift)
        await session.flush()
        assert shift.id is not None
        for member_id in dict.fromkeys(row.member_ids):
            session.add(ShiftMember(shift_id=shift.id, member_id=member_id))
    await session.flush()


async def add_override(
    session: AsyncSession, member_id: int, starts_at: datetime, ends_at: datetime, *, on_duty: bool
) -> Override:
    row = Override(member_id=member_id, starts_at=starts_at, ends_at=ends_at, on_duty=on_duty)
    session.add(row)
    await session.flush()
    return row


async def end_override(session: AsyncSession, override_id: int, at: datetime) -> bool:
    """Ends the override at `at` (one still to come is ended before it starts); False when
    there is no such override in force or to come."""
    row = await session.get(Override, override_id)
    if row is None or row.ends_at <= at:
        return False
    row.ends_at = max(at, row.starts_at)
    session.add(row)
    await session.flush()
    return True


async def overrides(session: AsyncSession, ending_after: datetime) -> Sequence[Override]:
    """Overrides still in force or to come, oldest first (a later one wins)."""
    query = select(Override).where(col(Override.ends_at) > ending_after).order_by(col(Override.id))
    return (await session.exec(query)).all()
