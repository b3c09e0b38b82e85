"""`langganan`: a resident subscribes to awareness messages for an area (or all) in a
language; `berhenti` ends it. Subscribing is always asked, never assumed."""

from __future__ import annotations

from enum import StrEnum

from handlers.conversation.messages import Option
from handlers.conversation.text import Word
from handlers.conversation.turn import Flow, Held, State, Turn
from handlers.i18n import N_
from handlers.residents.language import NAMES
from storage import broadcasts

ALL = "all"


class Step(StrEnum):
    AREA = "area"
    LANGUAGE = "language"


class SubscribeState(State):
    area: str = ALL  # ALL, or the index of an area in [intake] areas


class SubscribeFlow:
    """Stores the chosen area and language as a subscription once both are answered."""

    name = Flow.SUBSCRIBE
    words = frozenset({Word.SUBSCRIBE})
    holds: Held | None = None
    interrupts = False

    def areas(self, turn: Turn) -> list[Option]:
        options = [Option(ALL, N_("All areas"))]
        language, default = turn.conv.language, turn.services.bot.default_language
        areas = turn.services.intake.areas
        return options + [Option(str(i), a.text(language, default)) for i, a in enumerate(areas)]

    def languages(self, turn: Turn) -> list[Option]:
        return [Option(code, NAMES.get(code, code)) for code in turn.services.bot.languages]

    async def start(self, turn: Turn, argument: str = "") -> None:
        turn.begin(Flow.SUBSCRIBE, Step.AREA, SubscribeState())
        await self.resume(turn)

    async def cancel(self, turn: Turn) -> None:
        turn.reset()
        turn.say(N_("Cancelled."))

    def writing(self, turn: Turn) -> bool:
        return False

    async def resume(self, turn: Turn) -> None:
        if turn.step == Step.LANGUAGE:
            turn.choose(
                turn.t(N_("In which language do you want the messages?")), self.languages(turn)
            )
        else:
            turn.choose(
                turn.t(
                    N_(
                        "Awareness messages help you and your family recognise job offers that "
                        "are trafficking. For which area do you want them?"
                    )
                ),
                self.areas(turn),
            )

    async def handle(self, turn: Turn) -> None:
        state = turn.state(SubscribeState)
        if turn.step == Step.AREA:
            picked = turn.picked(self.areas(turn))
            if picked is not None:
                state.area = picked[0]
                turn.go(Flow.SUBSCRIBE, Step.LANGUAGE)
            await self.resume(turn)
            return
        chosen = turn.picked(self.languages(turn))
        if chosen is None:
            await self.resume(turn)
            return
        chosen_area = None if state.area == ALL else turn.services.intake.areas[int(state.area)]
        area = chosen_area.key if chosen_area else None
        await broadcasts.subscribe(
            turn.session,
            turn.conv.channel,
            turn.conv.sender,
            area=area,
            language=chosen[0],
            at=turn.now,
        )
        turn.reset()
        turn.say(
            N_(
                "You are subscribed to awareness messages ({area}). Send BERHENTI at any time "
                "to stop them."
            ),
            area=(
                chosen_area.text(turn.conv.language, turn.services.bot.default_language)
                if chosen_area
                else turn.t(N_("All areas"))
            ),
        )


async def unsubscribe(turn: Turn) -> bool:
    """Ends the chat's subscription, if it has one."""
    return await broadcasts.unsubscribe(
        turn.session, turn.conv.channel, turn.conv.sender, at=turn.now, reason="stopped"
    )
