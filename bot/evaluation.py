"""The yearly evaluation (`sigap evaluate`): the statistics of a year as a document for the task
force's yearly meeting, PDF (A4, reportlab, charts as PNG) or self-contained HTML (charts inline
as SVG), in one language of the catalogs (`--lang`, else `[bot] default_language`). Every
count under 5 is published as "<5" (see handlers/statistics.py `published` for the rule,
complementary suppression included)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape as html_escape
from xml.sax.saxutils import escape

from bot.app import App
from handlers import labels
from handlers import statistics as stats_module
from handlers.i18n import N_, gettext
from handlers.statistics import Period, Statistics, gather, published, suppress
from storage.models import Priority

TITLE = N_("Yearly case evaluation {year}")
RULE = N_(
    'Counts under 5 are shown as "<5". When only one count of a table is suppressed, the next '
    'smallest is shown as "5+", so that the suppressed one cannot be worked out from the total. '
    "Medians and p90s are shown for 5 reports or more only."
)


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    heading: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    chart: str | None = None  # a name from handlers.statistics.CHARTS


def sections(stats: Statistics, language: str) -> list[Section]:
    """The document's sections, the same for PDF, HTML and the statistics page."""
    t = gettext(language)

    def minutes(value: float | None, count: int) -> str:
        if value is None or count < stats_module.SUPPRESS_BELOW:
            return "—"
        shown = f"{value:.0f}" if value >= 10 else f"{value:.1f}"
        return t("{minutes} min").format(minutes=shown)

    def counted(header: Sequence[str], rows: Sequence[tuple[str, int]]) -> Table:
        """Label and count, with a total row; counts suppressed (complementary included)."""
        cells = published([n for _, n in rows])
        body = [[label, cell] for (label, _), cell in zip(rows, cells, strict=True)]
        body.append([t("Total"), suppress(sum(n for _, n in rows))])
        return Table(list(header), body)

    def figure(name: str, header: Sequence[str] = ("", t("Reports"))) -> Section:
        """A section of a figure of handlers.statistics.CHARTS: its table and its chart."""
        rows = stats_module.named(stats, name, language)
        return Section(t(stats_module.TITLES[name]), tables=[counted(header, rows)], chart=name)

    reports = t("Reports")
    start = stats.period.start.astimezone(stats.period.zone).date()
    last = (stats.period.end.astimezone(stats.period.zone) - timedelta(seconds=1)).date()
    summary = Table(
        ["", ""],
        [
            [t("Period"), f"{start.isoformat()} – {last.isoformat()}"],
            [t("Reports received"), suppress(stats.total)],
            [t("Cases closed"), suppress(stats.closed)],
            [t("Referrals"), suppress(sum(stats.referrals.values()))],
            [
                t("Median to the first alert"),
                minutes(stats.to_alert.median, stats.to_alert.count),
            ],
            [
                t("Median to acknowledgement"),
                minutes(stats.to_acknowledge.median, stats.to_acknowledge.count),
            ],
        ],
    )
    found = [Section(t("Summary"), tables=[summary])]
    found.append(figure("per_month", (t("Month"), reports)))
    found += [figure(name) for name in ("by_area", "by_destination", "by_offer", "by_channel")]
    priorities = [(t(labels.PRIORITY[p]), n) for p, n in stats.by_priority.items()]
    found.append(Section(t("By priority"), tables=[counted(("", reports), priorities)]))
    timing = Table(
        ["", reports, t("Median"), "p90"],
        [
            [
                t("Submitted → first alert"),
                suppress(stats.to_alert.count),
                minutes(stats.to_alert.median, stats.to_alert.count),
                minutes(stats.to_alert.p90, stats.to_alert.count),
            ],
            [
                t("Submitted → acknowledged"),
                suppress(stats.to_acknowledge.count),
                minutes(stats.to_acknowledge.median, stats.to_acknowledge.count),
                minutes(stats.to_acknowledge.p90, stats.to_acknowledge.count),
            ],
        ],
    )
    found.append(Section(t("Response times"), tables=[timing]))
    targets = Table(
        [
            t("Priority"),
            t("Target"),
            reports,
            t("Acknowledged"),
            t("Within target"),
            t("% within target"),
            t("Median"),
            "p90",
        ],
        [
            [
                t(labels.PRIORITY[target.priority]),
                t("{minutes} min").format(minutes=f"{target.target_minutes:g}"),
                suppress(target.reports),
                suppress(target.acknowledged),
                suppress(target.within),
                (
                    f"{100 * target.share_within:.0f}%"
                    if target.share_within is not None
                    and target.within >= stats_module.SUPPRESS_BELOW
                    and target.reports >= stats_module.SUPPRESS_BELOW
                    else "—"
                ),
                minutes(target.median, target.acknowledged),
                minutes(target.p90, target.acknowledged),
            ]
            for target in stats.targets
        ],
    )
    found.append(
        Section(
            t("Against the escalation targets"),
            intro=t(
                "The targets are [escalation] ack_timeout_minutes in the configuration. The "
                "share within the target is of all reports of that priority."
            ),
            tables=[targets],
        )
    )
    found.append(figure("outcomes", (t("Outcome"), t("Cases"))))
    by_kind = [(t(labels.AGENCY_KIND[k]), n) for k, n in stats.referrals_by_kind().items()]
    by_state = [(t(labels.REFERRAL_STATE[s]), n) for s, n in stats.referrals_by_state().items()]
    found.append(
        Section(
            t("Referrals to partner agencies"),
            tables=[
                counted((t("Kind of agency"), t("Referrals")), by_kind),
                counted((t("State"), t("Referrals")), by_state),
            ],
        )
    )
    identifiers = Table(
        [t("Kind"), t("Identifier"), reports],
        [[i.kind, i.shown, suppress(i.reports)] for i in stats.identifiers],
    )
    only_confirmed = t("Only those a coordinator confirmed as dangerous.")
    found.append(
        Section(
            t("Recurring recruiter identifiers"),
            intro=only_confirmed + ("" if stats.identifiers else " " + t("None.")),
            tables=[identifiers] if stats.identifiers else [],
        )
    )
    found.append(Section(t("Notes"), intro=t(RULE)))
    return found


def _title(stats: Statistics, language: str) -> str:
    year = stats.period.start.astimezone(stats.period.zone).year
    return gettext(language)(TITLE).format(year=year)


def render_pdf(stats: Statistics, language: str) -> bytes:
    """A4, the charts as PNG images."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import Table as PdfTable

    from handlers import pdf_type

    styles = pdf_type.styles()  # recruiters' names in any script DejaVu has
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    width = A4[0] - 36 * mm
    title = _title(stats, language)
    story: list[object] = [Paragraph(escape(title), styles["Title"])]
    for section in sections(stats, language):
        parts: list[object] = [Paragraph(escape(section.heading), styles["Heading2"])]
        if section.intro:
            parts.append(Paragraph(escape(section.intro), small))
        story.append(KeepTogether(parts))
        for table in section.tables:
            rows = [[Paragraph(escape(c), small) for c in table.header]]
            rows += [[Paragraph(escape(c), small) for c in row] for row in table.rows]
            columns = len(table.header)
            widths = [width * 0.7, width * 0.3] if columns == 2 else [width / columns] * columns
            pdf_table = PdfTable(rows, colWidths=widths, repeatRows=1)
            pdf_table.setStyle(
                TableStyle(
                    [
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story += [pdf_table, Spacer(1, 3 * mm)]
        if section.chart and stats.total:
            png = stats_module.chart_png(stats, section.chart, language, suppressed=True)
            image = Image(io.BytesIO(png))
            scale = min(1.0, width / image.drawWidth)
            image.drawWidth *= scale * 0.9
            image.drawHeight *= scale * 0.9
            story += [image, Spacer(1, 3 * mm)]
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=title,
        author="Sigap",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    document.build(story)
    return out.getvalue()


STYLE = """
body { font-family: sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
h1 small, h2 small { color: #777; font-weight: normal; font-size: 60%; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2rem 0.6rem; text-align: left; }
th { background: #e8eef5; }
figure { margin: 0 0 1.5rem; }
figure svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; } h2 { break-after: avoid; } }
"""


def _inline(svg: str) -> str:
    """An SVG document as an element to put in a page (without its XML prolog)."""
    return svg[svg.index("<svg") :]


def render_html(stats: Statistics, language: str) -> str:
    """One self-contained page: no external file, the charts inline as SVG."""
    e = html_escape
    title = _title(stats, language)
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{e(language)}"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for section in sections(stats, language):
        out.append(f"<section><h2>{e(section.heading)}</h2>")
        if section.intro:
            out.append(f"<p>{e(section.intro)}</p>")
        for table in section.tables:
            out.append("<table><thead><tr>")
            out += [f"<th>{e(c)}</th>" for c in table.header]
            out.append("</tr></thead><tbody>")
            for row in table.rows:
                out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
            out.append("</tbody></table>")
        if section.chart and stats.total:
            svg = stats_module.chart_svg(stats, section.chart, language, suppressed=True)
            out.append(f"<figure>{_inline(svg)}</figure>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


async def evaluation(
    app: App, year: int, fmt: str, language: str | None = None, *, top: int = 10
) -> bytes:
    """The evaluation of `year` (local time of [bot] timezone) as a PDF or HTML file, in the
    language (default: [bot] default_language)."""
    period = Period.year(year, app.services.bot.zone)
    targets = app.services.escalation.ack_timeout_minutes
    per_priority = {p: float(getattr(targets, p.value)) for p in Priority}
    async with app.db.read() as session:
        stats = await gather(session, period, per_priority, top=top)
    language = language or app.services.bot.default_language
    if fmt == "html":
        return render_html(stats, language).encode("utf-8")
    return render_pdf(stats, language)


def default_name(year: int, fmt: str) -> str:
    return f"evaluasi-{year}.{fmt}"
