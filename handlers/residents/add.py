"""`tambah`: a reporter adds information or evidence to one of their own reports."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from handlers.conversation import evidence
from handlers.conversation.messages import Expect, Option
from handlers.conversation.text import Word
from handlers.conversation.turn import DONE, Flow, Held, State, Turn
from handlers.i18n import N_
from handlers.intel import indexing
from handlers.residents.report import STORY_MAX
from handlers.taskforce.lifecycle import addition_received
from storage import reports
from storage.models import Report


class Step(StrEnum):
    CHOOSE = "choose"  # which of the chat's reports
    ADDING = "adding"


class AddState(State):
    report_id: int = 0
    reference: str = ""


NOT_FOUND = N_(
    "I found no report {reference} among the reports sent from this chat. Check the "
    "reference (it looks like {example})."
)


def example_reference(turn: Turn) -> str:
    """What a reference of this deployment looks like this year, e.g. BTN-2026-00042."""
    bot = turn.services.bot
    return f"{bot.reference_prefix}-{turn.now.astimezone(bot.zone).year}-00042"


class AddFlow:
    """Stores each message as an addition to the chosen report (with an event on its
    timeline) as soon as it arrives; asks for more until Done."""

    name = Flow.ADD
    words = frozenset({Word.ADD})
    holds: Held | None = None
    interrupts = False

    async def cancel(self, turn: Turn) -> None:
        turn.reset()
        turn.say(N_("Cancelled."))

    def writing(self, turn: Turn) -> bool:
        return turn.step == Step.ADDING

    async def start(self, turn: Turn, reference: str) -> None:
        if reference:
            report = await reports.own(turn.session, turn.conv.channel, turn.conv.sender, reference)
            if report is None:
                turn.say(NOT_FOUND, reference=reference, example=example_reference(turn))
                await self._ask_which(turn)
                return
            await self._adding(turn, report)
            return
        mine = await self._mine(turn)
        if len(mine) == 1:
            await self._adding(turn, mine[0])
        elif not mine:
            turn.reset()
            turn.say(N_("You have not sent any report from this chat."))
        else:
            await self._ask_which(turn)

    async def resume(self, turn: Turn) -> None:
        if turn.step == Step.ADDING:
            self._ask_more(turn)
        else:
            await self._ask_which(turn)

    async def handle(self, turn: Turn) -> None:
        if turn.step == Step.ADDING:
            await self._add(turn)
            return
        mine = await self._mine(turn)
        text = turn.typed() or ""
        if turn.inbound.press is None and "-" in text:
            await self.start(turn, text)
            return
        picked = turn.picked(self._options(mine))
        if picked is None:
            await self._ask_which(turn)
            return
        report = next(r for r in mine if r.reference == picked[0])
        await self._adding(turn, report)

    async def _mine(self, turn: Turn) -> Sequence[Report]:
        return await reports.of_sender(turn.session, turn.conv.channel, turn.conv.sender)

    @staticmethod
    def _options(mine: Sequence[Report]) -> list[Option]:
        return [Option(r.reference, r.reference) for r in mine]

    async def _ask_which(self, turn: Turn) -> None:
        mine = await self._mine(turn)
        turn.begin(Flow.ADD, Step.CHOOSE, AddState())
        if not mine:
            turn.reset()
            turn.say(N_("You have not sent any report from this chat."))
            return
        turn.choose(
            turn.t(N_("Which report do you want to add information to?")),
            self._options(mine),
            hint=turn.t(N_("Or type its reference.")),
        )

    async def _adding(self, turn: Turn, report: Report) -> None:
        assert report.id is not None
        turn.begin(Flow.ADD, Step.ADDING, AddState(report_id=report.id, reference=report.reference))
        turn.prompt(
            turn.t(
                N_(
                    "What would you like to add to {reference}? Send text, photos or "
                    "documents, in one or more messages."
                ),
                reference=report.reference,
            ),
            expects=Expect.MEDIA,
            actions=[DONE],
        )

    def _ask_more(self, turn: Turn) -> None:
        turn.prompt(
            turn.t(
                N_("Added to {reference}. You can send more."),
                reference=turn.state(AddState).reference,
            ),
            expects=Expect.MEDIA,
            actions=[DONE],
        )

    async def _add(self, turn: Turn) -> None:
        state = turn.state(AddState)
        if turn.action() is Word.DONE:
            reference = state.reference
            turn.reset()
            turn.say(
                N_("Thank you. The task force will see what you added to {reference}."),
                reference=reference,
            )
            return
        report = await reports.get(turn.session, state.report_id)
        assert report is not None
        text = turn.typed() or None
        if text is not None and len(text) > STORY_MAX:
            turn.say(
                N_("That is too long ({length} characters): please keep it under {maximum}."),
                length=len(text),
                maximum=STORY_MAX,
            )
            self._ask_more(turn)
            return
        files = await evidence.store(turn)
        if text is None and not files:
            turn.prompt(
                turn.t(N_("Please send text, a photo or a document.")),
                expects=Expect.MEDIA,
                actions=[DONE],
            )
            return
        await reports.add_information(
            turn.session, report, text=text, media=files, at=turn.now, channel=turn.conv.channel
        )
        if text is not None:
            await indexing.index_addition(turn.session, report, text, turn.now)
        await addition_received(turn, report, text, len(files))
        self._ask_more(turn)
