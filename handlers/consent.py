"""What a reporter agreed to: who may get their number; and whether their identity is still
there at all."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_date

from handlers import labels
from handlers.i18n import Gettext, locale
from storage.models import AgencyKind, Erasure, Report


def contact(report: Report) -> str | None:
    """The number the task force may see: only of a reporter who is not anonymous and agreed
    to be contacted."""
    if report.anonymous or not report.consent_contact:
        return None
    return report.contact_phone or None


def consents(report: Report) -> list[AgencyKind]:
    """The kinds of agencies the reporter agreed their number may be given to."""
    if report.anonymous or not report.consent_contact:
        return []
    kinds = [AgencyKind(k) for k in report.consent_share_with]
    if report.consent_share_with_police and AgencyKind.POLICE not in kinds:
        kinds.insert(0, AgencyKind.POLICE)  # a report from before the question had kinds
    return kinds


def erased(_: Gettext, report: Report, zone: ZoneInfo, language: str) -> str | None:
    """What a member reads where the reporter's identity was, once it is erased: who removed
    it and on which day (in the configured zone); None while it is there."""
    if report.identity_erased_at is None:
        return None
    moment = report.identity_erased_at.astimezone(zone)
    day = format_date(moment, "medium", locale=locale(language))
    return _(labels.ERASED[report.identity_erased_by or Erasure.OPERATOR]).format(date=day)
