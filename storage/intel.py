"""Recruiters' identifiers: stored once each by (kind, normalised value), the reports naming
them, the links between reports that share one, and the marks members put on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, func, or_
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from storage.db import insert
from storage.models import (
    Identifier,
    IdentifierKind,
    IdentifierMark,
    LinkSource,
    Report,
    ReportIdentifier,
    Verdict,
)


async def find(
    session: AsyncSession, wanted: Sequence[tuple[IdentifierKind, str]]
) -> list[Identifier]:
    """The stored identifiers among (kind, value) pairs: one lookup on the (kind, value)
    index each."""
    if not wanted:
        return []
    pairs = list(dict.fromkeys(wanted))
    if len(pairs) == 1:  # each identifier a report names, as it is stored
        (kind, value), query = pairs[0], _one_identifier()
        return list((await session.exec(query, params={"kind": kind, "value": value})).all())
    either = or_(*(and_(col(Identifier.kind) == k, col(Identifier.value) == v) for k, v in pairs))
    return list((await session.exec(select(Identifier).where(either))).all())


@cache
def _one_identifier() -> SelectOfScalar[Identifier]:
    """`find` of one (kind, value): built once (building a statement costs more than
    running it)."""
    return select(Identifier).where(
        col(Identifier.kind) == bindparam("kind"), col(Identifier.value) == bindparam("value")
    )


async def by_id(session: AsyncSession, identifier_id: int) -> Identifier | None:
    return await session.get(Identifier, identifier_id)


async def agency_keys_between(
    session: AsyncSession, shortest: int, longest: int, *, confirmed_only: bool = False
) -> list[tuple[int, str]]:
    """(id, key) of the stored agencies whose key has a length in the range: the only ones a
    fuzzy match can reach (a ratio of 90 needs lengths within about a fifth of each other).
    Two columns, not whole rows. `confirmed_only`: only those with a confirmed mark (few,
    whatever is stored); the others are read through `agency_keys`, kept in the process."""
    query = select(col(Identifier.id), col(Identifier.value)).where(
        col(Identifier.kind) == IdentifierKind.AGENCY
    )
    if confirmed_only:
        marked = select(IdentifierMark.identifier_id).where(
            col(IdentifierMark.confirmed_at).is_not(None)
        )
        query = query.where(col(Identifier.id).in_(marked))
    # The keys are sealed (storage/sealing.py): their length is known once opened.
    found = (await session.exec(query)).all()
    return [(int(i or 0), v) for i, v in found if shortest <= len(v) <= longest]


@dataclass
class _AgencyKeys:
    count: int = 0
    last: int = 0
    keys: dict[int, str] = field(default_factory=dict)


# Per database (its URL): every agency's key by id, kept in the process.
_AGENCY_KEYS: dict[str, _AgencyKeys] = {}


async def agency_keys(session: AsyncSession) -> dict[int, str]:
    """Every stored agency's key by id, for a fuzzy match that must read them all: kept in
    the process and brought up to date at each call with one count on the (kind, value)
    index and the rows above the last id seen. Identifiers are only ever added, so those are
    the new ones (another process's too); a count that does not add up (a database emptied
    and filled again) reads them all again. Reading 10,000 rows at each check cost more than
    a resident should wait."""
    bind = session.bind
    engine = bind if bind is None or isinstance(bind, AsyncEngine) else bind.engine
    where = str(engine.url) if engine is not None else ""
    cached = _AGENCY_KEYS.setdefault(where, _AgencyKeys())
    agency = col(Identifier.kind) == IdentifierKind.AGENCY
    count, last = (
        await session.exec(select(func.count(), func.max(col(Identifier.id))).where(agency))
    ).one()
    count, last = int(count), int(last or 0)
    if count == cached.count and last == cached.last:
        return cached.keys
    if last < cached.last or count < cached.count:
        cached = _AGENCY_KEYS[where] = _AgencyKeys()
    query = select(col(Identifier.id), col(Identifier.value)).where(
        agency, col(Identifier.id) > cached.last
    )
    for identifier_id, value in (await session.exec(query)).all():
        cached.keys[int(identifier_id or 0)] = str(value)
    if len(cached.keys) != count:  # not only added: read them all again
        found = (
            await session.exec(select(col(Identifier.id), col(Identifier.value)).where(agency))
        ).all()
        cached.keys = {int(i or 0): str(v) for i, v in found}
    cached.count, cached.last = count, last
    return cached.keys


async def add(
    session: AsyncSession, kind: IdentifierKind, value: str, shown: str, at: datetime
) -> Identifier:
    """The identifier, stored if it was not (two reports storing it at once get one row)."""
    await session.exec(
        insert(session, Identifier)
        .values(kind=kind, value=value, shown=shown[:200], created_at=at)
        .on_conflict_do_nothing(index_elements=["kind", "value"])
    )
    found = await find(session, [(kind, value)])
    return found[0]


async def link(
    session: AsyncSession, report_id: int, identifier_id: int, source: LinkSource, at: datetime
) -> bool:
    """The report names the identifier; False if it already did."""
    result = await session.exec(
        insert(session, ReportIdentifier)
        .values(report_id=report_id, identifier_id=identifier_id, source=source, created_at=at)
        .on_conflict_do_nothing(index_elements=["report_id", "identifier_id"])
        .returning(col(ReportIdentifier.id))
    )
    return result.first() is not None  # no row back: it was there already


async def of_report(session: AsyncSession, report_id: int) -> list[tuple[Identifier, LinkSource]]:
    """The identifiers a report names, in the order they were found."""
    query = (
        select(Identifier, ReportIdentifier.source)
        .join(ReportIdentifier, col(ReportIdentifier.identifier_id) == col(Identifier.id))
        .where(col(ReportIdentifier.report_id) == report_id)
        .order_by(col(ReportIdentifier.id))
    )
    return [(i, LinkSource(s)) for i, s in (await session.exec(query)).all()]


@dataclass(frozen=True)
class Shared:
    """Another report naming one of this report's identifiers."""

    identifier: Identifier
    reference: str
    report_id: int


async def shared(
    session: AsyncSession, report_ids: Sequence[int], *, earlier_only: bool = False
) -> dict[int, list[Shared]]:
    """For each report, the other reports sharing one of its identifiers (only the earlier
    ones if `earlier_only`), per identifier in the order the report names them, the latest
    report first."""
    query = _shared_query(earlier_only)
    found: dict[int, list[Shared]] = {i: [] for i in report_ids}
    rows = (await session.exec(query, params={"report_ids": list(report_ids)})).all()
    for report_id, identifier, reference, other_id in rows:
        found[report_id].append(Shared(identifier, reference, other_id or 0))
    return found


@cache
def _shared_query(
    earlier_only: bool,
) -> Select[int, Identifier, str, int | None]:
    """`shared`'s statement, built once (every alert runs it, and building it costs more
    than running it)."""
    mine, theirs = aliased(ReportIdentifier), aliased(ReportIdentifier)
    other = (
        col(theirs.report_id) < col(mine.report_id)
        if earlier_only
        else col(theirs.report_id) != col(mine.report_id)
    )
    return (
        select(col(mine.report_id), Identifier, col(Report.reference), col(Report.id))
        .join(theirs, and_(col(theirs.identifier_id) == col(mine.identifier_id), other))
        .join(Identifier, col(Identifier.id) == col(mine.identifier_id))
        .join(Report, col(Report.id) == col(theirs.report_id))
        .where(col(mine.report_id).in_(bindparam("report_ids", expanding=True)))
        .order_by(col(mine.report_id), col(mine.id), col(Report.id).desc())
    )


async def reports_naming(
    session: AsyncSession, identifier_id: int
) -> list[tuple[Report, LinkSource]]:
    query = (
        select(Report, ReportIdentifier.source)
        .join(ReportIdentifier, col(ReportIdentifier.report_id) == col(Report.id))
        .where(col(ReportIdentifier.identifier_id) == identifier_id)
        .order_by(col(Report.id))
    )
    return [(r, LinkSource(s)) for r, s in (await session.exec(query)).all()]


# Marks.


async def add_mark(
    session: AsyncSession,
    identifier: Identifier,
    verdict: Verdict,
    report: Report,
    *,
    by: str,
    member_id: int | None,
    at: datetime,
    confirmed: bool,
) -> IdentifierMark:
    assert identifier.id is not None and report.id is not None
    mark = IdentifierMark(
        identifier_id=identifier.id,
        verdict=verdict,
        report_id=report.id,
        created_at=at,
        member_id=member_id,
        by=by,
        confirmed_at=at if confirmed else None,
        confirmed_by=by if confirmed else None,
    )
    session.add(mark)
    await session.flush()
    return mark


async def mark(session: AsyncSession, mark_id: int, *, lock: bool = False) -> IdentifierMark | None:
    query = select(IdentifierMark).where(col(IdentifierMark.id) == mark_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.exec(query)).first()


async def marks_of(session: AsyncSession, identifier_ids: Sequence[int]) -> list[IdentifierMark]:
    """Every mark on these identifiers, confirmed or not, oldest first."""
    query = (
        select(IdentifierMark)
        .where(col(IdentifierMark.identifier_id).in_(identifier_ids))
        .order_by(col(IdentifierMark.id))
    )
    return list((await session.exec(query)).all())


async def confirmed_of(
    session: AsyncSession, identifier_ids: Sequence[int]
) -> list[IdentifierMark]:
    """The confirmed marks on these identifiers, oldest first (never a pending one)."""
    if not identifier_ids:
        return []
    query = (
        select(IdentifierMark)
        .where(
            col(IdentifierMark.identifier_id).in_(identifier_ids),
            col(IdentifierMark.confirmed_at).is_not(None),
        )
        .order_by(col(IdentifierMark.confirmed_at), col(IdentifierMark.id))
    )
    return list((await session.exec(query)).all())


async def pending(session: AsyncSession) -> list[tuple[IdentifierMark, Identifier, str]]:
    """The marks waiting for a coordinator, oldest first, with their identifier and case."""
    query = (
        select(IdentifierMark, Identifier, col(Report.reference))
        .join(Identifier, col(Identifier.id) == col(IdentifierMark.identifier_id))
        .join(Report, col(Report.id) == col(IdentifierMark.report_id))
        .where(col(IdentifierMark.confirmed_at).is_(None))
        .order_by(col(IdentifierMark.id))
    )
    return [(m, i, r) for m, i, r in (await session.exec(query)).all()]


async def confirm(session: AsyncSession, mark_: IdentifierMark, by: str, at: datetime) -> None:
    mark_.confirmed_at, mark_.confirmed_by = at, by
    session.add(mark_)
