"""The queries behind the statistics (handlers/statistics.py): counts grouped in the database,
the same SQL on SQLite and PostgreSQL. Every query is bounded by a period of report creation
times [start, end), in UTC; months are buckets whose bounds the caller gives (local month
starts converted to UTC), so no dialect's date functions are needed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    EventKind,
    IdentifierMark,
    Referral,
    Report,
    ReportEvent,
    ReportIdentifier,
    ReportState,
)


def _in_period(start: datetime, end: datetime) -> Any:
    return (col(Report.created_at) >= start) & (col(Report.created_at) < end)


async def total(session: AsyncSession, start: datetime, end: datetime) -> int:
    query = select(func.count()).select_from(Report).where(_in_period(start, end))
    return int((await session.exec(query)).one())


async def per_bucket(
    session: AsyncSession, start: datetime, end: datetime, bounds: Sequence[datetime]
) -> dict[int, int]:
    """The number of reports created in each bucket: bucket i is [bounds[i], bounds[i + 1])
    (the last one ends at `end`). One statement of a count per bucket, each a range of the
    created_at index (a CASE over every row cost more on SQLite)."""
    edges = [max(start, bounds[0]), *bounds[1:], end]
    counts = [
        select(func.count())
        .select_from(Report)
        .where(col(Report.created_at) >= low, col(Report.created_at) < high)
        .scalar_subquery()
        for low, high in pairwise(edges)
    ]
    row = (await session.exec(select(*counts))).one()
    values = row if isinstance(row, tuple | list) or hasattr(row, "_fields") else (row,)
    return {i: int(n) for i, n in enumerate(values)}


async def grouped(
    session: AsyncSession, start: datetime, end: datetime, column: Any
) -> dict[Any, int]:
    """The number of reports created in the period per value of a Report column (None for
    reports without one)."""
    query = select(column, func.count()).where(_in_period(start, end)).group_by(column)
    return {value: int(n) for value, n in (await session.exec(query)).all()}


async def outcomes(session: AsyncSession, start: datetime, end: datetime) -> dict[Any, int]:
    """The closed cases created in the period per outcome."""
    query = (
        select(col(Report.outcome), func.count())
        .where(_in_period(start, end), col(Report.state) == ReportState.CLOSED)
        .group_by(col(Report.outcome))
    )
    return {value: int(n) for value, n in (await session.exec(query)).all()}


async def referrals(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[tuple[Any, Any], int]:
    """The referrals of the reports created in the period per (agency kind, state)."""
    query = (
        select(col(Referral.agency_kind), col(Referral.state), func.count())
        .join(Report, col(Report.id) == col(Referral.report_id))
        .where(_in_period(start, end))
        .group_by(col(Referral.agency_kind), col(Referral.state))
    )
    return {(kind, state): int(n) for kind, state, n in (await session.exec(query)).all()}


async def first_events(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[Any, datetime | None, datetime | None, datetime | None]]:
    """(priority, first submitted, first alerted, first acknowledged) of each report of the
    period that has any of these events: one GROUP BY report, one row a report."""

    def first(kind: EventKind) -> Any:
        at = case((col(ReportEvent.kind) == kind, col(ReportEvent.at)), else_=None)
        return func.min(at)

    kinds = (EventKind.SUBMITTED, EventKind.ALERTED, EventKind.ACKNOWLEDGED)
    query = (
        select(
            col(Report.priority),
            first(EventKind.SUBMITTED),
            first(EventKind.ALERTED),
            first(EventKind.ACKNOWLEDGED),
        )
        .join(Report, col(Report.id) == col(ReportEvent.report_id))
        .where(_in_period(start, end), col(ReportEvent.kind).in_(kinds))
        .group_by(col(ReportEvent.report_id), col(Report.priority))
    )
    rows = (await session.exec(query)).all()
    return [(p, _aware(s), _aware(a), _aware(k)) for p, s, a, k in rows]


def _aware(at: Any) -> datetime | None:
    """func.min loses the column's type on SQLite: a string or a naive datetime in UTC."""
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    assert isinstance(at, datetime)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


async def confirmed_marks(session: AsyncSession) -> list[IdentifierMark]:
    """Every confirmed mark, oldest confirmation first (few: a coordinator confirms each)."""
    query = (
        select(IdentifierMark)
        .where(col(IdentifierMark.confirmed_at).is_not(None))
        .order_by(col(IdentifierMark.confirmed_at), col(IdentifierMark.id))
    )
    return list((await session.exec(query)).all())


async def reports_naming(
    session: AsyncSession, start: datetime, end: datetime, identifier_ids: Sequence[int]
) -> dict[int, int]:
    """The number of reports of the period naming each of these identifiers."""
    if not identifier_ids:
        return {}
    query = (
        select(col(ReportIdentifier.identifier_id), func.count(func.distinct(Report.id)))
        .join(Report, col(Report.id) == col(ReportIdentifier.report_id))
        .where(_in_period(start, end), col(ReportIdentifier.identifier_id).in_(identifier_ids))
        .group_by(col(ReportIdentifier.identifier_id))
    )
    return {int(i): int(n) for i, n in (await session.exec(query)).all()}
