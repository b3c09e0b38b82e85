"""Referral to partner agencies in the bot: `/rujuk REF` (choose the agency; without the
reporter's consent, send without their identity or, for coordinators, override with a
reason), `/rujukan` (the open referrals, and the agency's answer recorded: accepted,
rejected with a reason, done, revoked), and the Accept/Reject buttons an agency presses in
its own Telegram chat. The rules are in handlers/usecases/referral.py."""

from __future__ import annotations

import re
from enum import StrEnum

from handlers import labels
from handlers.conversation.messages import Option
from handlers.conversation.text import Word
from handlers.conversation.turn import SKIP, Flow, Held, State, Turn
from handlers.i18n import N_
from handlers.taskforce.members import member_of
from handlers.usecases import NOT_ALLOWED, Refused, may
from handlers.usecases import referral as usecase
from handlers.usecases.referral import AgencyChat, Identity
from storage import referrals, reports
from storage.models import Door, Member, ReferralState, Role


async def _member(turn: Turn) -> Member | None:
    """The member acting; otherwise the flow ends, refused."""
    member = await member_of(turn)
    if member is None:
        if turn.flow is not None:
            turn.reset()
        turn.say(NOT_ALLOWED)
    return member


def _refused(turn: Turn, refused: Refused) -> None:
    turn.reset()
    turn.say(refused.message, **refused.values)


class ReferStep(StrEnum):
    AGENCY = "agency"
    IDENTITY = "identity"  # no consent: without the identity, or a coordinator's override
    REASON = "reason"  # the override's reason


class ReferState(State):
    reference: str = ""
    agency: int | None = None  # the agency's place in [[referral.agencies]]


WITHOUT, OVERRIDE, CANCEL = "without", "override", "cancel"


class ReferFlow:
    """`/rujuk REF`: stores the agency chosen, then refers (see usecase.refer); asks first,
    when the reporter did not consent to this kind of agency, whether to send the case file
    without their identity or (coordinators) to override with a reason."""

    name = Flow.REFER
    words = frozenset({Word.REFER})
    holds: Held | None = None
    interrupts = False

    async def start(self, turn: Turn, argument: str) -> None:
        member = await _member(turn)
        if member is None:
            return
        if not argument:
            turn.say(N_("Write the report's reference: /rujuk BTN-2026-00042."))
            return
        try:
            report = await usecase.case(turn, argument, member)
        except Refused as refused:
            _refused(turn, refused)
            return
        if not turn.services.referral.agencies:
            turn.say(N_("No partner agency is configured ([[referral.agencies]] in the config)."))
            return
        turn.begin(Flow.REFER, ReferStep.AGENCY, ReferState(reference=report.reference))
        await self.resume(turn)

    async def cancel(self, turn: Turn) -> None:
        turn.reset()
        turn.say(N_("Cancelled."))

    def writing(self, turn: Turn) -> bool:
        return turn.step == ReferStep.REASON

    async def _agency_options(self, turn: Turn) -> list[Option]:
        state = turn.state(ReferState)
        report = await reports.by_reference(turn.session, state.reference)
        assert report is not None
        return [
            Option(str(i), f"{a.name} — {turn.t(labels.AGENCY_KIND[a.kind])}")
            for i, a in usecase.agencies_for(turn, report)
        ]

    def _identity_options(self, member: Member) -> list[Option]:
        options = [Option(WITHOUT, N_("Send it without the reporter's identity"))]
        if may(member, Role.COORDINATOR):
            options.append(Option(OVERRIDE, N_("Share the identity anyway, with a reason")))
        return [*options, Option(CANCEL, N_("Cancel"))]

    async def resume(self, turn: Turn) -> None:
        state = turn.state(ReferState)
        if turn.step == ReferStep.AGENCY:
            turn.choose(
                turn.t(N_("Refer report {reference} to which agency?"), reference=state.reference),
                await self._agency_options(turn),
            )
        elif turn.step == ReferStep.IDENTITY:
            member = await member_of(turn)
            assert member is not None and state.agency is not None
            agency = turn.services.referral.agencies[state.agency]
            turn.choose(
                turn.t(
                    N_(
                        "The reporter did not agree that their number be given to {kind}. "
                        "How should the case file go to {agency}?"
                    ),
                    kind=turn.t(labels.AGENCY_KIND[agency.kind]),
                    agency=agency.name,
                ),
                self._identity_options(member),
            )
        else:
            turn.prompt(
                turn.t(
                    N_(
                        "Why must the reporter's identity be shared without their consent? "
                        "The reason is kept on the report's timeline."
                    )
                )
            )

    async def handle(self, turn: Turn) -> None:
        member = await _member(turn)
        if member is None:
            return
        state = turn.state(ReferState)
        if turn.step == ReferStep.AGENCY:
            picked = turn.picked(await self._agency_options(turn))
            if picked is None:
                await self.resume(turn)
                return
            state.agency = int(picked[0])
            report = await reports.by_reference(turn.session, state.reference)
            assert report is not None
            kind = turn.services.referral.agencies[state.agency].kind
            if usecase.identity(report, kind) is Identity.WITHHELD:
                turn.go(Flow.REFER, ReferStep.IDENTITY)
                await self.resume(turn)
            else:
                await self._refer(turn, member)
        elif turn.step == ReferStep.IDENTITY:
            picked = turn.picked(self._identity_options(member))
            if picked is None:
                await self.resume(turn)
            elif picked[0] == WITHOUT:
                await self._refer(turn, member)
            elif picked[0] == OVERRIDE:
                turn.go(Flow.REFER, ReferStep.REASON)
                await self.resume(turn)
            else:
                await self.cancel(turn)
        else:
            reason = turn.typed() or ""
            if len(" ".join(reason.split())) < usecase.REASON_MIN:
                turn.say(usecase.REASON_ASKED)
                await self.resume(turn)
                return
            await self._refer(turn, member, reason)

    async def _refer(self, turn: Turn, member: Member, reason: str | None = None) -> None:
        state = turn.state(ReferState)
        assert state.agency is not None
        try:
            done = await usecase.refer(
                turn,
                state.reference,
                state.agency,
                by=member,
                door=Door.BOT,
                channel=turn.conv.channel,
                override_reason=reason,
            )
        except Refused as refused:
            _refused(turn, refused)
            return
        turn.reset()
        how = {
            Identity.CONSENT: N_("with the reporter's contact (they agreed)"),
            Identity.OVERRIDE: N_("with the reporter's contact (your override is recorded)"),
            Identity.WITHHELD: N_("without the reporter's identity"),
            Identity.ANONYMOUS: N_("without identity (the reporter is anonymous)"),
        }[done.identity]
        turn.say(
            N_(
                "Referral #{id}: the case file of {reference} is on its way to {agency}, {how}. "
                "/rujukan {id} records their answer."
            ),
            id=done.referral.id,
            reference=done.report.reference,
            agency=done.referral.agency,
            how=turn.t(how),
        )


class ReferralsStep(StrEnum):
    PICK = "pick"
    ACTION = "action"
    REASON = "reason"


class ReferralsState(State):
    referral: int | None = None
    to: ReferralState | None = None


ACTIONS = {
    ReferralState.ACCEPTED: N_("Accepted by the agency"),
    ReferralState.REJECTED: N_("Rejected by the agency"),
    ReferralState.DONE: N_("Done"),
    ReferralState.REVOKED: N_("Revoke the referral"),
}
# What a member types after `/rujukan ID`.
ACTION_WORDS = {
    "diterima": ReferralState.ACCEPTED,
    "terima": ReferralState.ACCEPTED,
    "accepted": ReferralState.ACCEPTED,
    "accept": ReferralState.ACCEPTED,
    "ditolak": ReferralState.REJECTED,
    "tolak": ReferralState.REJECTED,
    "rejected": ReferralState.REJECTED,
    "reject": ReferralState.REJECTED,
    "selesai": ReferralState.DONE,
    "done": ReferralState.DONE,
    "dicabut": ReferralState.REVOKED,
    "cabut": ReferralState.REVOKED,
    "revoked": ReferralState.REVOKED,
    "revoke": ReferralState.REVOKED,
}
_ARGUMENT = re.compile(r"#?(\d{1,9})(?:\s+(\S+)(?:\s+(.+))?)?", re.S)


class ReferralsFlow:
    """`/rujukan`: the open referrals; choosing one, what became of it; a rejection asks
    for its reason. `/rujukan 12 ditolak REASON` does it in one message."""

    name = Flow.REFERRALS
    words = frozenset({Word.REFERRALS})
    holds: Held | None = None
    interrupts = False

    async def start(self, turn: Turn, argument: str) -> None:
        member = await _member(turn)
        if member is None:
            return
        match = _ARGUMENT.fullmatch(argument.strip()) if argument else None
        if match is None:
            await self._list(turn, member)
            return
        state = turn.begin(Flow.REFERRALS, ReferralsStep.ACTION, ReferralsState())
        state.referral = int(match[1])
        if match[2] is None:
            await self.resume(turn)
            return
        to = ACTION_WORDS.get(match[2].lower())
        if to is None:
            turn.say(N_("Write what became of it: diterima, ditolak REASON, selesai or dicabut."))
            await self.resume(turn)
            return
        await self._chosen(turn, member, to, match[3])

    async def _list(self, turn: Turn, member: Member) -> None:
        listed = await usecase.listing(turn, member)
        if not listed:
            turn.reset()
            turn.say(N_("There are no open referrals."))
            return
        turn.begin(Flow.REFERRALS, ReferralsStep.PICK, ReferralsState())
        await self.resume(turn)

    async def _pick_options(self, turn: Turn, member: Member) -> list[Option]:
        options = []
        for r, report in await usecase.listing(turn, member):
            state = turn.t(labels.REFERRAL_STATE[r.state])
            options.append(Option(str(r.id), f"#{r.id} {report.reference} → {r.agency} ({state})"))
        return options

    async def cancel(self, turn: Turn) -> None:
        turn.reset()
        turn.say(N_("Cancelled."))

    def writing(self, turn: Turn) -> bool:
        return turn.step == ReferralsStep.REASON

    async def _action_options(self, turn: Turn) -> list[Option]:
        state = turn.state(ReferralsState)
        referral = await referrals.get(turn.session, state.referral or 0)
        allowed = usecase.TRANSITIONS.get(referral.state, set()) if referral else set()
        return [
            *(Option(to.value, label) for to, label in ACTIONS.items() if to in allowed),
            Option(CANCEL, N_("Cancel")),
        ]

    async def resume(self, turn: Turn) -> None:
        member = await member_of(turn)
        if member is None:
            return
        state = turn.state(ReferralsState)
        if turn.step == ReferralsStep.PICK:
            turn.choose(turn.t(N_("Open referrals:")), await self._pick_options(turn, member))
        elif turn.step == ReferralsStep.ACTION:
            referral = await referrals.get(turn.session, state.referral or 0)
            if referral is None:
                turn.reset()
                turn.say(N_("There is no referral #{id}."), id=state.referral)
                return
            turn.choose(
                turn.t(
                    N_("Referral #{id} to {agency} is {state}. What became of it?"),
                    id=referral.id,
                    agency=referral.agency,
                    state=turn.t(labels.REFERRAL_STATE[referral.state]),
                ),
                await self._action_options(turn),
            )
        elif state.to is ReferralState.REJECTED:
            turn.prompt(turn.t(N_("Why did the agency reject it?")))
        else:
            turn.prompt(turn.t(N_("Why is the referral revoked?")), actions=[SKIP])

    async def handle(self, turn: Turn) -> None:
        member = await _member(turn)
        if member is None:
            return
        state = turn.state(ReferralsState)
        if turn.step == ReferralsStep.PICK:
            picked = turn.picked(await self._pick_options(turn, member))
            if picked is not None:
                state.referral = int(picked[0])
                turn.go(Flow.REFERRALS, ReferralsStep.ACTION)
            await self.resume(turn)
        elif turn.step == ReferralsStep.ACTION:
            picked = turn.picked(await self._action_options(turn))
            if picked is None:
                await self.resume(turn)
            elif picked[0] == CANCEL:
                await self.cancel(turn)
            else:
                await self._chosen(turn, member, ReferralState(picked[0]), None)
        else:
            assert state.to is not None
            skipped = turn.action() is Word.SKIP and state.to is ReferralState.REVOKED
            await self._change(turn, member, state.to, None if skipped else turn.typed() or "")

    async def _chosen(
        self, turn: Turn, member: Member, to: ReferralState, reason: str | None
    ) -> None:
        referral = await referrals.get(turn.session, turn.state(ReferralsState).referral or 0)
        allowed = referral is not None and to in usecase.TRANSITIONS.get(referral.state, set())
        asks = to in (ReferralState.REJECTED, ReferralState.REVOKED)
        if reason is None and asks and allowed:
            turn.state(ReferralsState).to = to
            turn.go(Flow.REFERRALS, ReferralsStep.REASON)
            await self.resume(turn)
            return
        await self._change(turn, member, to, reason)

    async def _change(
        self, turn: Turn, member: Member, to: ReferralState, reason: str | None
    ) -> None:
        state = turn.state(ReferralsState)
        try:
            referral, report = await usecase.change(
                turn,
                state.referral or 0,
                to,
                by=member,
                channel=turn.conv.channel,
                reason=reason,
            )
        except Refused as refused:
            if turn.step == ReferralsStep.REASON and refused.message == usecase.REASON_ASKED:
                turn.say(refused.message)
                await self.resume(turn)
                return
            _refused(turn, refused)
            return
        turn.reset()
        turn.say(
            N_("Recorded: referral #{id} of {reference} to {agency} is {state}."),
            id=referral.id,
            reference=report.reference,
            agency=referral.agency,
            state=turn.t(labels.REFERRAL_STATE[referral.state]),
        )


async def agency_answer(turn: Turn, to: ReferralState, referral_id: int) -> None:
    """An agency's Accept or Reject under its case file, recorded only when pressed in the
    chat the case file went to."""
    referral = await referrals.get(turn.session, referral_id)
    if (
        referral is None
        or referral.channel is not turn.conv.channel
        or referral.address != turn.conv.sender
    ):
        turn.say(N_("This button is not for this chat."))
        return
    try:
        referral, report = await usecase.change(
            turn, referral_id, to, by=AgencyChat(referral), channel=turn.conv.channel
        )
    except Refused as refused:
        turn.say(refused.message, **refused.values)
        return
    if to is ReferralState.ACCEPTED:
        turn.say(
            N_("Thank you: {agency} takes on case {reference}. The task force has been told."),
            agency=referral.agency,
            reference=report.reference,
        )
    else:
        turn.say(
            N_(
                "Recorded: {agency} does not take on case {reference}. Please tell the task "
                "force why."
            ),
            agency=referral.agency,
            reference=report.reference,
        )
