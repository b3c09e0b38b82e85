"""The queries behind the statistics (handlers/statistics.py): counts grouped in the database,
the same SQL on SQLite and PostgreSQL. Every query is bounded by a period of report creation
times [start, end), in UTC; months are buckets whose bounds the caller gives (local month
starts converted to UTC), so no dialect's date functions are needed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal
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
    (the last one ends at `end`). One GROUP BY over a CASE of the bounds."""
    if len(bounds) == 1:
        return {0: await total(session, max(start, bounds[0]), end)}
    bucket = case(
        *((col(Report.created_at) < bound, literal(i)) for i, bound in enumerate(bounds[1:])),
        else_=literal(len(bounds) - 1),
    ).label("bucket")
    # Grouped in a subquery: PostgreSQL does not see a CASE with bound parameters in GROUP BY
    # as the one selected.
    inner = (
        select(bucket).where(_in_period(start, end), col(Report.created_at) >= bounds[0]).subquery()
    )
    query = select(inner.c.bucket, func.count()).group_by(inner.c.bucket)
    return {int(b): int(n) for b, n in (await session.exec(query)).all()}


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
) -> list[tuple[int, Any, Any, datetime]]:
    """(report id, priority, event kind, first time) per report of the period and kind among
    submitted, alerted and acknowledged: one GROUP BY (report, kind), three rows a report at
    most."""
    kinds = (EventKind.SUBMITTED, EventKind.ALERTED, EventKind.ACKNOWLEDGED)
    query = (
        select(
            col(ReportEvent.report_id),
            col(Report.priority),
            col(ReportEvent.kind),
            func.min(col(ReportEvent.at)),
        )
        .join(Report, col(Report.id) == col(ReportEvent.report_id))
        .where(_in_period(start, end), col(ReportEvent.kind).in_(kinds))
        .group_by(col(ReportEvent.report_id), col(Report.priority), col(ReportEvent.kind))
    )
    rows = (await session.exec(query)).all()
    return [(int(r), priority, kind, _aware(at)) for r, priority, kind, at in rows]


def _aware(at: Any) -> datetime:
    """func.min loses the column's type on SQLite: a string or a naive datetime in UTC."""
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
