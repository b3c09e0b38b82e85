"""How each stored value is named to people (marked for the catalogs, translated where shown)."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import TypeVar

from handlers.conversation.messages import Option
from handlers.i18n import N_
from storage.models import (
    Affected,
    AgencyKind,
    ChildInvolved,
    Destination,
    Erasure,
    OfferKind,
    OfferSource,
    Outcome,
    Priority,
    RedFlag,
    ReferralState,
    ReportState,
    Urgency,
)

# What a member reads where a reporter's identity was (filled with the day it went).
ERASED = {
    Erasure.REPORTER: N_("The reporter asked to be forgotten on {date}: their identity is erased."),
    Erasure.OPERATOR: N_("The reporter's identity was erased by an administrator on {date}."),
    Erasure.RETENTION: N_(
        "The reporter's identity was removed on {date}, as the retention rules say for a case "
        "closed that long."
    ),
}

URGENCY = {
    Urgency.DANGER_NOW: N_("Someone is in danger now"),
    Urgency.LEAVING_SOON: N_("Someone is leaving within 48 hours"),
    Urgency.ABROAD_NEEDS_HELP: N_("Someone is already abroad and needs help"),
    Urgency.NONE: N_("None of these"),
}

AFFECTED = {
    Affected.ME: N_("Me"),
    Affected.FAMILY: N_("My family"),
    Affected.SOMEONE_I_KNOW: N_("Someone I know"),
    Affected.ADVERT: N_("I saw an advert or post"),
}

CHILD = {
    ChildInvolved.YES: N_("Yes"),
    ChildInvolved.NO: N_("No"),
    ChildInvolved.UNKNOWN: N_("I don't know"),
}

OFFER = {
    OfferKind.WORK_ABROAD: N_("Work abroad"),
    OfferKind.SHIP_CREW: N_("Ship crew or fishing boat"),
    OfferKind.DOMESTIC_WORKER: N_("Domestic worker"),
    OfferKind.ONLINE_JOB: N_('"Online job" or call centre abroad'),
    OfferKind.ENTERTAINMENT: N_("Entertainment or spa"),
    OfferKind.MARRIAGE: N_("Marriage"),
    OfferKind.OTHER: N_("Other"),
    OfferKind.UNKNOWN: N_("Not known yet"),
}

DESTINATION = {
    Destination.OTHER: N_("Another country"),
    Destination.UNKNOWN: N_("I don't know"),
}

SOURCE = {
    OfferSource.SOCIAL_MEDIA: N_("Social media"),
    OfferSource.CHAT_MESSAGE: N_("A chat message"),
    OfferSource.AGENT: N_("A person or agent (calo/sponsor)"),
    OfferSource.COMPANY: N_("A company or agency"),
    OfferSource.OTHER: N_("Other"),
    OfferSource.UNKNOWN: N_("Not known yet"),
}

RED_FLAGS = {
    RedFlag.UPFRONT_FEES: N_("Fees demanded up front"),
    RedFlag.DOCUMENTS_HELD: N_("Passport or ID held by the recruiter"),
    RedFlag.UNOFFICIAL_ROUTE: N_("Unofficial route, or a tourist visa for work"),
    RedFlag.NO_CONTRACT: N_("No written contract, or one in a language they cannot read"),
    RedFlag.TOO_GOOD: N_("Salary too good, no experience needed"),
    RedFlag.PRESSURE_SECRECY: N_("Pressure to leave quickly or keep it secret"),
    RedFlag.LIE_TO_OFFICIALS: N_("Told to lie to officials"),
    RedFlag.UNLICENSED_AGENCY: N_("Agency not licensed, or cannot be checked"),
    RedFlag.CONTACT_CUT_OFF: N_("Contact with someone who left has been cut off"),
}

AGENCY_KIND = {
    AgencyKind.POLICE: N_("Police"),
    AgencyKind.KP2MI: N_("KP2MI (protection of migrant workers)"),
    AgencyKind.UPTD_PPA: N_("UPTD PPA (service post for women and children)"),
    AgencyKind.SOCIAL_AFFAIRS: N_("Social affairs office"),
    AgencyKind.IMMIGRATION: N_("Immigration"),
    AgencyKind.OTHER: N_("Other agency"),
}

REFERRAL_STATE = {
    ReferralState.SENT: N_("sent"),
    ReferralState.ACCEPTED: N_("accepted"),
    ReferralState.REJECTED: N_("rejected"),
    ReferralState.DONE: N_("done"),
    ReferralState.REVOKED: N_("revoked"),
}

PRIORITY = {
    Priority.URGENT: N_("URGENT"),
    Priority.HIGH: N_("High"),
    Priority.NORMAL: N_("Normal"),
}

STATE = {
    ReportState.NEW: N_("received, waiting for the task force"),
    ReportState.ACKNOWLEDGED: N_("being handled by the task force"),
    ReportState.IN_PROGRESS: N_("being looked into by the task force"),
    ReportState.REFERRED: N_("passed on to a partner agency that can help"),
    ReportState.CLOSED: N_("closed"),
}

# What STATUS says of a closed report, per outcome: what it came to, in words a resident
# understands, and never anything of the investigation.
CLOSED_AS = {
    Outcome.TRAFFICKING_SUSPECTED: N_(
        "closed: the task force found signs of trafficking and is acting on them"
    ),
    Outcome.SCAM_OR_FRAUD: N_("closed: the task force found it was a scam"),
    Outcome.NON_PROCEDURAL_MIGRATION: N_(
        "closed: the task force found it was work abroad outside the official procedure"
    ),
    Outcome.NOT_TRAFFICKING: N_(
        "closed: the task force looked into it and found no sign of trafficking"
    ),
    Outcome.DUPLICATE: N_("closed: handled together with another report"),
    Outcome.UNREACHABLE: N_("closed: the task force could not get in touch to learn more"),
    Outcome.WITHDRAWN: N_("closed: withdrawn"),
}

# The task force's words for a case's state and outcome.
CASE_STATE = {
    ReportState.NEW: N_("new"),
    ReportState.ACKNOWLEDGED: N_("acknowledged"),
    ReportState.IN_PROGRESS: N_("in progress"),
    ReportState.REFERRED: N_("referred"),
    ReportState.CLOSED: N_("closed"),
}

OUTCOME = {
    Outcome.TRAFFICKING_SUSPECTED: N_("Trafficking suspected"),
    Outcome.SCAM_OR_FRAUD: N_("Scam or fraud"),
    Outcome.NON_PROCEDURAL_MIGRATION: N_("Non-procedural migration"),
    Outcome.NOT_TRAFFICKING: N_("Not trafficking"),
    Outcome.DUPLICATE: N_("Duplicate of another report"),
    Outcome.UNREACHABLE: N_("Unreachable"),
    Outcome.WITHDRAWN: N_("Withdrawn"),
}


E = TypeVar("E", bound=StrEnum)


def options(labels: dict[E, str], *, leave_out: Collection[E] = ()) -> list[Option]:
    return [Option(value.value, label) for value, label in labels.items() if value not in leave_out]
