"""The task force on Telegram, for the tests of alerts and broadcasts: members with chat ids,
a fake Bot API server, the Telegram channel and the delivery job; residents report in the
transcript chat."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.app import App
from bot.config import ServerSettings, TelegramSettings
from bot.outbox import Delivery
from bot.telegram import TelegramChannel
from handlers.taskforce.alerts import follow_up
from storage import members, reports, roster
from storage.models import Channel, Member, ReportEvent, Role
from storage.roster import ShiftRow
from tests.fakes.telegram import FakeTelegram
from tests.support.answers import DETAILS, ENGLISH_REPORT, Turns, check_reply
from tests.support.chat import Chat
from tests.support.clock import Clock, no_wait

RESIDENT = 5001  # the chat id of the resident who reports
ANDI, BUDI, CITRA, DEWI = 9001, 9002, 9003, 9004  # the members' chat ids


class TaskForce:
    """Members on Telegram, a fake Bot API server, and the delivery job."""

    def __init__(self, app: App, fake: FakeTelegram, clock: Clock) -> None:
        # Members read English here (the default language is the members' until they write).
        app.services.bot = app.services.bot.model_copy(update={"default_language": "en"})
        # A resident here makes report after report at one moment of the test clock: more than
        # a chat may send in a minute (tests/test_inbound_limit.py tests that limit).
        app.services.intake = app.services.intake.model_copy(
            update={"max_messages_per_minute": 1000}
        )
        self.app = app
        self.fake = fake
        self.clock = clock
        self.channel = TelegramChannel(
            app.for_channels,
            TelegramSettings(token=FakeTelegram.TOKEN, base_url=fake.base_url),
            ServerSettings(),
            sleep=no_wait,  # the residents here answer faster than Telegram lets a bot
        )
        self.delivery = Delivery(app.services, {Channel.TELEGRAM: self.channel})
        app.conversations.answered_by_outbox = {Channel.TELEGRAM}  # as `sigap run` does
        self.members: dict[str, Member] = {}

    async def add(self, name: str, chat: int, role: Role = Role.MEMBER) -> Member:
        async with self.app.db.write() as session:
            member = await members.add(session, name, role, agency="Polres", at=self.clock())
            await members.link(session, member, Channel.TELEGRAM, str(chat))
        self.members[name] = member
        return member

    async def shifts(self, *rows: tuple[int, str, str, list[str]]) -> None:
        async with self.app.db.write() as session:
            await roster.replace_shifts(
                session,
                [
                    ShiftRow(day, start, end, tuple(self.members[n].id or 0 for n in names))
                    for day, start, end, names in rows
                ],
            )

    async def report(
        self, sender: str = str(RESIDENT), answers: Turns = (*ENGLISH_REPORT, *DETAILS)
    ) -> str:
        chat = Chat(self.app, sender=sender, channel=Channel.TELEGRAM)
        await chat.dialog(answers)
        screen = await chat.send("1")
        return screen.split("reference number: ")[1].split()[0]

    async def deliver(self) -> None:
        await self.delivery.run()

    async def press(
        self,
        chat: int,
        label: str,
        *,
        user: int | None = None,
        shown: tuple[int, list[list[dict[str, Any]]]] | None = None,
    ) -> str:
        """Presses the button labelled `label` on the newest message in the chat that shows
        buttons (or on the message `shown` earlier), with the callback data Telegram was
        given; returns what the bot answered."""
        message_id, rows = shown or self.fake.keyboard(chat)
        found = [b for row in rows for b in row if b["text"] == label]
        assert found, f"no button {label!r} in {rows}"
        update = self.fake.callback(
            chat, found[0]["callback_data"], message_id=message_id, user_id=user, language_code="en"
        )
        return await self._answer(chat, update)

    async def say(self, chat: int, text: str) -> str:
        return await self._answer(chat, self.fake.message(chat, text, language_code="en"))

    async def dialog(self, chat: int, turns: Turns) -> None:
        """Says each answer in the chat and checks that the reply contains the expected text."""
        for sent, expected in turns:
            check_reply(sent, expected, await self.say(chat, sent))

    async def _answer(self, chat: int, update: dict[str, Any]) -> str:
        before = len(self.texts(chat))
        await self.channel.handle_update(Update.de_json(update, self.channel.bot))
        await self.deliver()
        return "\n".join(self.texts(chat)[before:])

    def texts(self, chat: int) -> list[str]:
        return self.fake.texts(chat)

    async def later(self, minutes: float) -> int:
        """Moves the clock, runs the follow-up job and delivers."""
        self.clock.advance(minutes=minutes)
        sent = await follow_up(self.app.services)
        await self.deliver()
        return sent

    async def events(self, reference: str) -> list[ReportEvent]:
        async with self.app.db.read() as session:
            report = await reports.by_reference(session, reference)
            assert report is not None and report.id is not None
            return list(await reports.timeline(session, report.id))
