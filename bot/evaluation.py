"""The yearly evaluation (`sigap evaluate`): the statistics of a year as a document for the task
force's yearly meeting, PDF (A4, reportlab, charts as PNG) or self-contained HTML (charts inline
as SVG). Headings in Indonesian with the English in smaller type; values named in the bot's
default language (its catalog). Every count under 5 is published as "<5" (see
handlers/statistics.py `published` for the rule, complementary suppression included)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape as html_escape
from xml.sax.saxutils import escape

from babel.dates import format_date

from bot.app import App
from handlers import labels
from handlers import statistics as stats_module
from handlers.i18n import gettext
from handlers.statistics import Period, Statistics, gather, published, suppress
from storage.models import Priority

TITLE = ("Evaluasi Kasus Tahunan", "Yearly case evaluation")
RULE = (
    'Angka di bawah 5 ditulis "<5". Bila dalam satu tabel hanya satu angka yang disamarkan, '
    'angka terkecil berikutnya ditulis "5+", agar angka yang disamarkan tidak dapat dihitung dari '
    "jumlahnya. Median dan p90 hanya ditampilkan untuk 5 laporan atau lebih.",
    'Counts under 5 are shown as "<5". When only one count of a table is suppressed, the next '
    'smallest is shown as "5+", so that the suppressed one cannot be worked out from the total. '
    "Medians and p90s are shown for 5 reports or more only.",
)


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    heading: tuple[str, str]  # Indonesian, English
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    chart: str | None = None  # a name from handlers.statistics.CHARTS


def _minutes(value: float | None, count: int) -> str:
    if value is None or count < stats_module.SUPPRESS_BELOW:
        return "—"
    return f"{value:.0f} min" if value >= 10 else f"{value:.1f} min"


def _count_table(header: Sequence[str], rows: Sequence[tuple[str, int]]) -> Table:
    """Label and count, with a total row; counts suppressed (complementary included)."""
    cells = published([n for _, n in rows])
    body = [[label, cell] for (label, _), cell in zip(rows, cells, strict=True)]
    body.append(["Jumlah / Total", suppress(sum(n for _, n in rows))])
    return Table(list(header), body)


def sections(stats: Statistics, language: str) -> list[Section]:
    """The document's sections, the same for PDF and HTML."""
    t = gettext(language)

    def named(table: dict[object, str]) -> Callable[[object], str]:
        return lambda value: t(table[value]) if value in table else str(value)

    destination = named(labels.DESTINATION)  # type: ignore[arg-type]
    count_header = ["", "Laporan / Reports"]
    found: list[Section] = []
    start = stats.period.start.astimezone(stats.period.zone).date()
    last = (stats.period.end.astimezone(stats.period.zone) - timedelta(seconds=1)).date()
    summary = Table(
        ["", ""],
        [
            ["Periode / Period", f"{start.isoformat()} – {last.isoformat()}"],
            ["Laporan masuk / Reports received", suppress(stats.total)],
            ["Kasus ditutup / Cases closed", suppress(stats.closed)],
            ["Rujukan / Referrals", suppress(sum(stats.referrals.values()))],
            [
                "Median ke peringatan pertama / Median to the first alert",
                _minutes(stats.to_alert.median, stats.to_alert.count),
            ],
            [
                "Median ke tanggapan / Median to acknowledgement",
                _minutes(stats.to_acknowledge.median, stats.to_acknowledge.count),
            ],
        ],
    )
    found.append(Section(("Ringkasan", "Summary"), tables=[summary]))
    months = [(format_date(m, "MMMM yyyy", locale=language), n) for m, n in stats.per_month]
    found.append(
        Section(
            ("Laporan per bulan", "Reports per month"),
            tables=[_count_table(["Bulan / Month", "Laporan / Reports"], months)],
            chart="per_month",
        )
    )
    areas = [(a or "(tidak diisi / not given)", n) for a, n in stats.by_area.items()]
    found.append(
        Section(
            ("Menurut wilayah", "By area"),
            tables=[_count_table(count_header, areas)],
            chart="by_area",
        )
    )
    destinations = [(destination(d), n) for d, n in stats.by_destination.items()]
    found.append(
        Section(
            ("Menurut negara tujuan", "By destination"),
            tables=[_count_table(count_header, destinations)],
            chart="by_destination",
        )
    )
    offers = [(t(labels.OFFER[o]), n) for o, n in stats.by_offer.items()]
    found.append(
        Section(
            ("Menurut jenis tawaran", "By kind of offer"),
            tables=[_count_table(count_header, offers)],
            chart="by_offer",
        )
    )
    channels = [(c.value.capitalize(), n) for c, n in stats.by_channel.items()]
    found.append(
        Section(
            ("Menurut saluran", "By channel"),
            tables=[_count_table(count_header, channels)],
            chart="by_channel",
        )
    )
    priorities = [(t(labels.PRIORITY[p]), n) for p, n in stats.by_priority.items()]
    found.append(
        Section(
            ("Menurut prioritas", "By priority"), tables=[_count_table(count_header, priorities)]
        )
    )
    timing = Table(
        ["", "Laporan / Reports", "Median", "p90"],
        [
            [
                "Pengiriman → peringatan pertama / Submitted → first alert",
                suppress(stats.to_alert.count),
                _minutes(stats.to_alert.median, stats.to_alert.count),
                _minutes(stats.to_alert.p90, stats.to_alert.count),
            ],
            [
                "Pengiriman → ditanggapi / Submitted → acknowledged",
                suppress(stats.to_acknowledge.count),
                _minutes(stats.to_acknowledge.median, stats.to_acknowledge.count),
                _minutes(stats.to_acknowledge.p90, stats.to_acknowledge.count),
            ],
        ],
    )
    found.append(Section(("Waktu tanggap", "Response times"), tables=[timing]))
    targets = Table(
        [
            "Prioritas / Priority",
            "Target",
            "Laporan / Reports",
            "Ditanggapi / Acknowledged",
            "Dalam target / Within target",
            "% dalam target / % within",
            "Median",
            "p90",
        ],
        [
            [
                t(labels.PRIORITY[target.priority]),
                f"{target.target_minutes:g} min",
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
                _minutes(target.median, target.acknowledged),
                _minutes(target.p90, target.acknowledged),
            ]
            for target in stats.targets
        ],
    )
    found.append(
        Section(
            ("Terhadap target eskalasi", "Against the escalation targets"),
            intro="Target: [escalation] ack_timeout_minutes. "
            "Persentase dari semua laporan prioritas itu / Share of all reports of that priority.",
            tables=[targets],
        )
    )
    outcomes = [(t(labels.OUTCOME[o]), n) for o, n in stats.outcomes.items()]
    found.append(
        Section(
            ("Hasil kasus yang ditutup", "Outcomes of closed cases"),
            tables=[_count_table(["Hasil / Outcome", "Kasus / Cases"], outcomes)],
            chart="outcomes",
        )
    )
    by_kind = [(t(labels.AGENCY_KIND[k]), n) for k, n in stats.referrals_by_kind().items()]
    by_state = [(t(labels.REFERRAL_STATE[s]), n) for s, n in stats.referrals_by_state().items()]
    found.append(
        Section(
            ("Rujukan ke lembaga mitra", "Referrals to partner agencies"),
            tables=[
                _count_table(["Jenis lembaga / Kind of agency", "Rujukan / Referrals"], by_kind),
                _count_table(["Status / State", "Rujukan / Referrals"], by_state),
            ],
        )
    )
    identifiers = Table(
        ["Jenis / Kind", "Identitas / Identifier", "Laporan / Reports"],
        [[i.kind, i.shown, suppress(i.reports)] for i in stats.identifiers],
    )
    found.append(
        Section(
            ("Identitas perekrut yang berulang", "Recurring recruiter identifiers"),
            intro="Hanya yang dikonfirmasi koordinator sebagai berbahaya / "
            "Only those a coordinator confirmed as dangerous."
            + ("" if stats.identifiers else " — tidak ada / none."),
            tables=[identifiers] if stats.identifiers else [],
        )
    )
    found.append(Section(("Catatan", "Notes"), intro=f"{RULE[0]} / {RULE[1]}"))
    return found


def _title(stats: Statistics) -> str:
    return f"{TITLE[0]} {stats.period.start.astimezone(stats.period.zone).year}"


def render_pdf(stats: Statistics, language: str) -> bytes:
    """A4, the charts as PNG images."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
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

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    width = A4[0] - 36 * mm
    story: list[object] = [
        Paragraph(escape(_title(stats)), styles["Title"]),
        Paragraph(f"<font size=10 color=grey>{escape(TITLE[1])}</font>", styles["Title"]),
    ]
    for section in sections(stats, language):
        heading = (
            f"{escape(section.heading[0])} "
            f"<font size=9 color=grey>/ {escape(section.heading[1])}</font>"
        )
        parts: list[object] = [Paragraph(heading, styles["Heading2"])]
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
            png = stats_module.chart_png(
                stats, section.chart, title=section.heading[0], suppressed=True
            )
            image = Image(io.BytesIO(png))
            scale = min(1.0, width / image.drawWidth)
            image.drawWidth *= scale * 0.9
            image.drawHeight *= scale * 0.9
            story += [image, Spacer(1, 3 * mm)]
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=_title(stats),
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
    title = _title(stats)
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{e(language)}"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)} <small>{e(TITLE[1])}</small></h1>",
    ]
    for section in sections(stats, language):
        out.append(
            f"<section><h2>{e(section.heading[0])} <small>{e(section.heading[1])}</small></h2>"
        )
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
            svg = stats_module.chart_svg(
                stats, section.chart, title=section.heading[0], suppressed=True
            )
            out.append(f"<figure>{_inline(svg)}</figure>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


async def evaluation(app: App, year: int, fmt: str, *, top: int = 10) -> bytes:
    """The evaluation of `year` (local time of [bot] timezone) as a PDF or HTML file."""
    period = Period.year(year, app.services.bot.zone)
    targets = app.services.escalation.ack_timeout_minutes
    per_priority = {p: float(getattr(targets, p.value)) for p in Priority}
    async with app.db.read() as session:
        stats = await gather(session, period, per_priority, top=top)
    language = app.services.bot.default_language
    if fmt == "html":
        return render_html(stats, language).encode("utf-8")
    return render_pdf(stats, language)


def default_name(year: int, fmt: str) -> str:
    return f"evaluasi-{year}.{fmt}"
