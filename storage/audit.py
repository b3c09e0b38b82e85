"""The audit of every look at a reporter's contact, story or evidence, whatever the door (the
bot, the dashboard, the command line): written where it is shown, read by `sigap audit` and
the dashboard's audit page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Door, Member, Report, Seen, ViewAudit


async def record(
    session: AsyncSession,
    *,
    at: datetime,
    report_id: int,
    door: Door,
    seen: Iterable[Seen],
    place: str,
    member_id: int | None = None,
    operator: str | None = None,
    reason: str | None = None,
) -> None:
    """One row for each thing seen, by a member or (`member_id` None) the server's operator."""
    for what in dict.fromkeys(seen):
        session.add(
            ViewAudit(
                at=at,
                member_id=member_id,
                operator=operator[:64] if operator else None,
                report_id=report_id,
                door=door,
                what=what,
                place=place[:64],
                reason=reason,
            )
        )


@dataclass(frozen=True)
class Entry:
    """An audit row with the names it points to."""

    row: ViewAudit
    reference: str
    member: str | None  # None: the operator at the command line

    @property
    def who(self) -> str:
        if self.member is not None:
            return self.member
        return f"operator ({self.row.operator})" if self.row.operator else "operator"


async def entries(
    session: AsyncSession,
    *,
    reference: str | None = None,
    member: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[Entry]:
    """The newest rows first, of one report and of one member (a name, any case, or an id;
    removed members too: their looks stay on record)."""
    query = (
        select(ViewAudit, Report.reference, Member.name)
        .join(Report, col(Report.id) == col(ViewAudit.report_id))
        .outerjoin(Member, col(Member.id) == col(ViewAudit.member_id))
    )
    if reference is not None:
        query = query.where(func.upper(col(Report.reference)) == reference.strip().upper())
    if member is not None:
        wanted = member.strip()
        named = col(Member.name).ilike(wanted)
        query = query.where(
            or_(named, col(Member.id) == int(wanted)) if wanted.isdigit() else named
        )
    query = (
        query.order_by(col(ViewAudit.at).desc(), col(ViewAudit.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return [Entry(row, ref, name) for row, ref, name in (await session.exec(query)).all()]
