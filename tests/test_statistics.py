"""The statistics on a small hand-made year (exact numbers), the suppression of small counts,
and the charts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.statistics import (
    CHARTS,
    Period,
    Statistics,
    Timing,
    chart_png,
    chart_svg,
    charts_svg,
    gather,
    percentile,
    published,
    suppress,
)
from storage.db import Database
from storage.models import (
    AgencyKind,
    Channel,
    IdentifierKind,
    OfferKind,
    Outcome,
    Priority,
    ReferralState,
    Verdict,
)
from tests.support.statistics import Rows

JAKARTA = ZoneInfo("Asia/Jakarta")
TARGETS = {Priority.URGENT: 5.0, Priority.HIGH: 15.0, Priority.NORMAL: 30.0}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def hand_made() -> Rows:
    rows = Rows()
    r1 = rows.report(
        utc(2026, 1, 10, 3),
        priority=Priority.URGENT,
        area="A",
        alerted_after=1,
        acknowledged_after=4,
    )
    # 18:00 UTC on 31 January is 1 February in Bintan.
    r2 = rows.report(
        utc(2026, 1, 31, 18),
        channel=Channel.WHATSAPP,
        area="B",
        destination="Singapura",
        offer=OfferKind.SHIP_CREW,
        outcome=Outcome.SCAM_OR_FRAUD,
        alerted_after=2,
        acknowledged_after=40,
    )
    r3 = rows.report(
        utc(2026, 2, 15),
        priority=Priority.HIGH,
        channel=Channel.WHATSAPP,
        area=None,
        outcome=Outcome.TRAFFICKING_SUSPECTED,
        alerted_after=0.5,
        acknowledged_after=10,
    )
    rows.report(utc(2026, 3, 1), area="A", alerted_after=3)
    # 31 December 2025 18:00 UTC is New Year's night in Bintan: in 2026.
    rows.report(utc(2025, 12, 31, 18), area="A", acknowledged_after=20)
    # 1 January 2027 in Bintan, and June 2025: outside the year.
    r6 = rows.report(utc(2026, 12, 31, 17, 30), area="A", acknowledged_after=1)
    rows.report(utc(2025, 6, 1), area="A", acknowledged_after=1)
    rows.referral(r2, AgencyKind.POLICE, ReferralState.SENT)
    rows.referral(r3, AgencyKind.POLICE, ReferralState.ACCEPTED)
    rows.referral(r3, AgencyKind.KP2MI, ReferralState.SENT)
    rows.referral(r6, AgencyKind.POLICE, ReferralState.SENT)
    named_twice = rows.identifier(IdentifierKind.PHONE, "+6281100000001")
    unconfirmed = rows.identifier(IdentifierKind.PHONE, "+6281100000002")
    cleared = rows.identifier(IdentifierKind.PHONE, "+6281100000003")
    once = rows.identifier(IdentifierKind.HANDLE, "kerja.malaysia", "@kerja.malaysia")
    for report_id in (r1, r2, r6):
        rows.name(report_id, named_twice)
    for report_id in (r1, r2, r3):
        rows.name(report_id, unconfirmed)
        rows.name(report_id, cleared)
    rows.name(r3, once)
    rows.mark(named_twice, r1, Verdict.DANGEROUS, confirmed=True)
    rows.mark(unconfirmed, r1, Verdict.DANGEROUS, confirmed=False)
    rows.mark(cleared, r1, Verdict.DANGEROUS, confirmed=True, day=1)
    rows.mark(cleared, r2, Verdict.CLEARED, confirmed=True, day=2)
    rows.mark(once, r3, Verdict.DANGEROUS, confirmed=True)
    return rows


async def statistics_of(url: str, period: Period) -> Statistics:
    database = Database(url)
    try:
        async with database.read() as session:
            return await gather(session, period, TARGETS)
    finally:
        await database.close()


async def test_the_figures_of_a_hand_made_year(database_url: str) -> None:
    await hand_made().store(database_url)
    stats = await statistics_of(database_url, Period.year(2026, JAKARTA))
    assert stats.total == 5
    months = dict(stats.per_month)
    assert len(months) == 12
    assert (months[date(2026, 1, 1)], months[date(2026, 2, 1)], months[date(2026, 3, 1)]) == (
        2,
        2,
        1,
    )
    assert sum(months.values()) == 5
    assert stats.by_area == {"A": 3, "": 1, "B": 1}
    assert stats.by_destination == {"Malaysia": 4, "Singapura": 1}
    assert stats.by_offer == {OfferKind.WORK_ABROAD: 4, OfferKind.SHIP_CREW: 1}
    assert stats.by_channel == {Channel.TELEGRAM: 3, Channel.WHATSAPP: 2}
    assert stats.by_priority == {Priority.URGENT: 1, Priority.HIGH: 1, Priority.NORMAL: 3}
    # First alerts after 1, 2, 0.5, 3 and 1 minutes (the later escalation alerts do not count).
    assert stats.to_alert == Timing(5, 1.0, pytest.approx(2.6))
    # Acknowledged after 4, 40, 10 and 20 minutes; one never was.
    assert stats.to_acknowledge == Timing(4, 15.0, pytest.approx(34.0))
    targets = {t.priority: t for t in stats.targets}
    assert (targets[Priority.URGENT].reports, targets[Priority.URGENT].within) == (1, 1)
    assert (targets[Priority.HIGH].acknowledged, targets[Priority.HIGH].within) == (1, 1)
    normal = targets[Priority.NORMAL]
    assert (normal.target_minutes, normal.reports, normal.acknowledged, normal.within) == (
        30.0,
        3,
        2,
        1,
    )
    assert normal.share_within == pytest.approx(1 / 3)
    assert normal.median == 30.0
    assert stats.closed == 2
    assert stats.outcomes == {Outcome.SCAM_OR_FRAUD: 1, Outcome.TRAFFICKING_SUSPECTED: 1}
    assert stats.referrals == {
        (AgencyKind.POLICE, ReferralState.SENT): 1,
        (AgencyKind.POLICE, ReferralState.ACCEPTED): 1,
        (AgencyKind.KP2MI, ReferralState.SENT): 1,
    }
    assert stats.referrals_by_kind() == {AgencyKind.POLICE: 2, AgencyKind.KP2MI: 1}
    # Confirmed dangerous only: not the unconfirmed one, not the one cleared afterwards; the
    # report of 2027 does not count.
    assert [(i.kind, i.shown, i.reports) for i in stats.identifiers] == [
        ("phone", "+6281100000001", 2),
        ("handle", "@kerja.malaysia", 1),
    ]


async def test_a_period_between_two_days(database_url: str) -> None:
    await hand_made().store(database_url)
    period = Period.between(date(2026, 2, 1), date(2026, 2, 28), JAKARTA)
    stats = await statistics_of(database_url, period)
    assert stats.total == 2
    assert stats.per_month == [(date(2026, 2, 1), 2)]
    assert stats.closed == 2


async def test_an_empty_year(database_url: str) -> None:
    stats = await statistics_of(database_url, Period.year(2030, JAKARTA))
    assert stats.total == 0
    assert stats.to_acknowledge == Timing(0, None, None)
    assert [t.share_within for t in stats.targets] == [None, None, None]
    assert stats.identifiers == []


def test_percentiles() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([float(n) for n in range(1, 11)], 0.9) == pytest.approx(9.1)


def test_small_counts_are_suppressed() -> None:
    assert [suppress(n) for n in (0, 1, 4, 5, 120)] == ["<5", "<5", "<5", "5", "120"]
    # One suppressed cell alone could be worked out from the total: the next smallest goes.
    assert published([10, 3, 7, 20]) == ["10", "<5", "5+", "20"]
    assert published([10, 3, 2]) == ["10", "<5", "<5"]
    assert published([12, 30]) == ["12", "30"]
    assert published([1]) == ["<5"]


def test_charts_render_without_a_display() -> None:
    stats = Statistics(Period.year(2026, JAKARTA))
    stats.total = 9
    stats.per_month = [(date(2026, m, 1), m % 3) for m in range(1, 13)]
    stats.by_area = {"Bintan Utara": 6, "Tambelan": 3}
    svg = chart_svg(stats, "per_month", "id")
    assert "<svg" in svg and "Laporan per bulan" in svg  # the title, in the language
    assert "Januari 2026" in svg and "Laporan" in svg  # the bars' months, the count's axis
    english = chart_svg(stats, "per_month", "en", title="Reports in 2026")
    assert "Reports in 2026" in english and "January 2026" in english
    assert set(charts_svg(stats, "en")) == set(CHARTS)
    published_svg = chart_svg(stats, "by_area", "id", suppressed=True)
    assert "&lt;5" in published_svg
    assert chart_png(stats, "by_area", "en").startswith(b"\x89PNG")


def test_a_published_chart_hides_what_its_table_hides() -> None:
    """The count shown as "5+" in the table (the one that would give the "<5" away by
    subtraction from the total) is not printed on its bar either."""
    stats = Statistics(Period.year(2026, JAKARTA))
    stats.total = 130
    stats.by_area = {"Bintan Utara": 69, "Toapaya": 59, "Tambelan": 2}
    svg = chart_svg(stats, "by_area", "en", suppressed=True)
    # matplotlib draws each text as glyphs after a comment holding it
    assert "<!-- &lt;5 -->" in svg and "<!-- 5+ -->" in svg and "<!-- 69 -->" in svg
    assert "<!-- 59 -->" not in svg
    assert "<!-- 59 -->" in chart_svg(stats, "by_area", "en")  # an internal chart shows it
