"""Referring a report to a partner agency, with the reporter's consent: who may refer, when
the case file may name the reporter, sending it, and the agency's answer
(sent -> accepted | rejected -> done, or revoked), every change on the report's timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from handlers import labels
from handlers.consent import consents
from handlers.conversation.turn import Work
from handlers.i18n import N_, gettext
from handlers.settings import Agency
from handlers.taskforce import case_file
from handlers.taskforce.alerts import NOTICE_PRIORITY
from handlers.usecases import NOT_ALLOWED, Actor, Operator, Refused, audit, casework, may
from storage import members, outbox, referrals, reports
from storage.models import (
    AgencyKind,
    Channel,
    Door,
    EventKind,
    Member,
    MessageKind,
    Referral,
    ReferralState,
    Report,
    ReportState,
    Role,
    Seen,
)

REASON_MIN = 5  # characters of a stated reason: "ok" is not one
REASON_MAX = 500
REASON_ASKED = N_("Please state the reason in a few words.")

# The kinds a reporter is asked about, in the order asked (report.py's consent question).
ASKED = [AgencyKind.POLICE, AgencyKind.KP2MI, AgencyKind.UPTD_PPA, AgencyKind.SOCIAL_AFFAIRS]

TRANSITIONS: dict[ReferralState, set[ReferralState]] = {
    ReferralState.SENT: {ReferralState.ACCEPTED, ReferralState.REJECTED, ReferralState.REVOKED},
    ReferralState.ACCEPTED: {ReferralState.DONE, ReferralState.REVOKED},
}
NEEDS_REASON = {ReferralState.REJECTED}


class AgencyChat:
    """An agency answering from the chat its case file went to (the caller checked that)."""

    def __init__(self, referral: Referral) -> None:
        self.name = referral.agency

    def __repr__(self) -> str:
        return f"{self.name} (agency)"


def may_handle(actor: Actor, report: Report) -> bool:
    """Who may refer a case: whoever may act on it (its assignee, a coordinator or admin, the
    operator at the command line; see casework.allowed)."""
    return casework.allowed(actor, report, casework.Action.NOTE)


class Identity(StrEnum):
    """Whether a case file names the reporter, and why."""

    CONSENT = "consent"  # they agreed to it for this kind of agency
    OVERRIDE = "override"  # a coordinator decided so, with a reason
    WITHHELD = "withheld"  # they did not agree: the file goes without
    ANONYMOUS = "anonymous"  # there is nobody to name


def identity(report: Report, kind: AgencyKind, *, override: bool = False) -> Identity:
    if report.anonymous or not report.contact_phone:
        return Identity.ANONYMOUS
    if kind in consents(report):
        return Identity.CONSENT
    return Identity.OVERRIDE if override else Identity.WITHHELD


def actor_name(actor: Actor | AgencyChat) -> str:
    if isinstance(actor, Operator):
        return "operator (command line)"
    if isinstance(actor, AgencyChat):
        return repr(actor)
    return actor.name


def area_keys(work: Work, agency: Agency) -> set[str]:
    """The stored keys of the areas an agency covers (the config may name them in any
    language)."""
    return {
        area.key for area in work.services.intake.areas if set(area.texts()) & set(agency.areas)
    }


def agencies_for(work: Work, report: Report) -> list[tuple[int, Agency]]:
    """The configured agencies (with their place in the config), those covering the report's
    area first, then those covering every area, then the others."""
    listed = list(enumerate(work.services.referral.agencies))

    def rank(item: tuple[int, Agency]) -> int:
        agency = item[1]
        if report.area is not None and report.area in area_keys(work, agency):
            return 0
        return 1 if not agency.areas else 2

    return sorted(listed, key=rank)


async def case(work: Work, reference: str, by: Actor) -> Report:
    """The report `by` may refer; Refused when there is none, or they may not."""
    report = await reports.by_reference(work.session, reference, lock=True)
    if report is None:
        raise Refused(N_("There is no report {reference}."), reference=reference)
    if not may_handle(by, report):
        raise Refused(
            N_("Only the member who took report {reference}, or a coordinator, can do this."),
            reference=report.reference,
        )
    if report.state is ReportState.CLOSED:
        raise Refused(N_("Report {reference} is closed."), reference=report.reference)
    return report


def checked_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) < REASON_MIN:
        raise Refused(REASON_ASKED)
    return reason[:REASON_MAX]


@dataclass(frozen=True)
class Referred:
    referral: Referral
    report: Report
    identity: Identity


async def refer(
    work: Work,
    reference: str,
    agency_index: int,
    *,
    by: Actor,
    door: Door,
    channel: Channel | None = None,
    override_reason: str | None = None,
) -> Referred:
    """Sends the report's case file to the agency (its place in `[[referral.agencies]]`):
    naming the reporter only with their consent for that kind of agency, or when a
    coordinator overrides it with a stated reason. Stores the referral, the events, the
    report's state (referred), the message to the agency, and the audit of what left with
    it (`door`: where `by` asked for it)."""
    session, now = work.session, work.now
    report = await case(work, reference, by)
    assert report.id is not None
    agencies = work.services.referral.agencies
    if not 0 <= agency_index < len(agencies):
        raise Refused(N_("There is no such agency."))
    agency = agencies[agency_index]
    override = override_reason is not None
    if override:
        if not may(by, Role.COORDINATOR):
            raise Refused(
                N_("Only a coordinator can share the reporter's identity without consent.")
            )
        override_reason = checked_reason(override_reason)
    shown = identity(report, agency.kind, override=override)
    if override and shown is not Identity.OVERRIDE:
        override_reason = None  # consent, or nobody to name: nothing to override
    for earlier in await referrals.of_report(session, report.id):
        if earlier.agency == agency.name and earlier.state in referrals.OPEN:
            raise Refused(
                N_("Report {reference} is already referred to {agency} (referral #{id})."),
                reference=report.reference,
                agency=agency.name,
                id=earlier.id,
            )
    to, address = agency.reached
    referral = Referral(
        report_id=report.id,
        created_at=now,
        updated_at=now,
        created_by=by.id if isinstance(by, Member) else None,
        agency=agency.name,
        agency_kind=agency.kind,
        channel=to,
        address=address,
        with_identity=shown in (Identity.CONSENT, Identity.OVERRIDE),
        override_reason=override_reason,
        document_sha256="",
    )
    _ = gettext(work.services.bot.default_language)
    kind = _(labels.AGENCY_KIND[agency.kind])
    notes = {
        Identity.CONSENT: _(
            N_("The reporter agreed that their number be given to: {kind}.")
        ).format(kind=kind),
        Identity.OVERRIDE: _(
            N_(
                "The reporter did not agree to this; a coordinator decided to share it, "
                "because: {reason}"
            )
        ).format(reason=override_reason),
        Identity.WITHHELD: _(
            N_(
                "The reporter's identity is withheld: they did not agree to it being shared "
                "with this kind of agency. Ask the task force to pass on any question."
            )
        ),
        Identity.ANONYMOUS: _(
            N_("The reporter is anonymous. Ask the task force to pass on any question.")
        ),
    }
    contact = None
    if referral.with_identity:
        contact = _(N_("Contact: {phone}")).format(phone=report.contact_phone)
    gathered = await case_file.gather(work, report, referral, identity=contact, note=notes[shown])
    pdf = await asyncio.to_thread(case_file.render, gathered)
    stored = await work.services.media.put(pdf)
    referral.document_sha256 = stored.sha256
    await referrals.add(session, referral)
    await audit.viewed(
        work,
        report,
        by,
        door,
        [Seen.EXPORT, *([Seen.CONTACT] if contact else [])],
        f"case file to {agency.name}",
    )
    actor = actor_name(by)
    await reports.add_event(
        session,
        report,
        EventKind.REFERRED,
        at=now,
        actor=actor,
        channel=channel,
        detail={
            "referral": referral.id,
            "agency": agency.name,
            "agency_kind": agency.kind.value,
            "identity": shown.value,
            **({"override_reason": override_reason} if override_reason else {}),
        },
    )
    if report.state is not ReportState.REFERRED:
        await reports.add_event(
            session,
            report,
            EventKind.STATE_CHANGED,
            at=now,
            actor=actor,
            channel=channel,
            detail={"from": report.state.value, "to": ReportState.REFERRED.value},
        )
        report.state = ReportState.REFERRED
        session.add(report)
    await send(work, report, referral)
    return Referred(referral, report, shown)


ACCEPT, REJECT = "rfa", "rfr"  # the agency's buttons: `rfa:12` accepts referral 12


def agency_press(value: str) -> tuple[ReferralState, int] | None:
    """The referral an agency's button answers, and how; None for any other button."""
    kind, _sep, number = value.partition(":")
    if kind not in (ACCEPT, REJECT) or not number.isdigit() or len(number) > 9:
        return None
    return (ReferralState.ACCEPTED if kind == ACCEPT else ReferralState.REJECTED), int(number)


async def send(work: Work, report: Report, referral: Referral) -> None:
    """The case file to the agency, through the outbox: a document with Accept and Reject
    buttons on Telegram, a document on WhatsApp, an attachment by email."""
    _ = gettext(work.services.bot.default_language)
    text = _(
        N_(
            "Case file {reference} from the anti-trafficking task force (Gugus Tugas TPPO), "
            "referral #{id}. Please let the task force know whether you take it on."
        )
    ).format(reference=report.reference, id=referral.id)
    row = await outbox.enqueue(
        work.session,
        referral.channel,
        referral.address,
        MessageKind.REFERRAL,
        text,
        at=work.now,
        priority=NOTICE_PRIORITY,
        buttons=[
            {"value": f"{ACCEPT}:{referral.id}", "label": _(N_("Accept"))},
            {"value": f"{REJECT}:{referral.id}", "label": _(N_("Reject"))},
        ]
        if referral.channel is Channel.TELEGRAM
        else None,
        variables={"1": report.reference, "2": str(referral.id)},
        report_id=report.id,
    )
    row.document_sha256 = referral.document_sha256
    row.document_name = f"{report.reference}.pdf"


async def change(
    work: Work,
    referral_id: int,
    to: ReferralState,
    *,
    by: Actor | AgencyChat,
    channel: Channel | None = None,
    reason: str | None = None,
) -> tuple[Referral, Report]:
    """Records the agency's answer or the end of a referral (see TRANSITIONS); a rejection
    states its reason. The member who referred it is told when the agency answers itself."""
    session, now = work.session, work.now
    referral = await referrals.get(session, referral_id, lock=True)
    report = await reports.get(session, referral.report_id) if referral else None
    if referral is None or report is None:
        raise Refused(N_("There is no referral #{id}."), id=referral_id)
    if not isinstance(by, AgencyChat) and not may_handle(by, report):
        raise Refused(
            N_("Only the member who took report {reference}, or a coordinator, can do this."),
            reference=report.reference,
        )
    if isinstance(by, AgencyChat) and to not in (ReferralState.ACCEPTED, ReferralState.REJECTED):
        raise Refused(NOT_ALLOWED)
    if to not in TRANSITIONS.get(referral.state, set()):
        raise Refused(
            N_("Referral #{id} is {state}: it cannot become {to}."),
            id=referral.id,
            state=referral.state.value,
            to=to.value,
        )
    if to in NEEDS_REASON and not isinstance(by, AgencyChat):
        reason = checked_reason(reason)
    elif reason is not None:
        reason = " ".join(reason.split())[:REASON_MAX] or None
    before = referral.state
    referral.state, referral.updated_at = to, now
    referral.reason = reason if reason is not None else referral.reason
    session.add(referral)
    await reports.add_event(
        session,
        report,
        EventKind.REFERRAL_CHANGED,
        at=now,
        actor=actor_name(by),
        channel=channel,
        detail={
            "referral": referral.id,
            "agency": referral.agency,
            "from": before.value,
            "to": to.value,
            **({"reason": reason} if reason else {}),
        },
    )
    if isinstance(by, AgencyChat) and referral.created_by is not None:
        await tell_referrer(work, report, referral)
    return referral, report


ANSWERED = {
    ReferralState.ACCEPTED: N_("{agency} accepted referral #{id} of report {reference}."),
    ReferralState.REJECTED: N_("{agency} rejected referral #{id} of report {reference}."),
}


async def tell_referrer(work: Work, report: Report, referral: Referral) -> None:
    _ = gettext(work.services.bot.default_language)
    line = ANSWERED.get(referral.state)
    if line is None or referral.created_by is None:
        return
    text = _(line).format(agency=referral.agency, id=referral.id, reference=report.reference)
    for address in await members.addresses(work.session, [referral.created_by]):
        await outbox.enqueue(
            work.session,
            address.channel,
            address.address,
            MessageKind.NOTICE,
            text,
            at=work.now,
            priority=NOTICE_PRIORITY,
            variables={"1": report.reference, "2": text},
            report_id=report.id,
            member_id=referral.created_by,
        )


async def listing(
    work: Work, by: Actor, *, open_only: bool = True, reference: str | None = None
) -> Sequence[tuple[Referral, Report]]:
    """The referrals `by` may act on (a member: of the reports they took), newest first."""
    report_id = None
    if reference is not None:
        report = await reports.by_reference(work.session, reference)
        if report is None:
            raise Refused(N_("There is no report {reference}."), reference=reference)
        report_id = report.id
    mine = None if may(by, Role.COORDINATOR) else by.id if isinstance(by, Member) else None
    return await referrals.listing(
        work.session,
        states=referrals.OPEN if open_only else (),
        report_id=report_id,
        acknowledged_by=mine,
    )
