"""The inbound rate limit: a resident's chat sending more than `[intake]
max_messages_per_minute` messages in a minute is told once, politely, in their language; what
it sent before is all handled and kept, and after the minute the conversation goes on where
it stood. Members, other chats and redeliveries are not held back."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.app import App
from handlers.conversation.messages import Inbound
from storage import members
from storage.models import Channel, Report, Role
from tests.support.answers import ENGLISH_REPORT, ENGLISH_STORY
from tests.support.chat import Chat
from tests.support.clock import Clock

LIMIT = 20  # the default
SLOW_DOWN = "at most 20 a minute"
AT_THE_RECRUITER = 9  # ENGLISH_REPORT's answers up to the recruiter question


async def test_a_resident_over_the_limit_is_told_once_and_the_report_goes_on_after_a_minute(
    app: App, clock: Clock
) -> None:
    assert app.services.intake.max_messages_per_minute == LIMIT
    resident = Chat(app, sender="5001", channel=Channel.TELEGRAM)
    first = clock()
    await resident.dialog(ENGLISH_REPORT[:AT_THE_RECRUITER])
    for _ in range(LIMIT - AT_THE_RECRUITER):  # all handled: a kind word, the question again
        clock.advance(seconds=2)
        assert "identifies the recruiter" in await resident.send("thank you")
    answer = await resident.send("Pak Budi, 0812-3456-7890")  # not taken; asked again
    assert SLOW_DOWN in answer and "Noted" not in answer
    assert "identifies the recruiter" in resident.question.text
    for _ in range(9):  # the rest of the minute: not handled, not answered
        assert await resident.send("hello?") == ""
    clock.now = first + timedelta(minutes=1)  # the minute counted from the first message
    await resident.dialog(ENGLISH_REPORT[AT_THE_RECRUITER:])
    assert "reference number" in await resident.send("1")
    async with app.db.read() as session:
        (report,) = (await session.exec(select(Report))).all()
    # The answers from before the limit and after it, nothing of what was refused.
    assert report.destination == "Malaysia" and len(report.red_flags) == 2
    assert report.story == ENGLISH_STORY
    assert report.recruiter_name is not None and "hello" not in report.recruiter_name


async def test_the_limit_is_per_chat_and_told_in_the_residents_language(
    app: App, clock: Clock
) -> None:
    flooding = Chat(app, sender="5001", channel=Channel.WHATSAPP)
    other = Chat(app, sender="5002", channel=Channel.WHATSAPP)
    for _ in range(LIMIT):
        assert await flooding.send("halo") != ""
    answer = await flooding.send("halo")
    assert "paling banyak 20 pesan per menit" in answer
    assert "Selamat datang" in await other.send("halo")
    assert await flooding.send("halo") == ""
    clock.advance(minutes=1)
    assert "Apa yang ingin Anda lakukan?" in await flooding.send("halo")


async def test_task_force_members_are_not_limited(app: App, clock: Clock) -> None:
    async with app.db.write() as session:
        member = await members.add(session, "Andi", Role.COORDINATOR, agency="Polres", at=clock())
        await members.link(session, member, Channel.TELEGRAM, "9001")
    andi = Chat(app, sender="9001", channel=Channel.TELEGRAM)
    for _ in range(LIMIT + 10):
        assert "Tidak ada yang piket sekarang" in await andi.send("/piket")


async def test_a_message_delivered_again_is_counted_once(app: App) -> None:
    for _ in range(LIMIT):
        message = Inbound(Channel.TELEGRAM, "5001", text="halo", key="update-1")
        await app.conversations.handle(message)
    fresh = Inbound(Channel.TELEGRAM, "5001", text="halo", key="update-2")
    outcome = await app.conversations.handle(fresh)
    assert "Apa yang ingin Anda lakukan?" in str(outcome.replies)
