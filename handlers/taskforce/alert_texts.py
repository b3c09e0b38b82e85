"""What alerts say: the alert of a new report, its buttons and the words that do the same,
the headings of follow-ups, the variables of WhatsApp templates, and the full report a member
asks for. Never the identity of an anonymous reporter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_datetime
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import labels, risk
from handlers.consent import consents, contact, erased
from handlers.conversation.turn import Services, Work
from handlers.i18n import N_, Gettext, gettext, locale
from handlers.intel import indexing
from handlers.intel.indexing import Link
from storage import reports
from storage.models import (
    Destination,
    IdentifierKind,
    Media,
    RedFlag,
    Report,
)

EXCERPT = 280
EARLIER_SHOWN = 5  # the linked reports listed per identifier; the rest are counted
RISK_REASONS_SHOWN = 3


ACK, DETAIL, RELAY = "ack", "detail", "relay"


def action(kind: str, reference: str) -> str:
    """A button's value for a member action on a report, e.g. `ack:BTN-2026-00042`."""
    return f"{kind}:{reference}"


def parse_action(value: str) -> tuple[str, str] | None:
    kind, _, reference = value.partition(":")
    return (kind, reference) if kind in (ACK, DETAIL, RELAY) and reference else None


async def alert_text(
    session: AsyncSession, report: Report, services: Services, language: str | None = None
) -> str:
    """What members read first: enough to judge the report, never the reporter's identity
    (that is in the details, and only if they consented)."""
    known = await alert_facts(session, report)
    language = language or services.bot.default_language
    return compose_alert(report, known.phones, known.links, services, language)


@dataclass(frozen=True)
class Facts:
    """What an alert says besides the report itself."""

    phones: Sequence[str]
    links: Sequence[Link]  # what earlier reports share with it


async def alert_facts(session: AsyncSession, report: Report) -> Facts:
    assert report.id is not None
    phones = await reports.recruiter_phones(session, report.id)
    linked = (await indexing.links(session, [report.id], earlier_only=True))[report.id]
    return Facts(phones, linked)


def compose_alert(
    report: Report,
    phones: Sequence[str],
    links: Sequence[Link],
    services: Services,
    language: str,
) -> str:
    _ = gettext(language)
    bot, intake = services.bot, services.intake
    destination = report.destination
    if destination in (Destination.OTHER, Destination.UNKNOWN):
        destination = _(labels.DESTINATION[Destination(destination)])
    else:
        destination = intake.shown(destination, language, bot.default_language)
    area = intake.shown(report.area, language, bot.default_language) if report.area else None
    story = report.story if len(report.story) <= EXCERPT else report.story[:EXCERPT] + "…"
    sent = format_datetime(
        report.created_at.astimezone(bot.zone), "medium", locale=locale(language)
    )
    lines = [
        _(N_("New report {reference} — priority {priority}")).format(
            reference=report.reference, priority=_(labels.PRIORITY[report.priority])
        ),
        _(N_("Sent: {time}")).format(time=sent),
        _(N_("Offer: {offer}")).format(offer=_(labels.OFFER[report.offer_kind])),
        _(N_("Destination: {destination}")).format(destination=destination),
        _(N_("Area: {area}")).format(area=area or where(report)),
        _(N_("Urgency: {urgency}")).format(urgency=_(labels.URGENCY[report.urgency])),
        _(N_("Child involved: {child}")).format(child=_(labels.CHILD[report.child_involved])),
    ]
    if report.red_flags:
        flags = ", ".join(_(labels.RED_FLAGS[RedFlag(f)]) for f in report.red_flags)
        lines.append(_(N_("Warning signs: {flags}")).format(flags=flags))
    lines.append(risk_line(_, report, language))
    if phones:
        lines.append(_(N_("Recruiter numbers: {phones}")).format(phones=", ".join(phones)))
    if links:
        lines.append(linked_line(_, links))
    lines.append(_(N_("Story: {excerpt}")).format(excerpt=story))
    return "\n".join(lines)


def risk_line(_: Gettext, report: Report, language: str) -> str:
    """ "Risk: high (12) — passport held; Cambodia for an online job; travel paid": the score
    of handlers/risk.py and its heaviest reasons, computed from the report as it is now."""
    found = risk.of_report(report)
    level = _(risk.LEVEL_LABELS[found.level])
    reasons = "; ".join(r.label(language) for r in found.top(RISK_REASONS_SHOWN))
    if not reasons:
        return _(N_("Risk: {level} ({points})")).format(level=level, points=found.points)
    return _(N_("Risk: {level} ({points}) — {reasons}")).format(
        level=level, points=found.points, reasons=reasons
    )


IDENTIFIER_KIND = {
    IdentifierKind.PHONE: N_("phone"),
    IdentifierKind.ACCOUNT: N_("bank account"),
    IdentifierKind.AGENCY: N_("agency"),
    IdentifierKind.LINK: N_("link"),
    IdentifierKind.HANDLE: N_("social-media account"),
    IdentifierKind.EMAIL: N_("e-mail"),
}


def linked_line(_: Gettext, links: Sequence[Link]) -> str:
    """ "Linked reports: same phone (+62812...) as BTN-2026-00031 and BTN-2026-00012; same
    agency (PT Maju Jaya) as BTN-2026-00007" (the latest first, a few per identifier)."""
    parts = [
        _(N_("same {kind} ({value}) as {references}")).format(
            kind=_(IDENTIFIER_KIND[link.kind]), value=link.shown, references=listed(_, link)
        )
        for link in links
    ]
    return _(N_("Linked reports: {links}")).format(links="; ".join(parts))


def listed(_: Gettext, link: Link) -> str:
    shown, more = link.references[:EARLIER_SHOWN], len(link.references) - EARLIER_SHOWN
    if more > 0:
        return ", ".join(shown) + " " + _(N_("and {count} more")).format(count=more)
    if len(shown) == 1:
        return shown[0]
    return _(N_("{references} and {last}")).format(references=", ".join(shown[:-1]), last=shown[-1])


def where(report: Report) -> str:
    if report.area:
        return report.area
    if report.latitude is not None and report.longitude is not None:
        return f"{report.latitude:.5f}, {report.longitude:.5f}"
    return "-"


def map_link(report: Report) -> str | None:
    if report.latitude is None or report.longitude is None:
        return None
    return f"https://www.openstreetmap.org/?mlat={report.latitude}&mlon={report.longitude}"


def buttons(_: Gettext, report: Report) -> list[dict[str, str]]:
    return [
        {"value": action(ACK, report.reference), "label": _(N_("Acknowledge"))},
        {"value": action(DETAIL, report.reference), "label": _(N_("Details"))},
    ]


def relay_buttons(_: Gettext, report: Report) -> list[dict[str, str]]:
    """The button of an acknowledged alert: writing to a reporter who consented to contact."""
    if not report.consent_contact or report.relay_stopped_at is not None:
        return []
    return [{"value": action(RELAY, report.reference), "label": _(N_("Reply to reporter"))}]


def typed_hint(_: Gettext, report: Report) -> str:
    """The words that do what the buttons do (what a channel without buttons shows)."""
    return _(
        N_("Reply ACK {reference} to take it, DETAIL {reference} for the full report.")
    ).format(reference=report.reference)


def heading_text(
    _: Gettext, heading: str, report: Report, at: datetime, already: Sequence[str]
) -> str:
    waited = max(1, int((at - report.created_at).total_seconds() // 60))
    return _(heading).format(
        reference=report.reference, minutes=waited, names=", ".join(already) or "-"
    )


def template_variables(_: Gettext, report: Report) -> dict[str, str]:
    """For WhatsApp templates: 1 the reference, 2 the priority, 3 the kind of offer."""
    return {
        "1": report.reference,
        "2": _(labels.PRIORITY[report.priority]),
        "3": _(labels.OFFER[report.offer_kind]),
    }


async def details(work: Work, report: Report, language: str) -> tuple[str, Sequence[Media]]:
    """The full report for a member: everything but an anonymous reporter's identity; the
    contact only if the reporter consented."""
    assert report.id is not None
    session = work.session
    _ = gettext(language)
    lines = [await alert_text(session, report, work.services, language), ""]
    lines.append(_(N_("What happened:")) + "\n" + report.story)
    lines.append(_(N_("Who is affected: {who}")).format(who=_(labels.AFFECTED[report.affected])))
    lines.append(
        _(N_("How the offer came: {how}")).format(how=_(labels.SOURCE[report.offer_source]))
    )
    recruiter = [report.recruiter_name, report.recruiter_agency, report.recruiter_link]
    if any(recruiter):
        lines.append(
            _(N_("Recruiter: {details}")).format(details=", ".join(x for x in recruiter if x))
        )
    link = map_link(report)
    if link:
        lines.append(_(N_("Location: {link}")).format(link=link))
    gone = erased(_, report, work.services.bot.zone, language)
    if gone is not None:
        lines.append(gone)
    elif report.anonymous:
        lines.append(_(N_("Reporter: anonymous.")))
    elif phone := contact(report):
        lines.append(_(N_("Reporter may be contacted at {phone}.")).format(phone=phone))
        kinds = consents(report)
        if kinds:
            lines.append(
                _(N_("Their number may be given to: {agencies}.")).format(
                    agencies=", ".join(_(labels.AGENCY_KIND[k]) for k in kinds)
                )
            )
    else:
        lines.append(_(N_("Reporter: not anonymous, but did not agree to be contacted.")))
    for addition in await reports.additions_of(session, report.id):
        if addition.text:
            lines.append(_(N_("Added later: {text}")).format(text=addition.text))
    files = await reports.media_of(session, report.id)
    lines.append(_(N_("Evidence: {count} file(s).")).format(count=len(files)))
    return "\n".join(lines), files


# `sigap members test NAME` (bot/member_test.py): what the member reads.
TEST_ALERT = N_(
    "Sigap test alert for {name}: this is how alerts reach you here. Nothing to do; the "
    "operator checking the set-up sees that it arrived."
)
