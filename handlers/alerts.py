"""The alert that members on duty receive for a new report (who gets it, and how often, is
the alerting flow's business)."""

from __future__ import annotations

from babel.dates import format_datetime
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import labels
from handlers.i18n import N_, gettext
from handlers.settings import BotSettings
from storage import reports
from storage.models import Destination, RedFlag, Report

EXCERPT = 280


async def alert_text(session: AsyncSession, report: Report, bot: BotSettings) -> str:
    """What members on duty read first: enough to judge the report, never the reporter's
    identity (that is in the details, and only if they consented)."""
    assert report.id is not None
    _ = gettext(bot.default_language)
    phones = await reports.recruiter_phones(session, report.id)
    earlier = await reports.earlier_reports_with_phones(session, report)
    destination = report.destination
    if destination in (Destination.OTHER, Destination.UNKNOWN):
        destination = _(labels.DESTINATION[Destination(destination)])
    where = report.area or (
        f"{report.latitude:.5f}, {report.longitude:.5f}" if report.latitude is not None else "-"
    )
    story = report.story if len(report.story) <= EXCERPT else report.story[:EXCERPT] + "…"
    sent = format_datetime(
        report.created_at.astimezone(bot.zone), "medium", locale=bot.default_language
    )
    lines = [
        _(N_("New report {reference} — priority {priority}")).format(
            reference=report.reference, priority=_(labels.PRIORITY[report.priority])
        ),
        _(N_("Sent: {time}")).format(time=sent),
        _(N_("Offer: {offer}")).format(offer=_(labels.OFFER[report.offer_kind])),
        _(N_("Destination: {destination}")).format(destination=destination),
        _(N_("Area: {area}")).format(area=where),
        _(N_("Urgency: {urgency}")).format(urgency=_(labels.URGENCY[report.urgency])),
        _(N_("Child involved: {child}")).format(child=_(labels.CHILD[report.child_involved])),
    ]
    if report.red_flags:
        flags = ", ".join(_(labels.RED_FLAGS[RedFlag(f)]) for f in report.red_flags)
        lines.append(_(N_("Warning signs: {flags}")).format(flags=flags))
    if phones:
        lines.append(
            _(N_("Recruiter numbers: {phones} (named in {count} earlier report(s))")).format(
                phones=", ".join(phones), count=earlier
            )
        )
    lines.append(_(N_("Story: {excerpt}")).format(excerpt=story))
    return "\n".join(lines)
