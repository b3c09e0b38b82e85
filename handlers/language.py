"""`bahasa`: the resident chooses the language of their conversation."""

from __future__ import annotations

from handlers.i18n import N_
from handlers.messages import Option
from handlers.turn import Flow, Turn

NAMES = {"id": "Bahasa Indonesia", "en": "English"}
ALIASES = {
    "indonesia": "id",
    "indonesian": "id",
    "bahasa indonesia": "id",
    "english": "en",
    "inggris": "en",
}

CHOOSE = "choose"


class LanguageFlow:
    """Stores the language on the conversation, then returns to where the resident was."""

    def options(self, turn: Turn) -> list[Option]:
        return [Option(code, NAMES.get(code, code)) for code in turn.services.bot.languages]

    def parse(self, turn: Turn, text: str) -> str | None:
        text = text.strip().lower()
        code = ALIASES.get(text, text)
        return code if code in turn.services.bot.languages else None

    async def start(self, turn: Turn, argument: str) -> bool:
        """Sets the language named in the argument (True), or asks for one (False)."""
        code = self.parse(turn, argument) if argument else None
        if code is not None:
            self.set(turn, code)
            return True
        if turn.flow is not Flow.LANGUAGE:
            turn.data["_return"] = [turn.conv.flow, turn.conv.step]
        turn.go(Flow.LANGUAGE, CHOOSE)
        await self.ask(turn)
        return False

    async def ask(self, turn: Turn) -> None:
        turn.choose(turn.t(N_("Choose your language:")), self.options(turn))

    async def handle(self, turn: Turn) -> bool:
        """True once a language is chosen and the conversation is back where it was."""
        picked = turn.picked(self.options(turn))
        if picked is None:
            await self.ask(turn)
            return False
        self.set(turn, picked[0])
        flow, step = turn.data.pop("_return", [None, None])
        turn.go(Flow(flow) if flow else None, step)
        return True

    def set(self, turn: Turn, code: str) -> None:
        turn.set_language(code)
        turn.say(N_("Language: English."))
