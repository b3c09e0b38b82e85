"""Transcript tests: a resident sends messages or presses buttons, the test reads what the bot
answers, rendered as the terminal shows it. No transport is involved."""

from __future__ import annotations

from collections.abc import Sequence

from bot.app import App
from bot.numbered import render
from handlers.conversation.messages import (
    Attachment,
    Choice,
    Inbound,
    Location,
    Outcome,
    Press,
    Prompt,
    Reply,
)
from storage.models import Channel
from tests.support.answers import Turns, check_reply


class Chat:
    def __init__(
        self,
        app: App,
        *,
        sender: str = "resident-1",
        channel: Channel = Channel.CONSOLE,
        known_phone: str | None = None,
    ) -> None:
        self.app = app
        self.sender = sender
        self.channel = channel
        self.known_phone = known_phone
        self.replies: list[Reply] = []
        self.outcome = Outcome()  # of the last message sent

    async def send(
        self,
        text: str | None = None,
        *,
        press: Press | None = None,
        media: Sequence[Attachment] = (),
        location: Location | None = None,
        contact: str | None = None,
    ) -> str:
        inbound = Inbound(
            self.channel,
            self.sender,
            text=text,
            press=press,
            media=tuple(media),
            location=location,
            contact=contact,
            known_phone=self.known_phone,
        )
        self.outcome = await self.app.conversations.handle(inbound)
        self.replies = self.outcome.replies
        return self.screen

    @property
    def screen(self) -> str:
        return "\n".join(render(reply) for reply in self.replies)

    @property
    def question(self) -> Choice | Prompt:
        for reply in reversed(self.replies):
            if isinstance(reply, Choice | Prompt):
                return reply
        raise AssertionError(f"the bot asked nothing:\n{self.screen}")

    async def press(self, label: str) -> str:
        """Presses the button of the last question whose label contains `label`."""
        question = self.question
        options = question.options if isinstance(question, Choice) else question.actions
        if isinstance(question, Choice) and question.done is not None:
            options = (*options, question.done)
        matches = [o for o in options if label.lower() in o.label.lower()]
        assert matches, f"no button {label!r} in:\n{self.screen}"
        return await self.send(press=Press(question.seq, matches[0].value))

    async def dialog(self, turns: Turns) -> None:
        """Sends each answer and checks that the bot's reply contains the expected text."""
        for sent, expected in turns:
            check_reply(sent, expected, await self.send(sent))
