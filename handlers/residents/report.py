"""The report intake: a guided conversation of optional and required steps, then a summary to
check and send. Each answer is kept in the conversation's state (`ReportState`, a field per
step) as it comes, so a restart, "back" or a change from the summary loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from handlers import labels
from handlers.conversation import evidence
from handlers.conversation.messages import Expect, Option
from handlers.conversation.text import Word, coordinates, phone, phones
from handlers.conversation.turn import (
    CLEAR,
    DONE,
    SKIP,
    SUBSCRIBE,
    Flow,
    Held,
    Services,
    State,
    Turn,
)
from handlers.i18n import N_
from handlers.residents.priority import priority
from handlers.taskforce.alerts import report_submitted
from storage import conversations, reports
from storage.models import (
    Affected,
    ChildInvolved,
    OfferKind,
    OfferSource,
    RedFlag,
    Report,
    Urgency,
)

STORY_MIN, STORY_MAX = 10, 3000
CONFIRM_AFTER = 3  # answers a draft may have and still be cancelled by one BATAL
SHORT_MAX = 200
LINK_MAX = 500


class Step(StrEnum):
    PRIVACY = "privacy"
    CONSENT_CONTACT = "consent_contact"
    CONSENT_POLICE = "consent_police"
    URGENCY = "urgency"
    AFFECTED = "affected"
    CHILD = "child"
    OFFER = "offer"
    DESTINATION = "destination"
    SOURCE = "source"
    RED_FLAGS = "red_flags"
    RECRUITER_NAME = "recruiter_name"
    RECRUITER_AGENCY = "recruiter_agency"
    RECRUITER_PHONES = "recruiter_phones"
    RECRUITER_LINK = "recruiter_link"
    STORY = "story"
    EVIDENCE = "evidence"
    WHERE = "where"
    CONTACT = "contact"
    SUMMARY = "summary"
    CHANGE = "change"  # choosing which answer to change


ANONYMOUS, CONTACTABLE = "anonymous", "contactable"
YES, NO = "yes", "no"
SEND, CHANGE, CANCEL = "send", "change", "cancel"
YES_NO = [Option(YES, N_("Yes")), Option(NO, N_("No"))]
SUMMARY_OPTIONS = [
    Option(SEND, N_("Send the report")),
    Option(CHANGE, N_("Change an answer")),
    Option(CANCEL, N_("Cancel")),
]


class Place(BaseModel):
    """An area from the config, or coordinates."""

    area: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class ReportState(State):
    """The answers so far, a field per step named as the step: None until answered (a
    skipped text is "")."""

    privacy: str | None = None
    consent_contact: str | None = None
    consent_police: str | None = None
    urgency: str | None = None
    affected: str | None = None
    child: str | None = None
    offer: str | None = None
    destination: str | None = None
    source: str | None = None
    red_flags: list[str] | None = None
    recruiter_name: str | None = None
    recruiter_agency: str | None = None
    recruiter_phones: list[str] | None = None
    recruiter_link: str | None = None
    story: str | None = None
    evidence: int | None = None  # files received
    where: Place | None = None
    contact: str | None = None
    history: list[Step] = Field(default_factory=list)  # the steps answered, for KEMBALI
    editing: bool = False  # changing one answer from the summary
    # The valid numbers of an answer that also had an invalid one.
    phones_kept: list[str] = Field(default_factory=list)
    known_phone: str | None = None  # the number the channel knows, offered at CONTACT
    cancelling: bool = False  # BATAL was sent once: a second one deletes the draft

    def answer(self, step: Step) -> Any:
        return getattr(self, step.value)

    def answered(self, step: Step) -> bool:
        return self.answer(step) is not None

    def keep(self, step: Step, value: Any) -> None:
        setattr(self, step.value, value)


def contactable(state: ReportState) -> bool:
    return state.privacy == CONTACTABLE


def wants_contact(state: ReportState) -> bool:
    return contactable(state) and state.consent_contact == YES


def always(_state: ReportState) -> bool:
    return True


def required(answer: str | None) -> str:
    """An answer the summary is reached only with."""
    assert answer is not None
    return answer


@dataclass(frozen=True)
class Question:
    """A step answered by choosing: one option, or several then Done."""

    key: Step
    label: str
    text: str
    options: Callable[[Turn], list[Option]]
    multiple: bool = False
    applies: Callable[[ReportState], bool] = always

    async def ask(self, turn: Turn) -> None:
        turn.choose(turn.t(self.text), self.options(turn), multiple=self.multiple)

    async def answer(self, turn: Turn) -> bool:
        chosen = turn.picked(self.options(turn), multiple=self.multiple)
        if chosen is None:
            return False
        turn.state(ReportState).keep(self.key, chosen if self.multiple else chosen[0])
        return True

    def shown(self, turn: Turn, value: Any) -> str:
        names = {o.value: turn.t(o.label) for o in self.options(turn)}
        if self.multiple:
            return ", ".join(names.get(v, v) for v in value) or turn.t(N_("none"))
        return names.get(value, str(value))


@dataclass(frozen=True)
class Writing:
    """A step answered in the resident's own words, within length limits."""

    key: Step
    label: str
    text: str
    minimum: int = 1
    maximum: int = SHORT_MAX
    optional: bool = True
    applies: Callable[[ReportState], bool] = always

    async def ask(self, turn: Turn) -> None:
        turn.prompt(turn.t(self.text), actions=[SKIP] if self.optional else [])

    async def answer(self, turn: Turn) -> bool:
        state = turn.state(ReportState)
        if self.optional and turn.action() is Word.SKIP:
            state.keep(self.key, "")
            return True
        text = turn.typed()
        if not text:
            turn.say(N_("Please type your answer as text."))
            return False
        if len(text) < self.minimum:
            turn.say(
                N_("That is too short: please write at least {minimum} characters."),
                minimum=self.minimum,
            )
            return False
        if len(text) > self.maximum:
            turn.say(
                N_("That is too long ({length} characters): please keep it under {maximum}."),
                length=len(text),
                maximum=self.maximum,
            )
            return False
        state.keep(self.key, text)
        return True

    def shown(self, turn: Turn, value: Any) -> str:
        return str(value) if value else turn.t(N_("(skipped)"))


@dataclass(frozen=True)
class RecruiterPhones:
    """Any number of phone numbers; the valid ones are kept while an invalid one is re-asked."""

    key: Step = Step.RECRUITER_PHONES
    label: str = N_("Recruiter's phone numbers")
    applies: Callable[[ReportState], bool] = always

    async def ask(self, turn: Turn) -> None:
        text = turn.t(
            N_(
                "What phone or WhatsApp numbers did the recruiter use? Send one or several, "
                "separated by commas."
            )
        )
        kept = turn.state(ReportState).phones_kept
        if kept:
            text += "\n" + turn.t(N_("Kept so far: {numbers}"), numbers=", ".join(kept))
        turn.prompt(text, actions=[SKIP])

    async def answer(self, turn: Turn) -> bool:
        state = turn.state(ReportState)
        kept = state.phones_kept
        if turn.action() is Word.SKIP:
            state.recruiter_phones, state.phones_kept = kept, []
            return True
        text = turn.typed()
        if not text:
            turn.say(N_("Please type the numbers as text, or skip this question."))
            return False
        valid, invalid = phones(text)
        kept = kept + [n for n in valid if n not in kept]
        if invalid:
            state.phones_kept = kept
            turn.say(
                N_(
                    "This is not a phone number I can read: {invalid}. Please send it again "
                    "(e.g. 0812-3456-7890 or +62 812 3456 7890), or skip."
                ),
                invalid=", ".join(invalid),
            )
            return False
        state.recruiter_phones, state.phones_kept = kept, []
        return True

    def shown(self, turn: Turn, value: Any) -> str:
        return ", ".join(value) if value else turn.t(N_("(skipped)"))


@dataclass(frozen=True)
class Evidence:
    """Photos and documents, as many as the resident sends, until Done."""

    key: Step = Step.EVIDENCE
    label: str = N_("Evidence")
    applies: Callable[[ReportState], bool] = always

    async def ask(self, turn: Turn) -> None:
        count = await evidence_count(turn)
        if count:
            text = turn.t(N_("{count} file(s) received. You can send more."), count=count)
        else:
            text = turn.t(
                N_(
                    "Do you have photos, screenshots or documents (the advert, chats, a "
                    "contract, a receipt)? Send them here, one or several."
                )
            )
        turn.prompt(text, expects=Expect.MEDIA, actions=[DONE, SKIP])

    async def answer(self, turn: Turn) -> bool:
        # Files themselves were kept before this step saw the message (see keep_files).
        if turn.action() in (Word.DONE, Word.SKIP):
            turn.state(ReportState).evidence = await evidence_count(turn)
            return True
        if not turn.inbound.media:
            turn.say(N_("Please send a photo or a document."))
        return False

    def shown(self, turn: Turn, value: Any) -> str:
        return turn.t(N_("{count} file(s)"), count=value or 0)


@dataclass(frozen=True)
class Where:
    """An area from the config, or a shared (or typed) location."""

    key: Step = Step.WHERE
    label: str = N_("Where")
    applies: Callable[[ReportState], bool] = always

    def options(self, turn: Turn) -> list[Option]:
        return [Option(str(i), area) for i, area in enumerate(turn.services.intake.areas)]

    async def ask(self, turn: Turn) -> None:
        turn.choose(
            turn.t(N_("Where did this happen, or where is the recruiter? Choose an area.")),
            self.options(turn),
            also=Expect.LOCATION,
            hint=turn.t(N_("You can also share a location.")),
        )

    async def answer(self, turn: Turn) -> bool:
        location = turn.inbound.location
        typed = coordinates(turn.typed() or "")
        if location is not None:
            typed = (location.latitude, location.longitude)
        state = turn.state(ReportState)
        if typed is not None:
            state.where = Place(latitude=typed[0], longitude=typed[1])
            return True
        chosen = turn.picked(self.options(turn))
        if chosen is None:
            return False
        state.where = Place(area=turn.services.intake.areas[int(chosen[0])])
        return True

    def shown(self, turn: Turn, value: Place) -> str:
        if value.area:
            return value.area
        return turn.t(
            N_("location {latitude:.5f}, {longitude:.5f}"),
            latitude=value.latitude,
            longitude=value.longitude,
        )


@dataclass(frozen=True)
class Contact:
    """The number the task force may call: the one the channel knows, or one typed."""

    key: Step = Step.CONTACT
    label: str = N_("Your contact number")
    applies: Callable[[ReportState], bool] = wants_contact

    async def ask(self, turn: Turn) -> None:
        known = turn.inbound.known_phone or turn.inbound.contact
        if known:
            turn.state(ReportState).known_phone = known
            turn.choose(
                turn.t(N_("Which number can the task force contact you on?")),
                [Option("known", turn.t(N_("This number: {phone}"), phone=known))],
                hint=turn.t(N_("Or type another number.")),
            )
        else:
            turn.prompt(
                turn.t(N_("Which phone number can the task force contact you on?")),
                expects=Expect.CONTACT,
            )

    async def answer(self, turn: Turn) -> bool:
        state = turn.state(ReportState)
        known = state.known_phone
        press = turn.inbound.press
        if press is not None:
            if turn.stale() or not known:
                return False
            state.contact = known
            return True
        if turn.inbound.contact:
            typed = turn.inbound.contact
        else:
            typed = turn.typed() or ""
            if known and typed == "1":
                typed = known
        number = phone(typed)
        if number is None:
            turn.say(
                N_("That is not a phone number I can read. Please type it like 0812-3456-7890.")
            )
            return False
        state.contact = number
        return True

    def shown(self, turn: Turn, value: Any) -> str:
        return str(value)


def _destinations(turn: Turn) -> list[Option]:
    places = [Option(str(i), d) for i, d in enumerate(turn.services.intake.destinations)]
    return places + labels.options(labels.DESTINATION)


STEPS: list[Question | Writing | RecruiterPhones | Evidence | Where | Contact] = [
    Question(
        Step.PRIVACY,
        N_("Anonymous"),
        N_(
            "Your report goes only to the members of the anti-trafficking task force (Gugus "
            "Tugas TPPO) who must handle it. By default it is anonymous: they see what you "
            "tell me, not who you are.\n"
            "At any time you can type KEMBALI to go back or BATAL to cancel.\n\n"
            "Do you want to stay anonymous?"
        ),
        lambda _turn: [
            Option(ANONYMOUS, N_("Stay anonymous (recommended)")),
            Option(CONTACTABLE, N_("The task force may know who I am")),
        ],
    ),
    Question(
        Step.CONSENT_CONTACT,
        N_("The task force may contact you"),
        N_("May the task force contact you about this report?"),
        lambda _turn: YES_NO,
        applies=contactable,
    ),
    Question(
        Step.CONSENT_POLICE,
        N_("Your identity may be shared with the police"),
        N_("May your identity be shared with the police if the case needs it?"),
        lambda _turn: YES_NO,
        applies=contactable,
    ),
    Question(
        Step.URGENCY,
        N_("Urgency"),
        N_("Is any of these happening?"),
        lambda _turn: labels.options(labels.URGENCY),
    ),
    Question(
        Step.AFFECTED,
        N_("Who is affected"),
        N_("Who received this offer, or who is affected?"),
        lambda _turn: labels.options(labels.AFFECTED),
    ),
    Question(
        Step.CHILD,
        N_("A child involved"),
        N_("Is a child (under 18) involved?"),
        lambda _turn: labels.options(labels.CHILD),
    ),
    Question(
        Step.OFFER,
        N_("Kind of offer"),
        N_("What kind of job or offer is it?"),
        lambda _turn: labels.options(labels.OFFER),
    ),
    Question(
        Step.DESTINATION,
        N_("Destination"),
        N_("Where is the job supposed to be?"),
        _destinations,
    ),
    Question(
        Step.SOURCE,
        N_("How the offer came"),
        N_("How did the offer come?"),
        lambda _turn: labels.options(labels.SOURCE),
    ),
    Question(
        Step.RED_FLAGS,
        N_("Warning signs"),
        N_("Which of these happened? Choose all that apply, then Done (or Done for none)."),
        lambda _turn: labels.options(labels.RED_FLAGS),
        multiple=True,
    ),
    Writing(
        Step.RECRUITER_NAME,
        N_("Recruiter's name"),
        N_("What is the recruiter's name or nickname?"),
    ),
    Writing(
        Step.RECRUITER_AGENCY,
        N_("Agency or company"),
        N_("Which agency or company do they say they are from?"),
    ),
    RecruiterPhones(),
    Writing(
        Step.RECRUITER_LINK,
        N_("Account or advert link"),
        N_("Is there a social-media account or a link to the advert? Send it here."),
        maximum=LINK_MAX,
    ),
    Writing(
        Step.STORY,
        N_("What happened"),
        N_(
            "Tell us what happened, in your own words: who, what was promised, when and "
            "where. Do not put yourself at risk to find out more."
        ),
        minimum=STORY_MIN,
        maximum=STORY_MAX,
        optional=False,
    ),
    Evidence(),
    Where(),
    Contact(),
]
BY_KEY = {step.key: step for step in STEPS}


async def evidence_count(turn: Turn) -> int:
    assert turn.conv.id is not None
    return len(await reports.draft_media(turn.session, turn.conv.id))


def emergency_text(turn: Turn) -> str:
    lines = [turn.t(N_("If someone is in danger, call now:"))]
    for contact in turn.services.intake.emergency_contacts:
        note = f" ({contact.note})" if contact.note else ""
        lines.append(f"• {contact.name}: {contact.number}{note}")
    return "\n".join(lines)


class ReportFlow:
    """Stores each answer in the conversation as it comes, asks the next applicable step, and
    on confirmation submits the report."""

    name = Flow.REPORT
    words = frozenset({Word.REPORT})
    holds: Held | None = Held(
        same=N_("You have an unfinished report. Let's continue where you left off."),
        other=N_("Please send or cancel the report you are writing first."),
    )
    interrupts = False

    async def start(self, turn: Turn, argument: str = "") -> None:
        turn.begin(Flow.REPORT, Step.PRIVACY, ReportState())
        await self.resume(turn)

    async def cancel(self, turn: Turn) -> None:
        """Deletes the draft; one with more than CONFIRM_AFTER answers only on a second
        BATAL (the first asks, and the question waits)."""
        state = turn.state(ReportState)
        answers = sum(state.answered(step.key) for step in STEPS)
        if answers > CONFIRM_AFTER and not state.cancelling:
            state.cancelling = True
            turn.say(
                N_(
                    "Cancel this report? Your {count} answers will be deleted. Send BATAL "
                    "again to cancel it, or answer the question to go on."
                ),
                count=answers,
            )
            turn.resume = True
            return
        await discard(turn)
        turn.say(N_("Your report was cancelled and nothing was sent."))

    def writing(self, turn: Turn) -> bool:
        return isinstance(BY_KEY.get(Step(turn.step or Step.PRIVACY)), Writing | RecruiterPhones)

    async def resume(self, turn: Turn) -> None:
        step = Step(turn.step or Step.PRIVACY)
        if step is Step.SUMMARY:
            await self._ask_summary(turn)
        elif step is Step.CHANGE:
            self._ask_change(turn)
        else:
            await BY_KEY[step].ask(turn)

    async def handle(self, turn: Turn) -> None:
        step = Step(turn.step or Step.PRIVACY)
        state = turn.state(ReportState)
        await keep_files(turn)
        if turn.inbound.location is not None and step is not Step.WHERE:
            loc = turn.inbound.location
            state.where = Place(latitude=loc.latitude, longitude=loc.longitude)
            turn.say(N_("Location saved for this report."))
        action = turn.action()
        if action is Word.BACK:
            await self._back(turn)
            return
        if step is Step.SUMMARY:
            await self._answer_summary(turn)
            return
        if step is Step.CHANGE:
            chosen = turn.picked(self._changeable(turn))
            if chosen is None:
                self._ask_change(turn)
                return
            state.editing = True
            turn.go(Flow.REPORT, chosen[0])
            await self.resume(turn)
            return
        current = BY_KEY[step]
        inbound = turn.inbound
        only_kept = inbound.text is None and inbound.press is None
        if only_kept and step not in (Step.EVIDENCE, Step.WHERE, Step.CONTACT):
            # A file or a location was kept above; the question still waits for its answer.
            await current.ask(turn)
            return
        if not await current.answer(turn):
            await current.ask(turn)
            return
        if step is Step.URGENCY and state.urgency != Urgency.NONE:
            turn.tell(emergency_text(turn))
        await self._advance(turn, step)

    async def _advance(self, turn: Turn, step: Step) -> None:
        state = turn.state(ReportState)
        state.cancelling = False  # an answer: the resident goes on
        if state.editing:
            following = next(
                (s.key for s in STEPS if s.applies(state) and not state.answered(s.key)),
                Step.SUMMARY,
            )
            if following is Step.SUMMARY:
                state.editing = False
        else:
            state.history.append(step)
            keys = [s.key for s in STEPS]
            later = keys[keys.index(step) + 1 :]
            following = next((k for k in later if BY_KEY[k].applies(state)), Step.SUMMARY)
        turn.go(Flow.REPORT, following)
        await self.resume(turn)

    async def _back(self, turn: Turn) -> None:
        state = turn.state(ReportState)
        if state.editing or turn.step == Step.CHANGE:
            state.editing = False
            turn.go(Flow.REPORT, Step.SUMMARY)
        elif state.history:
            turn.go(Flow.REPORT, state.history.pop())
        else:
            turn.say(N_("This is the first question."))
        await self.resume(turn)

    def _changeable(self, turn: Turn) -> list[Option]:
        state = turn.state(ReportState)
        return [Option(s.key.value, s.label) for s in STEPS if s.applies(state)]

    def _ask_change(self, turn: Turn) -> None:
        turn.choose(turn.t(N_("Which answer do you want to change?")), self._changeable(turn))

    async def _ask_summary(self, turn: Turn) -> None:
        lines = [turn.t(N_("Please check your report:"))]
        state = turn.state(ReportState)
        for step in STEPS:
            if step.applies(state) and state.answered(step.key):
                value = state.answer(step.key)
                lines.append(f"• {turn.t(step.label)}: {step.shown(turn, value)}")
        turn.choose("\n".join(lines), SUMMARY_OPTIONS)

    async def _answer_summary(self, turn: Turn) -> None:
        chosen = turn.picked(SUMMARY_OPTIONS)
        if chosen is None:
            await self._ask_summary(turn)
        elif chosen[0] == SEND:
            await self._submit(turn)
        elif chosen[0] == CHANGE:
            turn.go(Flow.REPORT, Step.CHANGE)
            self._ask_change(turn)
        else:
            await self.cancel(turn)

    async def _submit(self, turn: Turn) -> None:
        state, services = turn.state(ReportState), turn.services
        assert turn.conv.id is not None
        anonymous = not contactable(state)
        where = state.where or Place()
        urgency = Urgency(required(state.urgency))
        child = ChildInvolved(required(state.child))
        flags = [RedFlag(f) for f in state.red_flags or []]
        destination = required(state.destination)
        if destination.isdigit():
            destination = services.intake.destinations[int(destination)]
        created = turn.now
        year = created.astimezone(services.bot.zone).year
        report = Report(
            reference=await reports.next_reference(
                turn.session, services.bot.reference_prefix, year
            ),
            created_at=created,
            priority=priority(urgency, child, flags),
            channel=turn.conv.channel,
            sender=turn.conv.sender,
            language=turn.conv.language,
            anonymous=anonymous,
            consent_contact=not anonymous and state.consent_contact == YES,
            consent_share_with_police=not anonymous and state.consent_police == YES,
            contact_phone=state.contact if wants_contact(state) else None,
            urgency=urgency,
            affected=Affected(required(state.affected)),
            child_involved=child,
            offer_kind=OfferKind(required(state.offer)),
            destination=destination,
            offer_source=OfferSource(required(state.source)),
            red_flags=[f.value for f in flags],
            recruiter_name=state.recruiter_name or None,
            recruiter_agency=state.recruiter_agency or None,
            recruiter_link=state.recruiter_link or None,
            story=required(state.story),
            area=where.area,
            latitude=where.latitude,
            longitude=where.longitude,
        )
        await reports.submit(
            turn.session,
            report,
            phones=state.recruiter_phones or [],
            conversation_id=turn.conv.id,
            channel=turn.conv.channel,
        )
        reached = await report_submitted(turn, report)
        assert report.id is not None
        turn.out.submitted.append(report.id)
        turn.reset()
        if reached:
            turn.say(
                N_(
                    "Thank you. Your report has been sent to the task force.\n"
                    "Your reference number: {reference}\n\n"
                    "What happens next: the members on duty are alerted now and will follow it "
                    "up. Type STATUS to see where it stands, or TAMBAH {reference} to add "
                    "information or evidence later."
                ),
                reference=report.reference,
            )
        else:
            # No member can be reached yet: no promise that anyone was told.
            turn.say(
                N_(
                    "Thank you. Your report is saved.\n"
                    "Your reference number: {reference}\n\n"
                    "No member of the task force can be reached right now; your report will "
                    "be passed to them as soon as one can. Type STATUS to see where it stands."
                ),
                reference=report.reference,
            )
            turn.tell(emergency_text(turn))
        turn.prompt(
            turn.t(
                N_(
                    "For your safety, you can clear this chat from your phone. You can also "
                    "subscribe to awareness messages about safe work abroad."
                )
            ),
            actions=[CLEAR, SUBSCRIBE],
        )


async def keep_files(turn: Turn) -> None:
    """Stores every file sent during the report as evidence, whatever the step: nothing a
    resident sends is dropped."""
    assert turn.conv.id is not None
    for stored, name in await evidence.store(turn):
        await reports.add_draft_media(turn.session, turn.conv.id, stored, name=name, at=turn.now)
    if turn.inbound.media and turn.step != Step.EVIDENCE:
        turn.say(N_("I have kept the file(s) with your evidence."))


async def discard(turn: Turn) -> None:
    """Forgets the draft and its files."""
    assert turn.conv.id is not None
    turn.delete_files += await reports.discard_draft_media(turn.session, turn.conv.id)
    turn.reset()


async def expire_drafts(services: Services) -> int:
    """Deletes the drafts left longer than draft_expiry_hours, with their files; the
    resident is told when they come back. Returns how many."""
    files: list[str] = []
    async with services.work() as work:
        before = work.now - timedelta(hours=services.intake.draft_expiry_hours)
        stale = await conversations.left_since(work.session, Flow.REPORT, before)
        for conv in stale:
            assert conv.id is not None
            files += await reports.discard_draft_media(work.session, conv.id)
            conv.flow, conv.step, conv.data, conv.draft_expired = None, None, {}, True
            work.session.add(conv)
    for sha256 in files:
        await services.media.delete(sha256)
    return len(stale)


def expired(turn: Turn) -> bool:
    hours = turn.services.intake.draft_expiry_hours
    return turn.now - turn.conv.updated_at > timedelta(hours=hours)
