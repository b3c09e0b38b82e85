"""Identifiers stored and looked up: a report's at its submission and with every addition (in
the same transaction), the links between reports that share one, and what a check of an offer
may learn: `lookup` (the stored identifiers matching extracted ones) and `confirmed_marks`
(only confirmed verdicts, never a pending one, never a report)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.intel.identifiers import (
    AGENCY_THRESHOLD,
    Identifier,
    Kind,
    identifiers,
)
from storage import intel, reports
from storage.models import Identifier as Stored
from storage.models import LinkSource, Report, Verdict


async def index_report(
    session: AsyncSession, report: Report, at: datetime, phones: Sequence[str] | None = None
) -> int:
    """Stores the identifiers of the report's recruiter fields, numbers and story and links
    them to it (again after an answer changed them: what it named already stays); returns
    how many links are new. `phones`: the recruiter numbers as just stored (read otherwise)."""
    assert report.id is not None
    recruiter = "\n".join(
        x for x in (report.recruiter_name, report.recruiter_agency, report.recruiter_link) if x
    )
    if phones is None:
        phones = await reports.recruiter_phones(session, report.id)
    new = 0
    for source, text in (
        (LinkSource.RECRUITER, recruiter),
        (LinkSource.PHONES, "\n".join(phones)),
        (LinkSource.STORY, report.story),
    ):
        new += await store(session, report, identifiers(text), source, at)
    return new


async def index_addition(session: AsyncSession, report: Report, text: str, at: datetime) -> int:
    """Stores the identifiers in what the reporter added."""
    return await store(session, report, identifiers(text), LinkSource.ADDITION, at)


async def store(
    session: AsyncSession,
    report: Report,
    found: Sequence[Identifier],
    source: LinkSource,
    at: datetime,
) -> int:
    assert report.id is not None
    new = 0
    for identifier in found:
        row = await canonical(session, identifier, at)
        assert row.id is not None
        new += await intel.link(session, report.id, row.id, source, at)
    return new


async def canonical(session: AsyncSession, identifier: Identifier, at: datetime) -> Stored:
    """The stored identifier this one is: the same value, or for an agency a stored name
    close enough (see AGENCY_THRESHOLD); stored as new otherwise."""
    known = await lookup(session, [identifier])
    if known:
        return known[0]
    return await intel.add(session, identifier.kind, identifier.value, identifier.shown, at)


async def lookup(
    session: AsyncSession, found: Sequence[Identifier], *, confirmed_only: bool = False
) -> list[Stored]:
    """The stored identifiers matching these, once each: the same (kind, value) on the
    index; an agency without one matches the closest stored name at or above the threshold,
    among names of a length that could reach it (`confirmed_only`: among agencies with a
    confirmed mark only, which is all a check needs)."""
    exact = await intel.find(session, [(i.kind, i.value) for i in found])
    seen = {(s.kind, s.value) for s in exact}
    matched = {s.id: s for s in exact}
    for identifier in found:
        if identifier.kind is not Kind.AGENCY or (identifier.kind, identifier.value) in seen:
            continue
        candidates = await _candidates(session, identifier.value, confirmed_only)
        best = closest(identifier.value, candidates)
        if best is not None and best not in matched:
            row = await intel.by_id(session, best)
            if row is not None:
                matched[best] = row
    return list(matched.values())


async def _candidates(
    session: AsyncSession, key: str, confirmed_only: bool
) -> list[tuple[int, str]]:
    # token_sort_ratio = 2 * matches / (len a + len b) >= 0.9 needs the lengths within these.
    shortest, longest = int(len(key) * 0.8), int(len(key) * 1.25) + 1
    if confirmed_only:  # few, whatever is stored
        return await intel.agency_keys_between(session, shortest, longest, confirmed_only=True)
    every = await intel.agency_keys(session)  # thousands: kept in the process
    return [(i, v) for i, v in every.items() if shortest <= len(v) <= longest]


def closest(key: str, candidates: Sequence[tuple[int, str]]) -> int | None:
    """The id of the candidate (id, key) closest to the key at or above the threshold, the
    oldest of equals; rapidfuzz scores them all in C (a check may read thousands)."""
    scored = process.extract(
        key,
        dict(candidates),
        scorer=fuzz.token_sort_ratio,
        score_cutoff=AGENCY_THRESHOLD,
        limit=None,
    )
    return max(scored, key=lambda s: (s[1], -s[2]))[2] if scored else None


@dataclass(frozen=True)
class Link:
    """Other reports naming one of a report's identifiers."""

    kind: Kind
    shown: str
    references: list[str]


async def links(
    session: AsyncSession, report_ids: Sequence[int], *, earlier_only: bool = False
) -> dict[int, list[Link]]:
    """For each report, what it shares with other reports (only earlier ones for an alert),
    per identifier, the latest report first."""
    found = await intel.shared(session, report_ids, earlier_only=earlier_only)
    grouped: dict[int, list[Link]] = {}
    for report_id, rows in found.items():
        per: dict[int, Link] = {}
        for row in rows:
            assert row.identifier.id is not None
            link = per.setdefault(
                row.identifier.id, Link(row.identifier.kind, row.identifier.shown, [])
            )
            if row.reference not in link.references:
                link.references.append(row.reference)
        grouped[report_id] = list(per.values())
    return grouped


@dataclass(frozen=True)
class ConfirmedMark:
    """A confirmed verdict on an identifier: all a resident may learn of it."""

    kind: Kind
    shown: str  # the identifier as the task force stored it
    verdict: Verdict
    confirmed_at: datetime


async def confirmed_marks(
    session: AsyncSession, found: Sequence[Identifier]
) -> list[ConfirmedMark]:
    """The current confirmed verdict on each of these identifiers that has one (the latest
    confirmed mark wins: a number cleared after being marked dangerous is cleared). Never a
    mark waiting for confirmation, never which case or report it cites."""
    stored = await lookup(session, found, confirmed_only=True)
    ids = [s.id for s in stored if s.id is not None]
    latest: dict[int, ConfirmedMark] = {}
    by_id = {s.id: s for s in stored}
    for mark in await intel.confirmed_of(session, ids):
        assert mark.confirmed_at is not None
        identifier = by_id[mark.identifier_id]
        latest[mark.identifier_id] = ConfirmedMark(
            identifier.kind, identifier.shown, mark.verdict, mark.confirmed_at
        )
    return list(latest.values())
