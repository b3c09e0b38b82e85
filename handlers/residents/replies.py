"""`buka`: a reporter reads the messages the task force wrote to them (stored until then),
then answers in the same chat until SELESAI; `berhenti balas` stops them for good. Nothing
here tells the reporter who wrote, nor the member who the reporter is (usecases/relay.py)."""

from __future__ import annotations

from enum import StrEnum

from handlers.conversation import evidence
from handlers.conversation.messages import Document, Expect
from handlers.conversation.text import Word
from handlers.conversation.turn import DONE, Flow, Held, State, Turn
from handlers.i18n import N_
from handlers.usecases import relay


class Step(StrEnum):
    ANSWERING = "answering"


class RepliesState(State):
    report_id: int = 0


FROM_TASK_FORCE = N_("Message from the task force ({reference}):")
ANSWER = N_("Write your answer here (text, photos or documents).")
STOP_HINT = N_("To get no more messages from the task force, send BERHENTI BALAS.")


class RepliesFlow:
    """Shows what waits (marked read), then sends each message the reporter writes to the
    member (usecases.relay.from_reporter) until SELESAI."""

    name = Flow.RELAY_READ
    words = frozenset({Word.OPEN})
    holds: Held | None = None
    interrupts = False

    async def start(self, turn: Turn, argument: str) -> None:
        found = await relay.open_waiting(turn, turn.conv.channel, turn.conv.sender)
        if not found:
            # Wherever the conversation was, it goes on there.
            turn.say(N_("There is no new message for you."))
            turn.resume = True
            return
        media = turn.services.media
        for waiting in found:
            message = waiting.message
            lines = [turn.t(FROM_TASK_FORCE, reference=waiting.report.reference)]
            if message.text:
                lines.append(message.text)
            turn.tell("\n".join(lines))
            for file in message.files:
                name = file.get("name") or file["sha256"][:12]
                path = str(media.path(file["sha256"]))
                turn.out.replies.append(Document(path, name, file["content_type"]))
        last = found[-1].report
        assert last.id is not None
        turn.begin(Flow.RELAY_READ, Step.ANSWERING, RepliesState(report_id=last.id))
        turn.say(STOP_HINT)
        self.ask(turn)

    def ask(self, turn: Turn) -> None:
        turn.prompt(turn.t(ANSWER), expects=Expect.MEDIA, actions=[DONE])

    async def resume(self, turn: Turn) -> None:
        self.ask(turn)

    async def cancel(self, turn: Turn) -> None:
        turn.reset()
        turn.say(N_("Cancelled."))

    def writing(self, turn: Turn) -> bool:
        return True

    async def handle(self, turn: Turn) -> None:
        if turn.action() is Word.OPEN:  # BUKA again: what came since
            await self.start(turn, "")
            return
        if turn.action() is Word.DONE:
            turn.reset()
            turn.say(N_("Thank you. You can send BUKA again when there is a new message."))
            return
        report = await relay.answerable(turn, turn.state(RepliesState).report_id)
        if report is None:
            turn.reset()
            turn.say(N_("This conversation has ended."))
            turn.resume = True
            return
        text = turn.typed() or None
        if text is not None and len(text) > relay.MAX_TEXT:
            turn.say(
                N_("That is too long ({length} characters): please keep it under {maximum}."),
                length=len(text),
                maximum=relay.MAX_TEXT,
            )
            self.ask(turn)
            return
        files = await evidence.store(turn)
        if text is None and not files:
            turn.prompt(
                turn.t(N_("Please send text, a photo or a document.")),
                expects=Expect.MEDIA,
                actions=[DONE],
            )
            return
        await relay.from_reporter(turn, report, text, files, turn.conv.channel)
        turn.prompt(turn.t(N_("Sent. You can write more.")), expects=Expect.MEDIA, actions=[DONE])


async def stop(turn: Turn) -> None:
    """BERHENTI BALAS: the task force can no longer write to this chat's reports."""
    stopped = await relay.stop(turn, turn.conv.channel, turn.conv.sender)
    if turn.flow is Flow.RELAY_READ:
        turn.reset()
    if stopped:
        turn.say(
            N_(
                "Done: the task force can no longer send you messages here. Your report is "
                "still being handled."
            )
        )
    else:
        turn.say(N_("There are no messages from the task force to stop."))
