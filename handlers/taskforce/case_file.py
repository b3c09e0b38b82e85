"""The case file sent to a partner agency: a PDF with the report's summary, warning signs,
the recruiter's identifiers, the timeline and the evidence (thumbnails of images, every
file's SHA-256), and the reporter's contact only where the referral may name them.

`gather` collects and words it (in the bot's default language) in the caller's transaction;
`render` lays it out, with no database, so it can run in a thread and be measured alone."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from babel.dates import format_datetime
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from handlers import labels, pdf_type
from handlers.conversation.turn import Services, Work
from handlers.i18n import N_, Gettext, gettext
from handlers.taskforce.alert_texts import map_link, where
from storage import reports
from storage.models import Destination, EventKind, RedFlag, Referral, Report, ReportEvent

IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
THUMBNAIL = 240  # pixels, the longer side of an evidence image in the case file
THUMBNAIL_WIDTH = 40 * mm


@dataclass(frozen=True)
class Evidence:
    name: str
    content_type: str
    size: int
    sha256: str
    image: bytes | None  # an image's content, shown as a thumbnail


@dataclass(frozen=True)
class CaseFile:
    """What the PDF says, already worded: headings and lines, the timeline, the evidence."""

    title: str
    subtitle: str
    sections: Sequence[tuple[str, Sequence[str]]]
    timeline_heading: str
    timeline: Sequence[tuple[str, str, str]]  # time, what, who
    evidence_heading: str
    evidence: Sequence[Evidence] = field(default_factory=list)
    no_evidence: str = ""
    footer: str = ""


EVENTS = {
    EventKind.SUBMITTED: N_("Report received"),
    EventKind.ADDITION: N_("Information added by the reporter"),
    EventKind.STATE_CHANGED: N_("State changed"),
    EventKind.ALERTED: N_("Task force alerted"),
    EventKind.FOLLOWED_UP: N_("Follow-up sent"),
    EventKind.ACKNOWLEDGED: N_("Acknowledged"),
    EventKind.REFUSED: N_("Action refused"),
    EventKind.UNREACHABLE: N_("A member could not be reached"),
    EventKind.REFERRED: N_("Referred to {agency}"),
    EventKind.REFERRAL_CHANGED: N_("Referral to {agency}: {state}"),
}


def event_line(_: Gettext, event: ReportEvent) -> str:
    """What happened, without the event's details: they may name people (a reporter's
    number never is in them, but a case file carries no more than it needs)."""
    detail = event.detail or {}
    to = str(detail.get("to", ""))
    names = {state.value: name for state, name in labels.REFERRAL_STATE.items()}
    state = _(names[to]) if to in names else to
    return _(EVENTS.get(event.kind, event.kind.value)).format(
        agency=detail.get("agency", ""), state=state
    )


async def gather(
    work: Work, report: Report, referral: Referral, *, identity: str | None, note: str
) -> CaseFile:
    """The case file of `report` for `referral`. `identity` is the reporter's contact when the
    referral may name them (None: it is left out, and `note` says why)."""
    assert report.id is not None
    session, services = work.session, work.services
    language = services.bot.default_language
    _ = gettext(language)
    zone = services.bot.zone

    def when(moment: datetime) -> str:
        return format_datetime(moment.astimezone(zone), "yyyy-MM-dd HH:mm", locale=language)

    destination = report.destination
    if destination in (Destination.OTHER, Destination.UNKNOWN):
        destination = _(labels.DESTINATION[Destination(destination)])
    area = services.intake.shown(report.area, language, language) if report.area else None
    summary = [
        _(N_("Reference: {reference}")).format(reference=report.reference),
        _(N_("Sent: {time}")).format(time=when(report.created_at)),
        _(N_("Priority: {priority}")).format(priority=_(labels.PRIORITY[report.priority])),
        _(N_("Urgency: {urgency}")).format(urgency=_(labels.URGENCY[report.urgency])),
        _(N_("Offer: {offer}")).format(offer=_(labels.OFFER[report.offer_kind])),
        _(N_("Destination: {destination}")).format(destination=destination),
        _(N_("Area: {area}")).format(area=area or where(report)),
        _(N_("Who is affected: {who}")).format(who=_(labels.AFFECTED[report.affected])),
        _(N_("Child involved: {child}")).format(child=_(labels.CHILD[report.child_involved])),
        _(N_("How the offer came: {how}")).format(how=_(labels.SOURCE[report.offer_source])),
    ]
    link = map_link(report)
    if link:
        summary.append(_(N_("Location: {link}")).format(link=link))
    flags = [_(labels.RED_FLAGS[RedFlag(f)]) for f in report.red_flags] or [_(N_("None named."))]
    phones = await reports.recruiter_phones(session, report.id)
    recruiter = [_(N_("Phone: {phone}")).format(phone=p) for p in phones]
    if report.recruiter_name:
        recruiter.append(_(N_("Name: {name}")).format(name=report.recruiter_name))
    if report.recruiter_agency:
        recruiter.append(_(N_("Agency: {agency}")).format(agency=report.recruiter_agency))
    if report.recruiter_link:
        recruiter.append(_(N_("Links and accounts: {links}")).format(links=report.recruiter_link))
    recruiter = recruiter or [_(N_("Nothing named."))]
    story = [report.story]
    for addition in await reports.additions_of(session, report.id):
        if addition.text:
            story.append(
                _(N_("Added on {time}: {text}")).format(
                    time=when(addition.created_at), text=addition.text
                )
            )
    reporter = [identity] if identity is not None else []
    reporter.append(note)
    timeline = [
        (when(e.at), event_line(_, e), e.actor) for e in await reports.timeline(session, report.id)
    ]
    evidence = [
        Evidence(
            name=m.original_name or m.sha256[:12],
            content_type=m.content_type,
            size=m.size,
            sha256=m.sha256,
            image=await _image(services, m.sha256) if m.content_type in IMAGES else None,
        )
        for m in await reports.media_of(session, report.id)
    ]
    kind = _(labels.AGENCY_KIND[referral.agency_kind])
    return CaseFile(
        title=_(N_("Case file {reference}")).format(reference=report.reference),
        subtitle=_(
            N_("Referred by the anti-trafficking task force to {agency} ({kind}) on {time}.")
        ).format(agency=referral.agency, kind=kind, time=when(referral.created_at)),
        sections=[
            (_(N_("Summary")), summary),
            (_(N_("Warning signs")), flags),
            (_(N_("The recruiter")), recruiter),
            (_(N_("What happened")), story),
            (_(N_("The reporter")), reporter),
        ],
        timeline_heading=_(N_("Timeline")),
        timeline=timeline,
        evidence_heading=_(N_("Evidence")),
        evidence=evidence,
        no_evidence=_(N_("No files.")),
        footer=_(
            N_(
                "Confidential: for the handling of this case only. Do not pass it on, and "
                "never contact the reporter except as this file allows."
            )
        ),
    )


async def _image(services: Services, sha256: str) -> bytes | None:
    try:
        return await services.media.read(sha256)
    except OSError:
        return None


def thumbnail(content: bytes) -> Image | None:
    """The image scaled down to THUMBNAIL pixels, as JPEG; None if it cannot be read."""
    try:
        with PILImage.open(io.BytesIO(content)) as image:
            image.thumbnail((THUMBNAIL, THUMBNAIL))
            small = image.convert("RGB")
            data = io.BytesIO()
            small.save(data, "JPEG", quality=80)
            width, height = small.size
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None
    data.seek(0)
    scale = THUMBNAIL_WIDTH / max(width, height)
    return Image(data, width=width * scale, height=height * scale)


def text(value: str) -> str:
    """What people wrote, as reportlab's markup shows it literally, lines kept."""
    return escape(value).replace("\n", "<br/>")


def render(case: CaseFile) -> bytes:
    """The case file as a PDF."""
    styles = pdf_type.styles()
    body = styles["BodyText"]
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    digest = ParagraphStyle("digest", parent=small, fontName=pdf_type.MONO, fontSize=7)
    story: list[object] = [
        Paragraph(text(case.title), styles["Title"]),
        Paragraph(text(case.subtitle), body),
        Spacer(1, 4 * mm),
    ]
    for heading, lines in case.sections:
        story.append(Paragraph(text(heading), styles["Heading2"]))
        story += [Paragraph(text(line), body) for line in lines]
    story.append(Paragraph(text(case.timeline_heading), styles["Heading2"]))
    rows = [[Paragraph(text(c), small) for c in row] for row in case.timeline]
    if rows:
        table = Table(rows, colWidths=[30 * mm, 90 * mm, 50 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ]
            )
        )
        story.append(table)
    story.append(Paragraph(text(case.evidence_heading), styles["Heading2"]))
    if not case.evidence:
        story.append(Paragraph(text(case.no_evidence), body))
    for item in case.evidence:
        picture = thumbnail(item.image) if item.image is not None else None
        described = [
            Paragraph(text(f"{item.name} ({item.content_type}, {item.size:,} B)"), small),
            Paragraph(f"SHA-256: {item.sha256}", digest),
        ]
        table = Table([[picture or "", described]], colWidths=[THUMBNAIL_WIDTH + 4 * mm, 126 * mm])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [table, Spacer(1, 2 * mm)]
    story += [Spacer(1, 6 * mm), Paragraph(text(case.footer), small)]
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=case.title,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    document.build(story)
    return out.getvalue()
