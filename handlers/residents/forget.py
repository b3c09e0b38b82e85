"""`hapus data` / `delete my data`: a resident asks to be forgotten. Asked once to confirm
(buttons, or yes / no typed), then who they are is removed from every report this chat sent
(usecases/erasure.py `forget_me`: the reports stay with the task force, anonymised), their
subscription ends, any unfinished answers go, the chat's messages are deleted as far as the
channel allows, and they are told what was kept and why. Asked in the middle of something
else, a "no" goes back there."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from handlers.conversation.messages import Option
from handlers.conversation.text import Word, clean
from handlers.conversation.turn import Flow, Held, State, Turn
from handlers.i18n import N_
from handlers.usecases.erasure import forget_me
from storage import reports


class Step(StrEnum):
    CONFIRM = "confirm"


class ForgetState(State):
    """Where the resident was, with that flow's answers, to return to on "no"."""

    back_flow: Flow | None = None
    back_step: str | None = None
    kept: dict[str, Any] = Field(default_factory=dict)


YES, NO = "yes", "no"
# Typed answers, in both languages, on a channel without buttons (or instead of them).
TYPED = {
    "ya": YES,
    "iya": YES,
    "y": YES,
    "yes": YES,
    "tidak": NO,
    "tdk": NO,
    "nggak": NO,
    "gak": NO,
    "jangan": NO,
    "no": NO,
    "n": NO,
}

ASK = N_(
    "Delete your data? Who you are is removed from the {count} report(s) you sent from this "
    "chat: this chat's address, the phone number you gave and your consent to be contacted. "
    "The task force can then no longer write to you, your subscription to awareness messages "
    "ends, and the messages of this chat are deleted as far as possible. What the reports "
    "say stays with the task force, without your identity. This cannot be undone."
)
ASK_NO_REPORT = N_(
    "Delete your data? You have sent no report from this chat. Your unfinished answers, your "
    "subscription to awareness messages and the messages of this chat (as far as possible) "
    "are deleted. This cannot be undone."
)
DONE_WITH_REPORTS = N_(
    "Done: your data is deleted. Your identity is removed from {count} report(s): the task "
    "force no longer knows this chat or your phone number, and cannot write to you any more.\n\n"
    "What we kept, and why: what the reports say (what happened, the recruiter's details, the "
    "place and the files you sent), without your name, number or chat, so that the task force "
    "can go on protecting the people in these cases. The Personal Data Protection Law (UU PDP, "
    "No. 27 of 2022) allows this to fulfil a legal obligation and to protect someone's vital "
    "interests.\n\n"
    "This chat can no longer see the status of these reports or add to them. You can write to "
    "us again at any time."
)
DONE_WITHOUT_REPORTS = N_(
    "Done: your data is deleted. You had sent no report from this chat, so nothing about you "
    "was kept. You can write to us again at any time."
)


class ForgetFlow:
    """Stores nothing until "yes"; then erases (usecases.erasure.forget_me), clears the chat
    and says what was kept. Starts inside any flow (an unfinished report too)."""

    name = Flow.FORGET
    words = frozenset({Word.FORGET})
    holds: Held | None = None
    interrupts = True

    def options(self) -> list[Option]:
        return [Option(YES, N_("Yes, delete my data")), Option(NO, N_("No, keep it"))]

    async def start(self, turn: Turn, argument: str) -> None:
        if turn.flow is not Flow.FORGET:
            turn.begin(
                Flow.FORGET,
                Step.CONFIRM,
                ForgetState(back_flow=turn.flow, back_step=turn.step, kept=turn.stored()),
            )
        await self.resume(turn)

    async def resume(self, turn: Turn) -> None:
        mine = await reports.of_sender(turn.session, turn.conv.channel, turn.conv.sender)
        text = turn.t(ASK, count=len(mine)) if mine else turn.t(ASK_NO_REPORT)
        turn.choose(text, self.options())

    async def cancel(self, turn: Turn) -> None:
        """Nothing is deleted: the resident is back where they were, answers and all."""
        self.back(turn)
        turn.say(N_("Nothing was deleted."))

    def back(self, turn: Turn) -> None:
        state = turn.state(ForgetState)
        turn.restore(state.back_flow, state.back_step, state.kept)
        turn.resume = True

    def writing(self, turn: Turn) -> bool:
        return False

    async def handle(self, turn: Turn) -> None:
        typed = clean(turn.typed() or "").casefold().rstrip(".!")
        answer = TYPED.get(typed) if turn.inbound.press is None else None
        if answer is None:
            picked = turn.picked(self.options())
            if picked is None:
                await self.resume(turn)
                return
            answer = picked[0]
        if answer == NO:
            await self.cancel(turn)
            return
        await self.forget(turn)

    async def forget(self, turn: Turn) -> None:
        assert turn.conv.id is not None
        # An unfinished report's files, kept aside while this was asked.
        turn.delete_files += await reports.discard_draft_media(turn.session, turn.conv.id)
        turn.reset()
        erased = await forget_me(turn, turn.conv.channel, turn.conv.sender)
        turn.clear_chat(
            N_(
                "I cannot delete messages here. Please delete this chat yourself: "
                "press and hold the chat, then Delete."
            )
        )
        if erased:
            turn.say(DONE_WITH_REPORTS, count=len(erased))
        else:
            turn.say(DONE_WITHOUT_REPORTS)
