"""`/balas BTN-...`: a member writes to a report's reporter through the bot (the rules are in
handlers/usecases/relay.py). With the message in the same one it goes at once; else the
conversation waits for it (text and/or files), and BATAL drops it."""

from __future__ import annotations

from enum import StrEnum

from handlers.conversation import evidence
from handlers.conversation.messages import Expect
from handlers.conversation.text import Word, clean
from handlers.conversation.turn import Flow, Held, State, Turn
from handlers.i18n import N_
from handlers.usecases import NOT_ALLOWED, Refused
from handlers.usecases import relay as relaying
from storage import members
from storage.models import Member


class Step(StrEnum):
    WRITING = "writing"


class RelayState(State):
    reference: str = ""


SENT = N_(
    "Sent to the reporter of {reference}. They are told a message waits for them, and read "
    "it when they open it. Their answer will come here."
)


async def writer(turn: Turn) -> Member | None:
    """The member writing, as this chat reaches them (in a group: who wrote)."""
    return await members.by_address(
        turn.session, turn.conv.channel, turn.inbound.user or turn.conv.sender
    )


async def begin(turn: Turn, member: Member, argument: str) -> None:
    """BALAS REF [message]: sends the message at once, or asks for it. Refused (Refused) when
    the member may not write to that reporter."""
    reference, _, text = argument.partition(" ")
    reference, text = reference.strip().upper(), clean(text)
    if not reference:
        turn.say(N_("Write the report's reference: /balas BTN-2026-00042."))
        return
    if text or turn.inbound.media:
        await send(turn, member, reference, text or None)
        return
    report = await relaying.check(turn, member, reference)
    if turn.inbound.group:
        turn.say(
            N_("In a group, write /balas {reference} followed by your message, in one message."),
            reference=report.reference,
        )
        return
    turn.begin(Flow.RELAY_WRITE, Step.WRITING, RelayState(reference=report.reference))
    ask(turn)


def ask(turn: Turn) -> None:
    turn.prompt(
        turn.t(
            N_(
                "Write your message to the reporter of {reference} (text, photos or "
                "documents). They will not learn who you are, nor you who they are. BATAL "
                "cancels it."
            ),
            reference=turn.state(RelayState).reference,
        ),
        expects=Expect.MEDIA,
    )


class Again(Refused):
    """A message that cannot go as it is (too long, or empty): the member may write again."""


async def send(turn: Turn, member: Member, reference: str, text: str | None) -> None:
    if text is not None and len(text) > relaying.MAX_TEXT:
        raise Again(
            N_("That is too long ({length} characters): please keep it under {maximum}."),
            length=len(text),
            maximum=relaying.MAX_TEXT,
        )
    files = await evidence.store(turn)
    if text is None and not files:
        raise Again(N_("Please send text, a photo or a document."))
    report = await relaying.to_reporter(turn, member, reference, text, files, turn.conv.channel)
    turn.say(SENT, reference=report.reference)


class RelayFlow:
    """The member's message, once it comes: stored for the reporter (see
    usecases.relay.to_reporter); the conversation is then free again."""

    name = Flow.RELAY_WRITE
    words: frozenset[Word] = frozenset()  # started by BALAS, a member's word (members.py)
    holds: Held | None = None
    interrupts = False

    async def start(self, turn: Turn, argument: str) -> None:
        member = await writer(turn)
        if member is None:
            turn.reset()
            turn.say(NOT_ALLOWED)
            return
        await begin(turn, member, argument)

    async def resume(self, turn: Turn) -> None:
        ask(turn)

    async def cancel(self, turn: Turn) -> None:
        turn.reset()
        turn.say(N_("Cancelled: nothing was sent."))

    def writing(self, turn: Turn) -> bool:
        return True

    async def handle(self, turn: Turn) -> None:
        reference = turn.state(RelayState).reference
        member = await writer(turn)
        if member is None:
            turn.reset()
            turn.say(NOT_ALLOWED)
            return
        try:
            await send(turn, member, reference, turn.typed() or None)
        except Again as again:
            turn.say(again.message, **again.values)
            ask(turn)
            return
        except Refused as refused:
            turn.say(refused.message, **refused.values)
        turn.reset()
