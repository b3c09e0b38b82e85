"""The task force's statistics for a period: reports per month and by area, destination, kind
of offer, channel and priority; the time from submission to the first alert and to the
acknowledgement (median, p90) against the configured targets; outcomes, referrals, and the
recruiters' identifiers most often named (confirmed marks only). `gather` computes them,
`published` gives the table cells with small counts suppressed, `named` the bars of one figure
with their labels in a language, and `chart_svg` / `chart_png` draw them (matplotlib, Agg: no
display needed), titled and labelled in that language.

The dashboard calls `gather(session, Period.year(2026, zone), targets)` (or `Period.between`)
and renders `Statistics` as tables (bot/evaluation.py `sections`) and charts
(`charts_svg(stats, language)`)."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import labels
from handlers.i18n import N_, gettext
from storage import intel
from storage import statistics as queries
from storage.models import (
    AgencyKind,
    Channel,
    OfferKind,
    Outcome,
    Priority,
    ReferralState,
    Report,
    Verdict,
)

# Counts under this are published as "<5" (see `published`).
SUPPRESS_BELOW = 5
SUPPRESSED = f"<{SUPPRESS_BELOW}"


@dataclass(frozen=True)
class Period:
    """Report creation times [start, end) in UTC, and the local month starts within them."""

    start: datetime
    end: datetime
    zone: ZoneInfo

    @classmethod
    def between(cls, first: date, last: date, zone: ZoneInfo) -> Period:
        """From the start of `first` to the end of `last`, local days."""
        start = datetime(first.year, first.month, first.day, tzinfo=zone)
        after = last + timedelta(days=1)
        end = datetime(after.year, after.month, after.day, tzinfo=zone)
        return cls(start.astimezone(UTC), end.astimezone(UTC), zone)

    @classmethod
    def year(cls, year: int, zone: ZoneInfo) -> Period:
        return cls.between(date(year, 1, 1), date(year, 12, 31), zone)

    def months(self) -> list[tuple[date, datetime]]:
        """(first day, its start in UTC) of every local month the period touches; the first
        starts at the period's start."""
        local = self.start.astimezone(self.zone)
        month = date(local.year, local.month, 1)
        found = [(month, self.start)]
        while True:
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            begins = datetime(month.year, month.month, 1, tzinfo=self.zone).astimezone(UTC)
            if begins >= self.end:
                return found
            found.append((month, begins))


@dataclass(frozen=True)
class Timing:
    """Minutes from submission to an event, over the reports that had it."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Target:
    """Acknowledgements of one priority against its target ([escalation] ack_timeout_minutes):
    the reports of that priority, how many were acknowledged, and within the target."""

    priority: Priority
    target_minutes: float
    reports: int
    acknowledged: int
    within: int
    median: float | None
    p90: float | None

    @property
    def share_within(self) -> float | None:
        """Acknowledged within the target, of the reports of this priority."""
        return self.within / self.reports if self.reports else None


@dataclass(frozen=True)
class RecurringIdentifier:
    """A recruiter's identifier whose latest confirmed verdict is dangerous, and how many
    reports of the period named it."""

    kind: str
    shown: str
    reports: int


@dataclass
class Statistics:
    period: Period
    total: int = 0
    per_month: list[tuple[date, int]] = field(default_factory=list)
    by_area: dict[str, int] = field(default_factory=dict)  # "" for reports without an area
    by_destination: dict[str, int] = field(default_factory=dict)
    by_offer: dict[OfferKind, int] = field(default_factory=dict)
    by_channel: dict[Channel, int] = field(default_factory=dict)
    by_priority: dict[Priority, int] = field(default_factory=dict)
    to_alert: Timing = Timing(0, None, None)
    to_acknowledge: Timing = Timing(0, None, None)
    targets: list[Target] = field(default_factory=list)
    closed: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=dict)
    referrals: dict[tuple[AgencyKind, ReferralState], int] = field(default_factory=dict)
    identifiers: list[RecurringIdentifier] = field(default_factory=list)

    def referrals_by_kind(self) -> dict[AgencyKind, int]:
        totals: dict[AgencyKind, int] = {}
        for (kind, _), n in self.referrals.items():
            totals[kind] = totals.get(kind, 0) + n
        return totals

    def referrals_by_state(self) -> dict[ReferralState, int]:
        totals: dict[ReferralState, int] = {}
        for (_, state), n in self.referrals.items():
            totals[state] = totals.get(state, 0) + n
        return totals


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..1) by linear interpolation between closest ranks; None for no
    values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _timing(minutes: Sequence[float]) -> Timing:
    return Timing(len(minutes), percentile(minutes, 0.5), percentile(minutes, 0.9))


def _ordered(counts: Mapping[object, int]) -> dict[object, int]:
    """Largest first, then by name."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))


async def gather(
    session: AsyncSession,
    period: Period,
    ack_targets: Mapping[Priority, float],
    *,
    top: int = 10,
) -> Statistics:
    """Every figure of the period. `ack_targets`: minutes per priority (the configured
    [escalation] ack_timeout_minutes). A handful of grouped queries whatever the number of
    reports; the timings read at most three rows a report."""
    start, end = period.start, period.end
    stats = Statistics(period)
    stats.total = await queries.total(session, start, end)
    months = period.months()
    counts = await queries.per_bucket(session, start, end, [b for _, b in months])
    stats.per_month = [(first, counts.get(i, 0)) for i, (first, _) in enumerate(months)]
    areas = await queries.grouped(session, start, end, col(Report.area))
    stats.by_area = _ordered({a or "": n for a, n in areas.items()})  # type: ignore[assignment]
    destinations = await queries.grouped(session, start, end, col(Report.destination))
    stats.by_destination = _ordered(destinations)  # type: ignore[assignment]
    offers = await queries.grouped(session, start, end, col(Report.offer_kind))
    stats.by_offer = _ordered(offers)  # type: ignore[assignment]
    channels = await queries.grouped(session, start, end, col(Report.channel))
    stats.by_channel = _ordered(channels)  # type: ignore[assignment]
    priorities = await queries.grouped(session, start, end, col(Report.priority))
    stats.by_priority = {p: priorities[p] for p in Priority if p in priorities}

    # The timeline: each report's first submitted, alerted and acknowledged event.
    to_alert: list[float] = []
    to_ack: dict[Priority, list[float]] = {p: [] for p in Priority}
    for priority, submitted, alerted, acknowledged in await queries.first_events(
        session, start, end
    ):
        if submitted is None:
            continue
        if alerted is not None:
            to_alert.append(_minutes(alerted - submitted))
        if acknowledged is not None:
            to_ack[priority].append(_minutes(acknowledged - submitted))
    stats.to_alert = _timing(to_alert)
    stats.to_acknowledge = _timing([m for ms in to_ack.values() for m in ms])
    for priority in Priority:
        target = float(ack_targets[priority])
        acked = to_ack[priority]
        stats.targets.append(
            Target(
                priority,
                target,
                reports=stats.by_priority.get(priority, 0),
                acknowledged=len(acked),
                within=sum(1 for m in acked if m <= target),
                median=percentile(acked, 0.5),
                p90=percentile(acked, 0.9),
            )
        )

    outcomes = await queries.outcomes(session, start, end)
    stats.closed = sum(outcomes.values())
    stats.outcomes = _ordered({o: n for o, n in outcomes.items() if o is not None})  # type: ignore[assignment]
    stats.referrals = await queries.referrals(session, start, end)
    stats.identifiers = await _recurring(session, start, end, top)
    return stats


def _minutes(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds() / 60)


async def _recurring(
    session: AsyncSession, start: datetime, end: datetime, top: int
) -> list[RecurringIdentifier]:
    """The identifiers whose latest confirmed mark says dangerous, most named first. An
    unconfirmed mark counts for nothing, and a confirmed clearing after a confirmed
    dangerous mark takes the identifier off the list."""
    latest: dict[int, Verdict] = {}
    for mark in await queries.confirmed_marks(session):
        latest[mark.identifier_id] = mark.verdict
    dangerous = [i for i, v in latest.items() if v == Verdict.DANGEROUS]
    named = await queries.reports_naming(session, start, end, dangerous)
    found: list[RecurringIdentifier] = []
    for identifier_id, n in sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        identifier = await intel.by_id(session, identifier_id)
        if identifier is not None:
            found.append(RecurringIdentifier(str(identifier.kind), identifier.shown, n))
    return found


# Publishing: small counts suppressed.


def suppress(count: int) -> str:
    """A published count: "<5" for 0 to 4, else the number."""
    return SUPPRESSED if count < SUPPRESS_BELOW else str(count)


def published(counts: Sequence[int]) -> list[str]:
    """The cells of one published table (with its total shown, or the total known from
    elsewhere): every count under 5 is "<5" (primary suppression), and when exactly one cell
    is suppressed the next smallest is shown as "5+" (complementary suppression), so that no
    suppressed count can be worked out by subtracting the others from the total. Zero
    counts are suppressed like any other under 5; rows a table leaves out (no report at all)
    are not shown."""
    cells = [suppress(n) for n in counts]
    hidden = [i for i, n in enumerate(counts) if n < SUPPRESS_BELOW]
    if len(hidden) == 1:
        shown = [i for i, n in enumerate(counts) if n >= SUPPRESS_BELOW]
        if shown:
            smallest = min(shown, key=lambda i: (counts[i], i))
            cells[smallest] = f"{SUPPRESS_BELOW}+"
    return cells


# Charts (matplotlib with the Agg backend: rendered on the server, no display).

# Every chart, with its title (the heading of its section in the evaluation).
TITLES = {
    "per_month": N_("Reports per month"),
    "by_area": N_("By area"),
    "by_destination": N_("By destination"),
    "by_offer": N_("By kind of offer"),
    "by_channel": N_("By channel"),
    "outcomes": N_("Outcomes of closed cases"),
}
CHARTS = tuple(TITLES)
# How the values of each figure are named (the rest are shown as stored: areas, countries).
_LABELS: dict[str, Mapping[object, str]] = {
    "by_destination": labels.DESTINATION,  # type: ignore[dict-item]
    "by_offer": labels.OFFER,  # type: ignore[dict-item]
    "outcomes": labels.OUTCOME,  # type: ignore[dict-item]
}
COUNT_AXIS = N_("Reports")
NOT_GIVEN = N_("(not given)")


def named(stats: Statistics, name: str, language: str) -> list[tuple[str, int]]:
    """The (label, count) rows of one figure of CHARTS, named in the language: months by
    their names, stored values by their labels, an empty area as not given."""
    t = gettext(language)
    if name == "per_month":
        return [(format_date(m, "MMMM yyyy", locale=language), n) for m, n in stats.per_month]
    values: Mapping[object, int] = getattr(stats, name)
    table = _LABELS.get(name, {})
    return [(t(table[k]) if k in table else _name(k, t), n) for k, n in values.items()]


def _name(value: object, t: Callable[[str], str]) -> str:
    if isinstance(value, Channel):
        return value.value.capitalize()
    if isinstance(value, StrEnum):
        return value.value
    return str(value) if value else t(NOT_GIVEN)


def _figure(
    bars: Sequence[tuple[str, int]],
    title: str,
    axis: str,
    *,
    suppressed: bool,
    horizontal: bool,
) -> object:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.2 if not horizontal else max(2.0, 0.35 * len(bars) + 1)))
    axes = figure.subplots()
    labels = [label for label, _ in bars]
    counts = [n for _, n in bars]
    # A published chart shows what its table shows: a suppressed count ("<5") is a bar at
    # zero, and the count hidden with it ("5+") a hatched bar rounded down to a multiple of
    # ten, so that neither can be read off the axis and worked out from the total.
    texts = published(counts) if suppressed else [str(n) for n in counts]
    plus = f"{SUPPRESS_BELOW}+"
    heights = [
        0 if text == SUPPRESSED else max(SUPPRESS_BELOW, n // 10 * 10) if text == plus else n
        for n, text in zip(counts, texts, strict=True)
    ]
    if horizontal:
        positions = list(range(len(bars)))[::-1]
        drawn = axes.barh(positions, heights, color="#3b6ea5")
        axes.set_yticks(positions, labels, fontsize=8)
        axes.set_xlabel(axis, fontsize=8)
    else:
        drawn = axes.bar(range(len(bars)), heights, color="#3b6ea5")
        axes.set_xticks(range(len(bars)), labels, fontsize=8, rotation=45, ha="right")
        axes.set_ylabel(axis, fontsize=8)
    for bar, text in zip(drawn, texts, strict=True):
        if text == plus:
            bar.set_hatch("///")
            bar.set_facecolor("#c8d6e5")
    axes.bar_label(drawn, texts, fontsize=7, padding=2)
    axes.set_title(title, fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


def _render(
    stats: Statistics, name: str, language: str, fmt: str, title: str | None, suppressed: bool
) -> bytes:
    t = gettext(language)
    figure = _figure(
        named(stats, name, language),
        title if title is not None else t(TITLES[name]),
        t(COUNT_AXIS),
        suppressed=suppressed,
        horizontal=name != "per_month",
    )
    out = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(out, format=fmt, dpi=150, metadata=metadata)  # type: ignore[attr-defined]
    return out.getvalue()


def chart_svg(
    stats: Statistics,
    name: str,
    language: str,
    *,
    title: str | None = None,
    suppressed: bool = False,
) -> str:
    """One chart (a name from CHARTS) as SVG text to inline in a page, in the language (its
    title: TITLES unless given). `suppressed`: counts under 5 drawn at zero and labelled "<5"
    (for anything published)."""
    return _render(stats, name, language, "svg", title, suppressed).decode("utf-8")


def chart_png(
    stats: Statistics,
    name: str,
    language: str,
    *,
    title: str | None = None,
    suppressed: bool = False,
) -> bytes:
    """One chart as PNG (150 dpi), for the PDF."""
    return _render(stats, name, language, "png", title, suppressed)


def charts_svg(stats: Statistics, language: str, *, suppressed: bool = False) -> dict[str, str]:
    """Every chart of CHARTS as SVG text, by name."""
    return {name: chart_svg(stats, name, language, suppressed=suppressed) for name in CHARTS}
