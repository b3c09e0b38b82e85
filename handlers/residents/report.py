"""The report intake: a guided conversation, then a summary to check and send. Each answer is
kept in the conversation's state (`ReportState`, a field per step) as it comes, so a restart,
"back" or a change from the summary loses nothing.

Three paths through the steps (`path`):
- the usual one: at most ten answers to a complete anonymous report, the details that take
  longer (how the offer came, files, the place) offered from the summary;
- the urgent one (someone in danger now, leaving within 48 hours, or abroad and in need of
  help): where, who and what is happening, then the alert goes at once;
- after an urgent report was sent: the other questions, each answer added to that report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from handlers import labels
from handlers.conversation import evidence
from handlers.conversation.messages import Expect, Option
from handlers.conversation.text import (
    Recruiter,
    Word,
    coordinates,
    language_of,
    mentions,
    numbers,
    phone,
    recruiter,
)
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
    Work,
)
from handlers.i18n import N_, gettext
from handlers.intel import indexing
from handlers.residents.emergency import emergency_text
from handlers.residents.priority import priority
from handlers.risk import score
from handlers.taskforce.alerts import report_submitted
from handlers.taskforce.lifecycle import addition_received
from storage import conversations, reports
from storage.models import (
    Affected,
    AgencyKind,
    ChildInvolved,
    Destination,
    OfferKind,
    OfferSource,
    RedFlag,
    Report,
    Urgency,
)

STORY_MIN, STORY_MAX = 10, 3000
CONFIRM_AFTER = 3  # answers a draft may have and still be cancelled by one BATAL
RECRUITER_MAX = 2000  # what is told about the recruiter, all messages together
OPENING_WORDS = 3  # a first message of fewer words is not taken as a story
NAME_MAX = 200  # what a report keeps as the recruiter's name; a longer description goes
# with the story


class Step(StrEnum):
    URGENCY = "urgency"
    PRIVACY = "privacy"  # may the task force contact the reporter
    CONSENT_SHARE = "consent_share"  # to which kinds of agencies the number may go
    CONTACT = "contact"
    AFFECTED = "affected"
    CHILD = "child"
    OFFER = "offer"
    DESTINATION = "destination"
    RED_FLAGS = "red_flags"
    RECRUITER = "recruiter"
    STORY = "story"
    SOURCE = "source"
    EVIDENCE = "evidence"
    WHERE = "where"
    SUMMARY = "summary"
    CHANGE = "change"  # choosing which answer to change


ANONYMOUS, CONTACTABLE = "anonymous", "contactable"
SEND, DETAILS, CHANGE, CANCEL = "send", "details", "change", "cancel"
# The kinds of agencies a reporter is asked about (the others get a case file without their
# number, unless a coordinator overrides: handlers/usecases/referral.py).
NOT_ASKED = {AgencyKind.IMMIGRATION, AgencyKind.OTHER}


class Place(BaseModel):
    """An area from the config, or coordinates."""

    area: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class ReportState(State):
    """The answers so far, a field per step named as the step: None until answered (a
    skipped text is "")."""

    urgency: str | None = None
    privacy: str | None = None
    consent_share: list[str] | None = None
    contact: str | None = None
    affected: str | None = None
    child: str | None = None
    offer: str | None = None
    destination: str | None = None
    red_flags: list[str] | None = None
    recruiter: list[str] | None = None  # the messages about the recruiter; [] when skipped
    story: str | None = None
    source: str | None = None
    evidence: int | None = None  # files received
    where: Place | None = None
    # The resident's first message, when they opened with their story, and what they wrote
    # where options were asked: the story's start.
    opening: str | None = None
    details: bool = False  # the longer questions were asked for from the summary
    history: list[Step] = Field(default_factory=list)  # the steps answered, for KEMBALI
    editing: bool = False  # changing one answer from the summary
    known_phone: str | None = None  # the number the channel knows, offered at CONTACT
    cancelling: bool = False  # BATAL was sent once: a second one deletes the draft
    # An urgent report already sent: the questions go on, each answer added to it.
    report_id: int | None = None
    reference: str | None = None

    def answer(self, step: Step) -> Any:
        return getattr(self, step.value)

    def answered(self, step: Step) -> bool:
        return self.answer(step) is not None

    def keep(self, step: Step, value: Any) -> None:
        setattr(self, step.value, value)

    def about_recruiter(self) -> Recruiter:
        return recruiter("\n".join(self.recruiter or []))

    def full_story(self) -> str:
        return "\n\n".join(part for part in (self.opening, self.story) if part)


def contactable(state: ReportState) -> bool:
    return state.privacy == CONTACTABLE


def urgent(state: ReportState) -> bool:
    return state.urgency not in (None, Urgency.NONE)


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
class Story:
    """What happened, in the resident's own words. When they opened with it, the step shows
    what they wrote and asks only for what is missing (or skip)."""

    key: Step = Step.STORY
    label: str = N_("What happened")
    applies: Callable[[ReportState], bool] = lambda s: not (urgent(s) and s.opening)

    async def ask(self, turn: Turn) -> None:
        state = turn.state(ReportState)
        if state.opening:
            turn.prompt(
                turn.t(
                    N_(
                        "You wrote: “{opening}”\n\nAnything to add: who, what was promised, "
                        "when and where? Write it here, or skip."
                    ),
                    opening=state.opening,
                ),
                actions=[SKIP],
            )
        elif urgent(state):
            turn.prompt(
                turn.t(
                    N_(
                        "What is happening now? Who is in danger, where exactly, and how can "
                        "they be reached?"
                    )
                )
            )
        else:
            turn.prompt(
                turn.t(
                    N_(
                        "Tell us what happened, in your own words: who, what was promised, "
                        "when and where. Do not put yourself at risk to find out more."
                    )
                )
            )

    async def answer(self, turn: Turn) -> bool:
        state = turn.state(ReportState)
        if state.opening and turn.action() is Word.SKIP:
            state.story = ""
            return True
        text = turn.typed()
        if not text:
            turn.say(N_("Please type your answer as text."))
            return False
        minimum = 1 if state.opening else STORY_MIN
        maximum = STORY_MAX - len(state.opening) - 2 if state.opening else STORY_MAX
        if len(text) < minimum:
            turn.say(
                N_("That is too short: please write at least {minimum} characters."),
                minimum=minimum,
            )
            return False
        if len(text) > maximum:
            turn.say(
                N_("That is too long ({length} characters): please keep it under {maximum}."),
                length=len(text),
                maximum=maximum,
            )
            return False
        state.story = text
        return True

    def shown(self, turn: Turn, value: Any) -> str:
        return turn.state(ReportState).full_story()


@dataclass(frozen=True)
class AboutRecruiter:
    """One question for everything that identifies the recruiter, in one or several messages;
    what was understood (numbers, links, accounts, agencies) is shown back after each."""

    key: Step = Step.RECRUITER
    label: str = N_("The recruiter")
    applies: Callable[[ReportState], bool] = always

    async def ask(self, turn: Turn) -> None:
        told = turn.state(ReportState).about_recruiter()
        if told != Recruiter():
            turn.prompt(
                turn.t(
                    N_("Noted:\n{recruiter}\n\nSend more, or go on."), recruiter=shown(turn, told)
                ),
                actions=[DONE],
            )
            return
        turn.prompt(
            turn.t(
                N_(
                    "Anything that identifies the recruiter: a name, the agency, phone "
                    "numbers, links or accounts, a bank account they asked money for. Send it "
                    "in one or more messages, or skip."
                )
            ),
            actions=[SKIP],
        )

    async def answer(self, turn: Turn) -> bool:
        state = turn.state(ReportState)
        told = state.recruiter
        if turn.action() in (Word.SKIP, Word.DONE):
            state.recruiter = told or []
            return True
        text = turn.typed()
        if not text:
            turn.say(N_("Please type it as text, or skip."))
            return False
        messages = [*(told or []), text]
        if sum(len(m) for m in messages) > RECRUITER_MAX:
            turn.say(
                N_("That is too long ({length} characters): please keep it under {maximum}."),
                length=len(text),
                maximum=RECRUITER_MAX,
            )
            return False
        state.recruiter = messages
        return False  # the step waits for more, or for Done

    def shown(self, turn: Turn, value: Any) -> str:
        told = turn.state(ReportState).about_recruiter()
        return "\n" + shown(turn, told) if value else turn.t(N_("(skipped)"))


def shown(turn: Turn, told: Recruiter) -> str:
    """What was understood about the recruiter, a line per kind."""
    parts = [
        (N_("Phone numbers"), ", ".join(told.phones)),
        (N_("Links and accounts"), ", ".join(told.links)),
        (N_("Bank or e-wallet accounts"), ", ".join(told.accounts)),
        (N_("Agency or company"), ", ".join(told.agencies)),
        (N_("Other"), told.rest),
    ]
    return "\n".join(f"  – {turn.t(label)}: {value}" for label, value in parts if value)


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
        language, default = turn.conv.language, turn.services.bot.default_language
        areas = turn.services.intake.areas
        return [Option(str(i), a.text(language, default)) for i, a in enumerate(areas)]

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
        state.where = Place(area=turn.services.intake.areas[int(chosen[0])].key)
        return True

    def shown(self, turn: Turn, value: Place) -> str:
        if value.area:
            services = turn.services
            return services.intake.shown(
                value.area, turn.conv.language, services.bot.default_language
            )
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
    applies: Callable[[ReportState], bool] = contactable

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
    language, default = turn.conv.language, turn.services.bot.default_language
    destinations = turn.services.intake.destinations
    places = [Option(str(i), d.text(language, default)) for i, d in enumerate(destinations)]
    return places + labels.options(labels.DESTINATION)


STEPS: list[Question | Story | AboutRecruiter | Evidence | Where | Contact] = [
    Question(
        Step.URGENCY,
        N_("Urgency"),
        N_("First: is any of these happening?"),
        lambda _turn: labels.options(labels.URGENCY),
    ),
    Question(
        Step.PRIVACY,
        N_("The task force may contact you"),
        N_(
            "Your name is not asked, and the task force does not see your number unless you "
            "allow it. May they contact you about this?"
        ),
        lambda _turn: [
            Option(ANONYMOUS, N_("No, stay anonymous")),
            Option(CONTACTABLE, N_("Yes, they may contact me")),
        ],
    ),
    Question(
        Step.CONSENT_SHARE,
        N_("Who may get your number"),
        N_(
            "Who may the task force give your number to, if the case needs it? Choose all "
            "that apply."
        ),
        lambda _turn: labels.options(labels.AGENCY_KIND, leave_out=NOT_ASKED),
        multiple=True,
        applies=contactable,
    ),
    Contact(),
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
        lambda _turn: labels.options(labels.OFFER, leave_out={OfferKind.UNKNOWN}),
    ),
    Question(
        Step.DESTINATION,
        N_("Destination"),
        N_("Where is the job supposed to be?"),
        _destinations,
    ),
    Question(
        Step.RED_FLAGS,
        N_("Warning signs"),
        N_("Which of these happened? Choose all that apply."),
        lambda _turn: labels.options(labels.RED_FLAGS),
        multiple=True,
    ),
    AboutRecruiter(),
    Story(),
    Question(
        Step.SOURCE,
        N_("How the offer came"),
        N_("How did the offer come?"),
        lambda _turn: labels.options(labels.SOURCE, leave_out={OfferSource.UNKNOWN}),
    ),
    Evidence(),
    Where(),
]
BY_KEY = {step.key: step for step in STEPS}

S = Step
USUAL = [S.URGENCY, S.PRIVACY, S.CONSENT_SHARE, S.CONTACT, S.AFFECTED, S.CHILD, S.OFFER,
         S.DESTINATION, S.RED_FLAGS, S.RECRUITER, S.STORY]  # fmt: skip
DETAIL_STEPS = [S.SOURCE, S.EVIDENCE, S.WHERE]  # offered from the summary
URGENT = [S.URGENCY, S.WHERE, S.AFFECTED, S.STORY]  # then the alert, at once
AFTER_URGENT = [S.PRIVACY, S.CONSENT_SHARE, S.CONTACT, S.CHILD, S.OFFER, S.DESTINATION,
                S.RED_FLAGS, S.RECRUITER, S.SOURCE, S.EVIDENCE]  # fmt: skip


def path(state: ReportState) -> list[Step]:
    """The steps this report goes through, in order."""
    if state.report_id is not None:
        return AFTER_URGENT
    if urgent(state):
        return URGENT
    return USUAL + DETAIL_STEPS if state.details else USUAL


def steps(
    state: ReportState,
) -> list[Question | Story | AboutRecruiter | Evidence | Where | Contact]:
    """The steps of the path that apply to these answers."""
    return [BY_KEY[key] for key in path(state) if BY_KEY[key].applies(state)]


def first_unanswered(state: ReportState) -> Step:
    """The first step of the path still to answer, or the summary."""
    return next((s.key for s in steps(state) if not state.answered(s.key)), Step.SUMMARY)


def summary_options(state: ReportState) -> list[Option]:
    more = (
        []
        if state.details
        else [Option(DETAILS, N_("Add details: how the offer came, files, the place"))]
    )
    return [
        Option(SEND, N_("Send the report")),
        *more,
        Option(CHANGE, N_("Change an answer")),
        Option(CANCEL, N_("Cancel")),
    ]


async def evidence_count(turn: Turn) -> int:
    assert turn.conv.id is not None
    return len(await reports.draft_media(turn.session, turn.conv.id))


INTRO = N_(
    "Your report goes only to the members of the anti-trafficking task force (Gugus Tugas "
    "TPPO) who must handle it, and it is anonymous unless you choose otherwise. Type KEMBALI "
    "to go back or BATAL to cancel at any time."
)


class ReportFlow:
    """Stores each answer in the conversation as it comes, asks the next step of the path,
    and on confirmation (at once for an urgent report) submits the report."""

    name = Flow.REPORT
    words = frozenset({Word.REPORT})
    holds: Held | None = Held(
        same=N_("You have an unfinished report. Let's continue where you left off."),
        other=N_("Please send or cancel the report you are writing first."),
    )
    interrupts = False

    async def start(self, turn: Turn, argument: str = "") -> None:
        state = turn.begin(Flow.REPORT, Step.URGENCY, ReportState())
        turn.say(INTRO)
        await self._to_first(turn, state)

    async def open_with(self, turn: Turn, text: str, *, danger: bool) -> None:
        """A report begun with the resident's own words: they are the story's start. Words
        of danger show the emergency contacts first and make it urgent."""
        state = turn.begin(Flow.REPORT, Step.URGENCY, ReportState(opening=text[:STORY_MAX]))
        if danger:
            turn.tell(emergency_text(turn))
            state.urgency = Urgency.DANGER_NOW
            turn.say(N_("I will pass this to the task force at once. Two quick questions first."))
        else:
            turn.say(N_("Thank you for telling us. I have kept what you wrote."))
            turn.say(INTRO)
        await self._to_first(turn, state)

    async def _to_first(self, turn: Turn, state: ReportState) -> None:
        turn.go(Flow.REPORT, first_unanswered(state))
        await self.resume(turn)

    async def cancel(self, turn: Turn) -> None:
        """Deletes the draft; one with more than CONFIRM_AFTER answers only on a second
        BATAL (the first asks, and the question waits). After an urgent report was sent,
        the questions stop and the report stays."""
        state = turn.state(ReportState)
        if state.reference is not None:
            await self._finish(turn)
            return
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
        return self._step(turn) in (Step.RECRUITER, Step.STORY)

    def _step(self, turn: Turn) -> Step:
        """Where the draft stands; a step no longer asked (a draft from an older version)
        counts as the first one left to answer."""
        try:
            return Step(turn.step or Step.URGENCY)
        except ValueError:
            return first_unanswered(turn.state(ReportState))

    async def resume(self, turn: Turn) -> None:
        step = self._step(turn)
        turn.go(Flow.REPORT, step)
        if step is Step.SUMMARY:
            await self._ask_summary(turn)
        elif step is Step.CHANGE:
            self._ask_change(turn)
        else:
            await BY_KEY[step].ask(turn)

    async def handle(self, turn: Turn) -> None:
        step = self._step(turn)
        state = turn.state(ReportState)
        if state.report_id is not None:
            await self._add_files(turn)
        else:
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
        if isinstance(current, Question | Where) and await self._told_more(turn, current):
            return
        inbound = turn.inbound
        only_kept = inbound.text is None and inbound.press is None
        if only_kept and step not in (Step.EVIDENCE, Step.WHERE, Step.CONTACT):
            # A file or a location was kept above; the question still waits for its answer.
            await current.ask(turn)
            return
        if not await current.answer(turn):
            await current.ask(turn)
            return
        if step is Step.URGENCY and urgent(state):
            turn.tell(emergency_text(turn))
            if state.urgency == Urgency.ABROAD_NEEDS_HELP:  # the numbers that work from there
                turn.tell(emergency_text(turn, abroad=True))
        if state.report_id is not None:
            await self._amend(turn, current)
        await self._advance(turn, step)

    async def _told_more(self, turn: Turn, current: Question | Where) -> bool:
        """Words typed where options are asked (a story told in several messages) are more
        of the story, not a wrong answer: kept, and the question is asked again."""
        text = turn.typed()
        if turn.inbound.press is not None or not text or not story_like(text):
            return False
        labels = {turn.t(o.label).casefold() for o in current.options(turn)}
        if numbers(text) is not None or text.casefold() in labels or coordinates(text):
            return False
        state = turn.state(ReportState)
        if len(state.full_story()) + len(text) + 2 > STORY_MAX:
            return False  # no room left: the question is answered, or refused, as it was
        if state.story is not None:  # the story was told already: this comes after it
            state.story = "\n\n".join(part for part in (state.story, text) if part)
        else:
            state.opening = "\n\n".join(part for part in (state.opening, text) if part)
        if state.report_id is not None:  # the urgent report was sent: this is an addition
            report = await reports.get(turn.session, state.report_id)
            assert report is not None
            report.story = state.full_story()
            turn.session.add(report)
            await reports.add_information(
                turn.session, report, text=text, at=turn.now, channel=turn.conv.channel
            )
            await indexing.index_addition(turn.session, report, text, turn.now)
            await addition_received(turn, report, text, 0)
            turn.say(N_("Added to {reference}."), reference=report.reference)
        else:
            turn.say(N_("I have added that to your story."))
        await current.ask(turn)
        return True

    async def _advance(self, turn: Turn, step: Step) -> None:
        state = turn.state(ReportState)
        state.cancelling = False  # an answer: the resident goes on
        keys = [s.key for s in steps(state)]
        editing = state.editing  # an answer changed from the summary goes back to it
        if editing or step not in keys:
            following = first_unanswered(state)
            if following is Step.SUMMARY:
                state.editing = False
        else:
            state.history.append(step)
            later = keys[keys.index(step) + 1 :]
            following = later[0] if later else Step.SUMMARY
        if following is Step.SUMMARY and state.report_id is not None:
            await self._finish(turn)
        elif following is Step.SUMMARY and urgent(state) and not editing:
            await self._submit(turn)
        else:
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
        return [Option(s.key.value, s.label) for s in steps(turn.state(ReportState))]

    def _ask_change(self, turn: Turn) -> None:
        turn.choose(turn.t(N_("Which answer do you want to change?")), self._changeable(turn))

    async def _ask_summary(self, turn: Turn) -> None:
        lines = [turn.t(N_("Please check your report:"))]
        state = turn.state(ReportState)
        for step in steps(state):
            if state.answered(step.key):
                value = state.answer(step.key)
                lines.append(f"• {turn.t(step.label)}: {step.shown(turn, value)}")
        files = await evidence_count(turn)
        if files and not state.answered(Step.EVIDENCE):  # sent along the way
            lines.append(f"• {turn.t(Evidence.label)}: {Evidence().shown(turn, files)}")
        turn.choose("\n".join(lines), summary_options(state))

    async def _answer_summary(self, turn: Turn) -> None:
        state = turn.state(ReportState)
        chosen = turn.picked(summary_options(state))
        if chosen is None:
            await self._ask_summary(turn)
        elif chosen[0] == SEND:
            await self._submit(turn)
        elif chosen[0] == DETAILS:
            state.details, state.editing = True, True
            await self._to_first(turn, state)
        elif chosen[0] == CHANGE:
            turn.go(Flow.REPORT, Step.CHANGE)
            self._ask_change(turn)
        else:
            await self.cancel(turn)

    async def _submit(self, turn: Turn) -> None:
        state, services = turn.state(ReportState), turn.services
        assert turn.conv.id is not None
        created = turn.now
        year = created.astimezone(services.bot.zone).year
        report = Report(
            reference=await reports.next_reference(
                turn.session, services.bot.reference_prefix, year
            ),
            created_at=created,
            channel=turn.conv.channel,
            sender=turn.conv.sender,
            language=turn.conv.language,
            **fields(state, services),
        )
        phones = list(dict.fromkeys(state.about_recruiter().phones))  # as stored
        await reports.submit(
            turn.session,
            report,
            phones=phones,
            conversation_id=turn.conv.id,
            channel=turn.conv.channel,
        )
        await indexing.index_report(turn.session, report, turn.now, phones)  # before its alert
        reached = await report_submitted(turn, report, phones)
        assert report.id is not None
        turn.out.submitted.append(report.id)
        if not reached:
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
        elif urgent(state):
            turn.say(
                N_(
                    "Your report has been sent to the task force as urgent. The members on "
                    "duty are alerted now.\nYour reference number: {reference}"
                ),
                reference=report.reference,
            )
        else:
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
        if urgent(state):
            # The other questions help the task force: each answer is added to this report.
            state.report_id, state.reference, state.history = report.id, report.reference, []
            if any(not state.answered(s.key) for s in steps(state)):
                turn.say(
                    N_(
                        "If you can, answer a few more questions: each answer is added to "
                        "{reference} at once. Type BATAL to stop."
                    ),
                    reference=report.reference,
                )
                await self._to_first(turn, state)
                return
        await self._finish(turn, report.reference if urgent(state) else None)

    async def _amend(self, turn: Turn, step: Any) -> None:
        """An answer after an urgent report was sent: the report is brought up to date, and
        the answer reaches the task force as an addition."""
        state = turn.state(ReportState)
        assert state.report_id is not None
        report = await reports.get(turn.session, state.report_id)
        assert report is not None
        for name, value in fields(state, turn.services).items():
            setattr(report, name, value)
        turn.session.add(report)
        await reports.add_phones(turn.session, report, state.about_recruiter().phones)
        await indexing.index_report(turn.session, report, turn.now)
        if step.key is Step.EVIDENCE:
            return  # the files were added as they came
        text = f"{turn.t(step.label)}: {step.shown(turn, state.answer(step.key))}"
        await reports.add_information(
            turn.session, report, text=text, at=turn.now, channel=turn.conv.channel
        )
        await addition_received(turn, report, text, 0)

    async def _add_files(self, turn: Turn) -> None:
        """Files sent after an urgent report was sent go straight to it."""
        state = turn.state(ReportState)
        files = await evidence.store(turn)
        if not files:
            return
        report = await reports.get(turn.session, state.report_id or 0)
        assert report is not None
        await reports.add_information(
            turn.session, report, text=None, media=files, at=turn.now, channel=turn.conv.channel
        )
        await addition_received(turn, report, None, len(files))
        state.evidence = (state.evidence or 0) + len(files)
        turn.say(N_("Added to {reference}."), reference=report.reference)

    async def _finish(self, turn: Turn, reference: str | None = None) -> None:
        """The end of a report: the chat can be cleared, awareness messages subscribed to."""
        reference = reference or turn.state(ReportState).reference
        turn.reset()
        if reference is not None:
            turn.say(
                N_(
                    "Thank you. The task force has everything you told us. Type STATUS to see "
                    "where {reference} stands, or TAMBAH {reference} to add more later."
                ),
                reference=reference,
            )
        turn.prompt(
            turn.t(
                N_(
                    "For your safety, you can clear this chat from your phone. You can also "
                    "subscribe to awareness messages about safe work abroad."
                )
            ),
            actions=[CLEAR, SUBSCRIBE],
        )


def fields(state: ReportState, services: Services) -> dict[str, Any]:
    """The report's fields from the answers; what was not asked yet (an urgent report, sent
    after three answers) is stored as not known."""
    anonymous = not contactable(state)
    shared = [] if anonymous else [AgencyKind(k) for k in state.consent_share or []]
    where = state.where or Place()
    urgency = Urgency(required(state.urgency))
    child = ChildInvolved(state.child or ChildInvolved.UNKNOWN)
    flags = [RedFlag(f) for f in state.red_flags or []]
    destination = state.destination or Destination.UNKNOWN.value
    if destination.isdigit():
        destination = services.intake.destinations[int(destination)].key
    told = state.about_recruiter()
    story, name = state.full_story(), told.rest
    if len(name) > NAME_MAX:  # a description rather than a name: kept whole, in the story
        label = gettext(services.bot.default_language)(AboutRecruiter.label)
        story = "\n\n".join(part for part in (story, f"{label}: {name}") if part)
        name = name[: NAME_MAX - 1] + "…"
    offer = OfferKind(state.offer or OfferKind.UNKNOWN)
    # Scored as the alert will score the stored report (handlers/risk.py of_report).
    risk = score(flags, destination, offer, "\n".join(t for t in (story[:STORY_MAX], name) if t))
    return {
        "priority": priority(urgency, child, flags, risk.level),
        "anonymous": anonymous,
        "consent_contact": not anonymous,
        "consent_share_with_police": AgencyKind.POLICE in shared,
        "consent_share_with": shared,
        "contact_phone": state.contact if not anonymous else None,
        "urgency": urgency,
        "affected": Affected(required(state.affected)),
        "child_involved": child,
        "offer_kind": offer,
        "destination": destination,
        "offer_source": OfferSource(state.source or OfferSource.UNKNOWN),
        "red_flags": [f.value for f in flags],
        "recruiter_name": name or None,
        "recruiter_agency": ", ".join(told.agencies)[:200] or None,
        "recruiter_link": ", ".join([*told.links, *told.accounts])[:500] or None,
        "story": story[:STORY_MAX],
        "area": where.area,
        "latitude": where.latitude,
        "longitude": where.longitude,
    }


async def own_words(turn: Turn, text: str) -> bool:
    """A message at the start or at the menu that is not a command: the resident's story
    (kept as its start) opens a report, at once urgent when it has words of danger. Too
    short to be a story (a word or two), it is not one."""
    danger = mentions(text, turn.services.intake.all_danger_words)
    if not danger and not story_like(text):
        return False
    language = language_of(text)
    if language in turn.services.bot.languages and language != turn.conv.language:
        turn.set_language(language)  # answered in the language they wrote in
    await ReportFlow().open_with(turn, text, danger=danger)
    return True


def story_like(text: str) -> bool:
    """Long enough to be something told: a few words, not an answer of a word or two."""
    return len(text) >= STORY_MIN and len(text.split()) >= OPENING_WORDS


async def keep_files(turn: Turn) -> None:
    """Stores every file sent during the report as evidence, whatever the step: nothing a
    resident sends is dropped."""
    assert turn.conv.id is not None
    for stored, name in await evidence.store(turn):
        await reports.add_draft_media(turn.session, turn.conv.id, stored, name=name, at=turn.now)
    if turn.inbound.media and turn.step != Step.EVIDENCE:
        turn.say(N_("I have kept the file(s) with your evidence."))


async def discard(turn: Turn) -> bool:
    """Forgets the draft and its files; False when there was none (the questions after an
    urgent report, which is stored)."""
    assert turn.conv.id is not None
    draft = turn.state(ReportState).report_id is None
    turn.delete_files += await reports.discard_draft_media(turn.session, turn.conv.id)
    turn.reset()
    return draft


async def expire_drafts(services: Services) -> int:
    """Deletes the drafts left longer than draft_expiry_hours, with their files; the
    resident is told when they come back. Returns how many."""
    async with services.work() as work:
        before = work.now - timedelta(hours=services.intake.draft_expiry_hours)
        expired, files = await expire_left(work, [Flow.REPORT], before)
    for sha256 in files:
        await services.media.delete(sha256)
    return expired


async def expire_left(
    work: Work, flows: Sequence[Flow] | None, before: datetime, limit: int | None = None
) -> tuple[int, list[str]]:
    """Ends the conversations left in one of `flows` (None: any flow) since `before`, at most
    `limit`: their answers and draft files go (an unfinished report's resident is told when
    they come back; `[retention] drafts_days` ends every flow's this way). Returns how many,
    and the files for the caller to delete from the media store once committed."""
    files: list[str] = []
    stale = await conversations.left_since(work.session, flows, before, limit)
    for conv in stale:
        assert conv.id is not None
        files += await reports.discard_draft_media(work.session, conv.id)
        # Not the questions after an urgent report was sent: that report is not lost.
        draft = conv.flow == Flow.REPORT and "report_id" not in conv.data
        conv.flow, conv.step, conv.data = None, None, {}
        conv.draft_expired = conv.draft_expired or draft
        work.session.add(conv)
    return len(stale), files


def expired(turn: Turn) -> bool:
    hours = turn.services.intake.draft_expiry_hours
    return turn.now - turn.conv.updated_at > timedelta(hours=hours)
