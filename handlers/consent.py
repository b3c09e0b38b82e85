"""What a reporter agreed to: who may get their number."""

from __future__ import annotations

from storage.models import AgencyKind, Report


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
