"""`langganan`: a resident subscribes to awareness messages for an area (or all) in a
language; `berhenti` ends it. Subscribing is always asked, never assumed."""

from __future__ import annotations

from handlers.i18n import N_
from handlers.language import NAMES
from handlers.messages import Option
from handlers.turn import Flow, Turn
from storage import broadcasts

AREA, LANGUAGE = "area", "language"
ALL = "all"


class SubscribeFlow:
    """Stores the chosen area and language as a subscription once both are answered."""

    def areas(self, turn: Turn) -> list[Option]:
        options = [Option(ALL, N_("All areas"))]
        return options + [Option(str(i), a) for i, a in enumerate(turn.services.intake.areas)]

    def languages(self, turn: Turn) -> list[Option]:
        return [Option(code, NAMES.get(code, code)) for code in turn.services.bot.languages]

    async def start(self, turn: Turn) -> None:
        turn.data = {}
        turn.go(Flow.SUBSCRIBE, AREA)
        await self.ask(turn)

    async def ask(self, turn: Turn) -> None:
        if turn.step == LANGUAGE:
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
        if turn.step == AREA:
            picked = turn.picked(self.areas(turn))
            if picked is not None:
                turn.data[AREA] = picked[0]
                turn.go(Flow.SUBSCRIBE, LANGUAGE)
            await self.ask(turn)
            return
        chosen = turn.picked(self.languages(turn))
        if chosen is None:
            await self.ask(turn)
            return
        value = turn.data.get(AREA, ALL)
        area = None if value == ALL else turn.services.intake.areas[int(value)]
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
            area=area or turn.t(N_("All areas")),
        )


async def unsubscribe(turn: Turn) -> bool:
    """Ends the chat's subscription, if it has one."""
    return await broadcasts.unsubscribe(
        turn.session, turn.conv.channel, turn.conv.sender, at=turn.now, reason="stopped"
    )
