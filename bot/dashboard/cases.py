"""The dashboard's reads: the cases a member may see, filtered, sorted and paginated, with
the counts per state; who may see which case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.members import at_least
from storage.models import Member, Priority, Report, ReportState, Role

PAGE_SIZE = 50
# What the table sorts by (the query's `sort`), newest first unless `dir=asc`.
SORTS: dict[str, Any] = {
    "created": col(Report.created_at),
    "reference": col(Report.reference),
    "state": col(Report.state),
    "priority": col(Report.priority),
    "area": col(Report.area),
    "destination": col(Report.destination),
}


def sees_all(member: Member) -> bool:
    return at_least(member.role, Role.COORDINATOR)


def may_see(member: Member, report: Report) -> bool:
    """Roles as in the bot: a member sees their own cases and those nobody has yet;
    coordinators and admins see all."""
    if member.removed_at is not None:
        return False
    return sees_all(member) or report.assignee_id is None or report.assignee_id == member.id


@dataclass
class Filters:
    """The cases page's query, read leniently: anything unknown is ignored."""

    state: str = ""
    priority: str = ""
    area: str = ""
    destination: str = ""
    assignee: str = ""  # a member's id, "none" (nobody's) or "" (any)
    since: date | None = None
    until: date | None = None
    text: str = ""
    sort: str = "created"
    ascending: bool = False
    page: int = 1
    query: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, params: Any) -> Filters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(params.get(name, ""))
            except ValueError:
                return None

        state = params.get("state", "")
        priority = params.get("priority", "")
        sort = params.get("sort", "created")
        try:
            page = max(1, min(10_000, int(params.get("page", "1"))))
        except ValueError:
            page = 1
        kept = {
            k: str(params.get(k))
            for k in (
                "state",
                "priority",
                "area",
                "destination",
                "assignee",
                "since",
                "until",
                "q",
                "sort",
                "dir",
            )
            if params.get(k)
        }
        return cls(
            state=state if state in {s.value for s in ReportState} else "",
            priority=priority if priority in {p.value for p in Priority} else "",
            area=params.get("area", "")[:64],
            destination=params.get("destination", "")[:64],
            assignee=params.get("assignee", "")[:12],
            since=day("since"),
            until=day("until"),
            text=params.get("q", "").strip()[:200],
            sort=sort if sort in SORTS else "created",
            ascending=params.get("dir") == "asc",
            page=page,
            query=kept,
        )


@dataclass(frozen=True)
class Listing:
    rows: list[Report]
    total: int
    counts: dict[str, int]
    pages: int


def _visible(member: Member) -> list[Any]:
    if sees_all(member):
        return []
    return [or_(col(Report.assignee_id).is_(None), col(Report.assignee_id) == member.id)]


def _where(member: Member, filters: Filters, zone: ZoneInfo) -> list[Any]:
    where = _visible(member)
    if filters.state:
        where.append(col(Report.state) == ReportState(filters.state))
    if filters.priority:
        where.append(col(Report.priority) == Priority(filters.priority))
    if filters.area:
        where.append(col(Report.area) == filters.area)
    if filters.destination:
        where.append(col(Report.destination) == filters.destination)
    if filters.assignee == "none":
        where.append(col(Report.assignee_id).is_(None))
    elif filters.assignee.isdigit():
        where.append(col(Report.assignee_id) == int(filters.assignee))
    if filters.since:
        where.append(col(Report.created_at) >= datetime.combine(filters.since, time(), zone))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time(), zone)
        where.append(col(Report.created_at) < end)
    return where


async def listing(
    session: AsyncSession, member: Member, filters: Filters, zone: ZoneInfo
) -> Listing:
    where = _where(member, filters, zone)
    order = SORTS[filters.sort]
    ordering = (
        order.asc() if filters.ascending else order.desc(),
        col(Report.id).asc() if filters.ascending else col(Report.id).desc(),
    )
    start = (filters.page - 1) * PAGE_SIZE
    if filters.text:
        # The stories are sealed (storage/sealing.py): searched here, opened, in the order shown.
        wanted = filters.text.casefold()
        found = await session.exec(
            select(Report.id, Report.story).where(*where).order_by(*ordering)
        )
        ids = [id_ for id_, story in found.all() if wanted in story.casefold()]
        total = len(ids)
        page = ids[start : start + PAGE_SIZE]
        fetched = await session.exec(select(Report).where(col(Report.id).in_(page)))
        by_id = {report.id: report for report in fetched.all()}
        rows = [by_id[id_] for id_ in page]
    else:
        total = (await session.exec(select(func.count()).select_from(Report).where(*where))).one()
        query = select(Report).where(*where).order_by(*ordering)
        rows = list((await session.exec(query.limit(PAGE_SIZE).offset(start))).all())
    counted = await session.exec(
        select(col(Report.state), func.count()).where(*_visible(member)).group_by(col(Report.state))
    )
    counts = {state.value: 0 for state in ReportState}
    for state, count in counted.all():
        counts[str(state)] = count
    return Listing(rows, total, counts, max(1, -(-total // PAGE_SIZE)))


async def choices(session: AsyncSession) -> tuple[Sequence[str], Sequence[str]]:
    """The areas and destinations the filters offer (those reports name)."""
    areas = await session.exec(
        select(col(Report.area)).where(col(Report.area).is_not(None)).distinct()
    )
    destinations = await session.exec(select(col(Report.destination)).distinct())
    return (
        sorted(a for a in areas.all() if a),
        sorted(d for d in destinations.all() if d),
    )
