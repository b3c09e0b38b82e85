"""Reports for the statistics, written straight through storage in bulk: rows of reports with
their timelines, outcomes, referrals, identifiers and marks (`Rows`), and a generated year of
them (`generated`) for the evaluation's tests and bench/evaluate.py."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from storage.db import Database
from storage.models import (
    Affected,
    AgencyKind,
    Channel,
    ChildInvolved,
    EventKind,
    Identifier,
    IdentifierKind,
    IdentifierMark,
    LinkSource,
    OfferKind,
    OfferSource,
    Outcome,
    Priority,
    Referral,
    ReferralState,
    Report,
    ReportEvent,
    ReportIdentifier,
    ReportState,
    Urgency,
    Verdict,
)


@dataclass
class Rows:
    reports: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    referrals: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    marks: list[dict[str, Any]] = field(default_factory=list)

    def report(
        self,
        created_at: datetime,
        *,
        priority: Priority = Priority.NORMAL,
        channel: Channel = Channel.TELEGRAM,
        area: str | None = "Bintan Utara",
        destination: str = "Malaysia",
        offer: OfferKind = OfferKind.WORK_ABROAD,
        outcome: Outcome | None = None,
        alerted_after: float | None = 1.0,
        acknowledged_after: float | None = None,
    ) -> int:
        """A report with its timeline (minutes after submission); returns its id."""
        report_id = len(self.reports) + 1
        self.reports.append(
            {
                "id": report_id,
                "reference": f"BTN-{created_at.year}-{report_id:05d}",
                "created_at": created_at,
                "state": ReportState.CLOSED if outcome else ReportState.NEW,
                "priority": priority,
                "channel": channel,
                "sender": f"sender{report_id}",
                "language": "id",
                "anonymous": True,
                "consent_contact": False,
                "consent_share_with_police": False,
                "consent_share_with": [],
                "urgency": Urgency.NONE,
                "affected": Affected.ME,
                "child_involved": ChildInvolved.NO,
                "offer_kind": offer,
                "destination": destination,
                "offer_source": OfferSource.SOCIAL_MEDIA,
                "red_flags": [],
                "story": "Ada tawaran kerja di luar negeri.",
                "area": area,
                "outcome": outcome,
            }
        )
        self.event(report_id, EventKind.SUBMITTED, created_at)
        if alerted_after is not None:
            self.event(report_id, EventKind.ALERTED, created_at + timedelta(minutes=alerted_after))
            # A later alert (an escalation step) does not change the time to the first one.
            self.event(report_id, EventKind.ALERTED, created_at + timedelta(minutes=999))
        if acknowledged_after is not None:
            at = created_at + timedelta(minutes=acknowledged_after)
            self.event(report_id, EventKind.ACKNOWLEDGED, at)
        return report_id

    def event(self, report_id: int, kind: EventKind, at: datetime) -> None:
        self.events.append(
            {"report_id": report_id, "at": at, "kind": kind, "actor": "test", "detail": {}}
        )

    def referral(self, report_id: int, kind: AgencyKind, state: ReferralState) -> None:
        at = self.reports[report_id - 1]["created_at"] + timedelta(hours=2)
        self.referrals.append(
            {
                "report_id": report_id,
                "created_at": at,
                "updated_at": at,
                "agency": f"{kind.value} Bintan",
                "agency_kind": kind,
                "channel": Channel.EMAIL,
                "address": "unit@example.org",
                "state": state,
                "with_identity": False,
                "document_sha256": "0" * 64,
            }
        )

    def identifier(self, kind: IdentifierKind, value: str, shown: str | None = None) -> int:
        identifier_id = len(self.identifiers) + 1
        self.identifiers.append(
            {
                "id": identifier_id,
                "kind": kind,
                "value": value,
                "shown": shown or value,
                "created_at": datetime(2020, 1, 1, tzinfo=UTC),
            }
        )
        return identifier_id

    def name(self, report_id: int, identifier_id: int) -> None:
        self.links.append(
            {
                "report_id": report_id,
                "identifier_id": identifier_id,
                "source": LinkSource.PHONES,
                "created_at": self.reports[report_id - 1]["created_at"],
            }
        )

    def mark(
        self, identifier_id: int, report_id: int, verdict: Verdict, *, confirmed: bool, day: int = 1
    ) -> None:
        at = datetime(2026, 12, day, tzinfo=UTC)
        self.marks.append(
            {
                "identifier_id": identifier_id,
                "verdict": verdict,
                "report_id": report_id,
                "created_at": at,
                "by": "Sari",
                "confirmed_at": at if confirmed else None,
                "confirmed_by": "Budi" if confirmed else None,
            }
        )

    async def store(self, url: str) -> None:
        """Writes every row (the database must be migrated and empty)."""
        database = Database(url)
        try:
            async with database.write() as session:
                for table, rows in (
                    (Report, self.reports),
                    (ReportEvent, self.events),
                    (Referral, self.referrals),
                    (Identifier, self.identifiers),
                    (ReportIdentifier, self.links),
                    (IdentifierMark, self.marks),
                ):
                    for start in range(0, len(rows), 2000):
                        await session.exec(insert(table).values(rows[start : start + 2000]))  # type: ignore[call-overload]
            if url.startswith("postgresql"):
                async with database.write() as session:
                    for table in ("report", "identifier"):
                        await session.exec(
                            text(  # type: ignore[call-overload]
                                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                            )
                        )
                    await session.exec(text("ANALYZE"))  # type: ignore[call-overload]
        finally:
            await database.close()


AREAS = ["Bintan Utara", "Bintan Timur", "Gunung Kijang", "Teluk Bintan", "Toapaya"]
RARE_AREA = "Tambelan"  # exactly 3 reports: published as "<5"
DESTINATIONS = ["Malaysia", "Singapura", "Kamboja", "Taiwan atau Hong Kong", "other", "unknown"]
CONFIRMED = "+62 812-3450-0001"  # confirmed dangerous: in the evaluation
CONFIRMED_FEW = "+62 812-3450-0003"  # confirmed dangerous, named by 3 reports: "<5"
UNCONFIRMED = "+62 899-9990-0002"  # marked, never confirmed: never in the evaluation
CLEARED = "+62 877-7770-0004"  # confirmed dangerous, then confirmed cleared: not listed


def generated(count: int, year: int = 2026, seed: int = 15) -> Rows:
    """`count` reports spread over the year (Asia/Jakarta is UTC+7: created between 1 January
    and 20 December UTC), with timelines, outcomes, referrals and identifiers."""
    rng = random.Random(seed)
    rows = Rows()
    start = datetime(year, 1, 1, 1, tzinfo=UTC)
    span = (datetime(year, 12, 20, tzinfo=UTC) - start).total_seconds()
    priorities = [Priority.URGENT] * 1 + [Priority.HIGH] * 3 + [Priority.NORMAL] * 6
    outcomes = [
        Outcome.TRAFFICKING_SUSPECTED,
        Outcome.SCAM_OR_FRAUD,
        Outcome.NON_PROCEDURAL_MIGRATION,
        Outcome.NOT_TRAFFICKING,
        Outcome.DUPLICATE,
        Outcome.UNREACHABLE,
    ]
    moments = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    for n, created in enumerate(moments):
        closed = rng.random() < 0.4
        acknowledged = rng.random() < 0.85
        report_id = rows.report(
            created,
            priority=rng.choice(priorities),
            channel=rng.choice([Channel.TELEGRAM, Channel.WHATSAPP, Channel.WHATSAPP]),
            area=RARE_AREA if n in (10, 20, 30) else rng.choice([*AREAS, None]),
            destination=rng.choice(DESTINATIONS),
            offer=rng.choice([k for k in OfferKind if k != OfferKind.UNKNOWN]),
            outcome=(Outcome.WITHDRAWN if closed and n % 250 == 0 else rng.choice(outcomes))
            if closed
            else None,
            alerted_after=rng.uniform(0.05, 2),
            acknowledged_after=rng.expovariate(1 / 12) if acknowledged else None,
        )
        if rng.random() < 0.15:
            rows.referral(
                report_id,
                rng.choice(list(AgencyKind)),
                rng.choice([ReferralState.SENT, ReferralState.ACCEPTED, ReferralState.DONE]),
            )
    confirmed = rows.identifier(IdentifierKind.PHONE, "+6281234500001", CONFIRMED)
    few = rows.identifier(IdentifierKind.PHONE, "+6281234500003", CONFIRMED_FEW)
    unconfirmed = rows.identifier(IdentifierKind.PHONE, "+6289999900002", UNCONFIRMED)
    cleared = rows.identifier(IdentifierKind.PHONE, "+6287777700004", CLEARED)
    for report_id in range(1, min(count, 40) + 1):
        rows.name(report_id, confirmed)
        rows.name(report_id, unconfirmed)
        rows.name(report_id, cleared)
    for report_id in range(41, min(count, 43) + 1):
        rows.name(report_id, few)
    rows.mark(confirmed, 1, Verdict.DANGEROUS, confirmed=True)
    rows.mark(few, 41, Verdict.DANGEROUS, confirmed=True)
    rows.mark(unconfirmed, 1, Verdict.DANGEROUS, confirmed=False)
    rows.mark(cleared, 1, Verdict.DANGEROUS, confirmed=True, day=1)
    rows.mark(cleared, 2, Verdict.CLEARED, confirmed=True, day=2)
    return rows
