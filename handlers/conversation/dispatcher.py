"""The dispatcher: every inbound message, from any channel, goes through `Conversations.handle`.
It loads the chat's conversation locked, routes the message to a command or to the flow in
progress (looked up in the registry, flows.py), stores the new state and answers,
all in one transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.conversation import limits
from handlers.conversation.flows import BY_NAME, BY_WORD, FlowHandler
from handlers.conversation.messages import Inbound, Outcome, Reply, Text, dump
from handlers.conversation.text import COMMANDS, CONTROL, Courtesy, Word, courtesy, word
from handlers.conversation.turn import Flow, Services, Turn
from handlers.i18n import N_, gettext
from handlers.residents.cek import report_it as report_checked
from handlers.residents.menu import help_text, more_help_text
from handlers.residents.replies import stop as stop_replies
from handlers.residents.report import discard, expired, own_words
from handlers.residents.status import show as show_status
from handlers.residents.subscribe import unsubscribe
from handlers.taskforce import members, referral
from handlers.taskforce.alert_texts import parse_action
from handlers.usecases.referral import agency_press
from storage import chats, conversations, outbox
from storage.models import Channel, Outbox

log = logging.getLogger(__name__)

SubmitListener = Callable[[int], Awaitable[None]]


class Sender(Protocol):
    """Sends an answer at once, in the process that stored it (the delivery job), and the
    urgent messages it stored (a new report's alerts)."""

    worker: int | None  # the process that claims the answer as it is stored

    async def send_now(self, row: Outbox, *, behind: bool = True) -> None: ...

    def claimant(self) -> outbox.Claimant | None:
        """Who claims the urgent messages as they are stored (None: the delivery job will)."""
        ...

    def send_claimed(self, rows: Sequence[Outbox]) -> None:
        """Starts sending rows `claimant` claimed, without waiting for them."""
        ...


COURTESY = {
    Courtesy.THANKS: N_("You're welcome."),
    Courtesy.GREETING: N_("Hello!"),
}
SORRY = N_(
    "Sorry, something went wrong on our side. Your earlier answers are kept; please send "
    "your last message again."
)


class Conversations:
    def __init__(self, services: Services) -> None:
        self.services = services
        # Called with a report's id after the transaction that submitted it has committed.
        self.on_submit: list[SubmitListener] = []
        # Called after a transaction that queued messages in the outbox has committed.
        self.on_outbox: list[Callable[[], None]] = []
        # Channels whose answers are outbox rows (`sigap run` sets its channels), handed to
        # `sender` right after the commit; on the others (the terminal) the caller shows
        # Outcome.replies.
        self.answered_by_outbox: set[Channel] = set()
        self.sender: Sender | None = None
        # Called with each message handled and the seconds it took (bot/metrics.py).
        self.on_handled: list[Callable[[Inbound, float], None]] = []

    async def handle(self, inbound: Inbound) -> Outcome:
        started = time.perf_counter()
        outcome = await self._handle(inbound)
        for listener in self.on_handled:
            listener(inbound, time.perf_counter() - started)
        return outcome

    async def _handle(self, inbound: Inbound) -> Outcome:
        """Handles the message in one transaction: the conversation's new state and, on the
        channels in `answered_by_outbox`, the answer as an outbox row. A crash at any point
        leaves either nothing (the channel delivers the message again) or both."""
        services = self.services
        language = self._language_for(inbound)
        try:
            async with services.db.write() as session:
                now = services.clock()
                key = inbound.key
                if key and not await chats.first_sight(session, inbound.channel, key, now):
                    return Outcome(duplicate=True)
                conv = await conversations.load(
                    session, inbound.channel, inbound.sender, language=language, now=now
                )
                language = conv.language
                if inbound.message_id is not None:
                    await chats.record_message(
                        session,
                        inbound.channel,
                        inbound.sender,
                        inbound.message_id,
                        at=now,
                        from_bot=False,
                    )
                turn = Turn(
                    services,
                    session,
                    now,
                    conv,
                    inbound,
                    claimant=self.sender.claimant() if self.sender is not None else None,
                )
                limit = services.intake.max_messages_per_minute
                over = await limits.check(session, conv, inbound, now, limit)
                if over is limits.Over.NO:
                    await self._dispatch(turn)
                    turn.save()
                elif over is limits.Over.FIRST:
                    # The question again, with its buttons (an answer removes the ones shown):
                    # where to go on after the minute. No answer is taken.
                    turn.say(limits.SLOW_DOWN, count=limit)
                    await self._resume(turn)
                    turn.save()
                else:
                    session.add(conv)  # only the count changes
                answer = self._answer(session, inbound, turn.out.replies, now)
                behind = answer is not None and await self._behind(session, answer, now)
                queued = outbox.queued(session)
        except Exception:
            # One conversation's failure never reaches another: roll back, apologise.
            log.exception("handling a message from %s failed", inbound.channel)
            return await self._apologise(inbound, language)
        if turn.claimed and self.sender is not None:
            self.sender.send_claimed(turn.claimed)  # first: a new report's alerts
        for sha256 in turn.delete_files:
            await services.media.delete(sha256)
        if queued:
            self._wake()
        if answer is not None and self.sender is not None:
            await self.sender.send_now(answer, behind=behind)
        for report_id in turn.out.submitted:
            for listener in self.on_submit:
                try:
                    await listener(report_id)
                except Exception:
                    log.exception("a listener of report %s failed", report_id)
        return turn.out

    def _answer(
        self, session: AsyncSession, inbound: Inbound, replies: list[Reply], now: datetime
    ) -> Outbox | None:
        if inbound.channel not in self.answered_by_outbox or not replies:
            return None
        return outbox.enqueue_reply(
            session,
            inbound.channel,
            inbound.sender,
            [dump(reply) for reply in replies],
            at=now,
            pressed_message=inbound.press.message if inbound.press else None,
            claimed_by=self.sender.worker if self.sender is not None else None,
        )

    async def _behind(self, session: AsyncSession, answer: Outbox, now: datetime) -> bool:
        """Whether the answer must wait for an earlier one that another process is sending
        (asked here, under the conversation's lock: see outbox.sending_elsewhere)."""
        if answer.claimed_by is None:
            return False  # the delivery job sends it, and checks then
        return await outbox.sending_elsewhere(
            session, answer.channel, answer.address, answer.claimed_by, now
        )

    async def _apologise(self, inbound: Inbound, language: str) -> Outcome:
        """The apology, queued in a transaction of its own; not stored at all when even that
        fails (the database is down)."""
        out = Outcome(replies=[Text(gettext(language)(SORRY))])
        if inbound.channel not in self.answered_by_outbox:
            return out
        try:
            async with self.services.db.write() as session:
                answer = self._answer(session, inbound, out.replies, self.services.clock())
        except Exception:
            log.exception("could not store anything for a message from %s", inbound.channel)
            out.stored = False
            return out
        if answer is not None and self.sender is not None:
            await self.sender.send_now(answer)
        else:
            self._wake()
        return out

    def _wake(self) -> None:
        for wake in self.on_outbox:
            wake()

    def _language_for(self, inbound: Inbound) -> str:
        hint = (inbound.language_hint or "").split("-")[0].lower()
        bot = self.services.bot
        return hint if hint in bot.languages else bot.default_language

    async def _dispatch(self, turn: Turn) -> None:
        press = turn.inbound.press
        text = turn.typed()
        command = word(text) if text and press is None else None
        flow = BY_NAME.get(turn.flow) if turn.flow else None
        if command is not None and command[0] not in CONTROL and flow and flow.writing(turn):
            command = None  # "status pekerjaan tidak jelas" is a story, and so is "lapor"
        acting = parse_action(press.value) if press is not None and press.seq is None else None
        if acting is not None:
            # A button of an alert (Acknowledge, Details): a member's action, not a question.
            await members.command(turn, Word(acting[0]), acting[1])
            return
        answered = agency_press(press.value) if press is not None and press.seq is None else None
        if answered is not None:
            # Accept or Reject under a case file, in the agency's chat.
            await referral.agency_answer(turn, *answered)
            return
        if command is not None and command[0] in members.ONLY_MEMBERS:
            if not await members.acts(turn, command[0], command[1], text or ""):
                command = None  # "terima", "anggota" from a resident: their words
            elif command[0] in members.MEMBER_WORDS:
                await members.command(turn, command[0], command[1])
                return
        if turn.inbound.group:
            await self._in_group(turn)
            return
        if press is not None and press.value == Word.CLEAR.value:
            self._clear(turn)
            return
        if press is not None and press.value == Word.SUBSCRIBE.value:
            # The button under a report's thank-you.
            await BY_WORD[Word.SUBSCRIBE].start(turn, "")
            return
        if turn.flow is Flow.REPORT and expired(turn):
            turn.conv.draft_expired = await discard(turn)
        elif turn.flow is not None and expired(turn):
            turn.reset()
        if turn.conv.draft_expired:
            turn.conv.draft_expired = False
            turn.say(
                N_(
                    "Your unfinished report was left for too long and has been deleted, "
                    "for your safety. You can start again at any time."
                )
            )

        if command is not None and command[0] in COMMANDS:
            await self._command(turn, command[0], command[1])
            return

        menu = BY_NAME[Flow.MENU]
        # Thanks or a greeting alone is courtesy even where words are asked for: "makasih
        # kak" is neither the recruiter's name nor the story.
        kind = courtesy(text) if text and press is None else None
        if kind is not None:
            turn.say(COURTESY[kind])
            await (menu.start(turn, "") if turn.flow is None else self._resume(turn))
        elif turn.flow is None and press is not None:
            # A button of a question answered long ago (or a second tap on "Send").
            turn.say(N_("That question is no longer open."))
            await menu.resume(turn)
        elif turn.flow is None:
            if not (text and await own_words(turn, text)):
                await menu.start(turn, "")
        else:
            await BY_NAME[turn.flow].handle(turn)
            await self._then(turn)

    async def _then(self, turn: Turn) -> None:
        """What the flow asked the dispatcher to do next."""
        then, turn.then = turn.then, None
        if then is not None:
            await self._command(turn, then, "")
        if turn.resume:
            turn.resume = False
            await self._resume(turn)

    async def _command(self, turn: Turn, command: Word, argument: str) -> None:
        current = BY_NAME.get(turn.flow) if turn.flow else None
        if command is Word.START and argument.lower() in ("lapor", "report"):
            command = Word.REPORT
        if command is Word.START and turn.conv.opted_out_at is not None:
            turn.conv.opted_out_at = None
            turn.say(N_("Messages from us are on again."))
            await self._resume(turn)
        elif command is Word.STOP:
            turn.conv.opted_out_at = turn.now
            await unsubscribe(turn)
            turn.say(
                N_(
                    "You will get no more messages from us, only answers when you write to "
                    "us. Send MULAI LAGI to get messages again."
                )
            )
        elif command is Word.STATUS:
            await show_status(turn)
            await self._resume(turn)
        elif command is Word.STOP_RELAY:
            await stop_replies(turn)
            await self._resume(turn)
        elif command is Word.HELP:
            turn.tell(help_text(turn))
            await self._resume(turn)
        elif command is Word.INFO:
            turn.tell(more_help_text(turn))
            await self._resume(turn)
        elif command is Word.REPORT and turn.flow is Flow.CEK:
            await report_checked(turn)  # LAPOR under a check's answer: the advert is kept
        elif command is Word.CLEAR:
            self._clear(turn)
        elif command is Word.CANCEL:
            if current is None:
                turn.say(N_("There is nothing to cancel."))
            else:
                await current.cancel(turn)
            if turn.resume:  # back in the flow that was interrupted
                await self._then(turn)
            else:
                await BY_NAME[Flow.MENU].resume(turn)
        else:
            await self._start(turn, current, command, argument)

    async def _start(
        self, turn: Turn, current: FlowHandler | None, command: Word, argument: str
    ) -> None:
        """MULAI, or a flow's word: the flow starts, unless the one in progress holds the
        conversation (then it is asked again)."""
        starting = BY_NAME[Flow.MENU] if command is Word.START else BY_WORD[command]
        held = current.holds if current is not None else None
        if current is not None and held is not None and not starting.interrupts:
            same = starting is current or starting.name is Flow.MENU
            turn.say(held.same if same else held.other)
            await current.resume(turn)
            return
        await starting.start(turn, argument)
        await self._then(turn)

    def _clear(self, turn: Turn) -> None:
        """Stores nothing; the channel deletes the chat's messages (the report stays stored)."""
        turn.clear_chat(
            N_(
                "I cannot delete messages here. For your safety, please delete this "
                "chat yourself: press and hold the chat, then Delete. Your report stays "
                "safely stored."
            )
        )

    async def _in_group(self, turn: Turn) -> None:
        """Answers once per group that reports are made in a private chat."""
        if turn.conv.told_in_group:
            return
        turn.conv.told_in_group = True
        turn.say(
            N_(
                "I do not take reports in groups, so that nobody else sees them. Please write "
                "to me in a private chat: {link}"
            ),
            link=turn.inbound.private_link or "",
        )

    async def _resume(self, turn: Turn) -> None:
        """Asks again the question the conversation is at, or shows the menu."""
        await BY_NAME[turn.flow or Flow.MENU].resume(turn)
