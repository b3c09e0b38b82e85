"""`bahasa`: the resident chooses the language of their conversation."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from handlers.conversation.messages import Option
from handlers.conversation.text import LANGUAGE_NAMES, Word
from handlers.conversation.turn import Flow, Held, State, Turn
from handlers.i18n import N_

NAMES = {"id": "Bahasa Indonesia", "en": "English"}


class Step(StrEnum):
    CHOOSE = "choose"


class LanguageState(State):
    """Where the resident was, with that flow's answers, to return to once chosen."""

    back_flow: Flow | None = None
    back_step: str | None = None
    kept: dict[str, Any] = Field(default_factory=dict)


class LanguageFlow:
    """Stores the language on the conversation, then returns to where the resident was."""

    name = Flow.LANGUAGE
    words = frozenset({Word.LANGUAGE})
    holds: Held | None = None
    interrupts = True

    def options(self, turn: Turn) -> list[Option]:
        return [Option(code, NAMES.get(code, code)) for code in turn.services.bot.languages]

    def parse(self, turn: Turn, text: str) -> str | None:
        text = text.strip().lower()
        code = LANGUAGE_NAMES.get(text, text)
        return code if code in turn.services.bot.languages else None

    async def start(self, turn: Turn, argument: str) -> None:
        """Sets the language named in the argument (and goes on where the resident was), or
        asks for one."""
        code = self.parse(turn, argument) if argument else None
        if code is not None:
            self.set(turn, code)
            turn.resume = True
            return
        if turn.flow is not Flow.LANGUAGE:
            turn.begin(
                Flow.LANGUAGE,
                Step.CHOOSE,
                LanguageState(back_flow=turn.flow, back_step=turn.step, kept=turn.stored()),
            )
        await self.resume(turn)

    async def resume(self, turn: Turn) -> None:
        turn.choose(turn.t(N_("Choose your language:")), self.options(turn))

    async def cancel(self, turn: Turn) -> None:
        """Only the picker: the resident is back where they were, answers and all."""
        state = turn.state(LanguageState)
        turn.restore(state.back_flow, state.back_step, state.kept)
        turn.say(N_("Cancelled."))
        turn.resume = True

    def writing(self, turn: Turn) -> bool:
        return False

    async def handle(self, turn: Turn) -> None:
        """Once a language is chosen, the conversation is back where it was."""
        state = turn.state(LanguageState)
        picked = turn.picked(self.options(turn))
        if picked is None:
            await self.resume(turn)
            return
        self.set(turn, picked[0])
        turn.restore(state.back_flow, state.back_step, state.kept)
        turn.resume = True

    def set(self, turn: Turn, code: str) -> None:
        turn.set_language(code)
        turn.say(N_("Language: English."))
