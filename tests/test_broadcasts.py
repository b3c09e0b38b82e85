"""Awareness broadcasts: subscriptions, composing with /siaran, segments, scheduling,
resuming without duplicates, blocked users, and alerts before broadcasts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.app import App, build
from bot.config import Settings
from handlers.conversation.messages import Attachment, Inbound
from handlers.taskforce.broadcast import finish, start_due
from storage import broadcasts, members
from storage.models import (
    Broadcast,
    BroadcastState,
    Channel,
    MessageKind,
    Outbox,
    OutboxState,
    Role,
    Subscription,
)
from tests.fakes.telegram import FakeTelegram
from tests.support.answers import ENGLISH_REPORT
from tests.support.chat import Chat
from tests.support.clock import Clock
from tests.support.task_force import CITRA, TaskForce

MESSAGE = "Hati-hati dengan tawaran kerja ke luar negeri yang meminta uang di muka."


@pytest.fixture
async def force(force: TaskForce) -> TaskForce:
    """The task force with Citra, who coordinates (and may broadcast)."""
    await force.add("Citra", CITRA, Role.COORDINATOR)
    return force


async def subscribe(app: App, chat: int, area: str, language: str) -> None:
    async with app.db.write() as session:
        await broadcasts.subscribe(
            session,
            Channel.TELEGRAM,
            str(chat),
            area=area or None,
            language=language,
            at=app.services.clock(),
        )


async def to_everyone(
    app: App, *, due_in: timedelta = timedelta(0), created_by: int | None = None
) -> Broadcast:
    """MESSAGE to every subscriber, due now (or in `due_in`)."""
    now = app.services.clock()
    async with app.db.write() as session:
        return await broadcasts.create(
            session,
            text=MESSAGE,
            areas=[],
            language=None,
            due_at=now + due_in,
            at=now,
            created_by=created_by,
        )


async def subscribers(app: App) -> list[Subscription]:
    async with app.db.read() as session:
        query = select(Subscription).where(col(Subscription.ended_at).is_(None))
        return list((await session.exec(query)).all())


async def test_a_resident_subscribes_and_stops(app: App) -> None:
    chat = Chat(app, sender="6001", channel=Channel.TELEGRAM)
    await chat.send("bahasa en")
    screen = await chat.send("langganan")
    assert "For which area do you want them?" in screen and "All areas" in screen
    await chat.press("Toapaya")
    await chat.press("Bahasa Indonesia")
    assert "You are subscribed to awareness messages (Toapaya)" in chat.screen
    (sub,) = await subscribers(app)
    assert (sub.area, sub.language) == ("Toapaya", "id")
    assert "no more messages from us" in await chat.send("berhenti")
    assert await subscribers(app) == []


async def test_a_report_never_subscribes_but_offers_to(app: App) -> None:
    chat = Chat(app, sender="6002", channel=Channel.TELEGRAM)
    await chat.dialog(ENGLISH_REPORT)
    await chat.send("1")
    assert await subscribers(app) == []
    await chat.press("Subscribe")
    assert "For which area" in chat.screen


async def test_a_coordinator_composes_and_sends_a_broadcast(force: TaskForce, app: App) -> None:
    await subscribe(app, 7101, "Toapaya", "id")
    await subscribe(app, 7102, "", "en")  # every area, English
    await subscribe(app, 7103, "Mantang", "id")
    assert "Not allowed" in await force.say(7777, "/siaran")
    await force.add("Dewi", 9004)
    assert "Not allowed" in await force.say(9004, "/siaran")

    answer = await force.say(CITRA, "/siaran")
    assert "choose one from the library" in answer
    assert "For which areas?" in await force.say(CITRA, MESSAGE)
    answer = await force.say(CITRA, "9")  # Toapaya
    answer = await force.say(CITRA, "done")
    assert "For subscribers of which language?" in answer
    answer = await force.say(CITRA, "1")  # every language
    assert "Preview, exactly as residents will see it:" in answer and MESSAGE in answer
    assert "It will reach 2 subscriber(s)." in answer  # Toapaya + everywhere
    answer = await force.say(CITRA, "1")
    assert "is being sent" in answer

    assert await start_due(app.services) == 2
    await force.deliver()
    assert force.texts(7101) == [MESSAGE] and force.texts(7102) == [MESSAGE]
    assert force.texts(7103) == []
    (done,) = await finish(app.services)
    await force.deliver()
    assert "2 delivered, 0 failed, 0 blocked" in force.texts(CITRA)[-1]
    assert done.state is BroadcastState.DONE


async def test_a_library_message_goes_in_each_subscribers_language(
    force: TaskForce, app: App
) -> None:
    await subscribe(app, 7201, "", "id")
    await subscribe(app, 7202, "", "en")
    await force.dialog(
        CITRA,
        [
            ("/siaran", "choose one from the library"),
            ("1", "For which areas?"),  # the first message of the library
            ("done", "For subscribers of which language?"),
            ("1", "Preview, exactly as residents will see it:"),
            ("1", "is being sent"),
        ],
    )
    await start_due(app.services)
    await force.deliver()
    assert "LAPOR" in force.texts(7201)[0] and "REPORT" in force.texts(7202)[0]


async def test_segments_by_area_and_language(app: App) -> None:
    await subscribe(app, 1, "Toapaya", "id")
    await subscribe(app, 2, "Toapaya", "en")
    await subscribe(app, 3, "Mantang", "en")
    await subscribe(app, 4, "", "en")
    async with app.db.read() as session:
        assert await broadcasts.audience_size(session, [], None) == 4
        assert await broadcasts.audience_size(session, ["Toapaya"], None) == 3
        assert await broadcasts.audience_size(session, ["Toapaya"], "en") == 2
        assert await broadcasts.audience_size(session, ["Mantang", "Toapaya"], "en") == 3


async def test_scheduled_broadcasts_survive_a_restart_and_run_once(
    settings: Settings, clock: Clock, app: App
) -> None:
    await subscribe(app, 7301, "", "id")
    made = await to_everyone(app, due_in=timedelta(hours=2))
    assert await start_due(app.services) == 0
    clock.advance(hours=2)
    restarted, other = await build(settings, clock=clock), await build(settings, clock=clock)
    assert await start_due(restarted.services) + await start_due(other.services) == 1
    async with app.db.read() as session:
        rows = (await session.exec(select(Outbox).where(col(Outbox.broadcast_id) == made.id))).all()
    assert [r.address for r in rows] == ["7301"]
    await restarted.close()
    await other.close()


async def test_a_cancelled_broadcast_sends_nothing_more(force: TaskForce, app: App) -> None:
    for chat in range(7400, 7410):
        await subscribe(app, chat, "", "id")
    made = await to_everyone(app)
    await start_due(app.services)
    await force.delivery.run_once(limit=3)
    async with app.db.write() as session:
        found = await broadcasts.get(session, made.id or 0)
        assert found is not None
        assert await broadcasts.cancel(session, found, force.clock()) == 7
    await force.deliver()
    assert sum(len(force.texts(chat)) for chat in range(7400, 7410)) == 3


async def test_a_restart_during_a_broadcast_resumes_without_duplicates(
    force: TaskForce, app: App, settings: Settings, clock: Clock
) -> None:
    recipients = list(range(7500, 7560))
    for chat in recipients:
        await subscribe(app, chat, "", "id")
    await to_everyone(app)
    await start_due(app.services)
    await force.delivery.run_once(limit=25)  # then the process stops
    restarted = await build(settings, clock=clock)
    again = TaskForce(restarted, force.fake, clock)
    await again.channel.bot.initialize()
    await again.deliver()
    sent = Counter(int(c.params["chat_id"]) for c in force.fake.called("sendMessage"))
    assert {chat: sent[chat] for chat in recipients} == dict.fromkeys(recipients, 1)
    await again.channel.bot.shutdown()
    await restarted.close()


async def test_blocked_residents_are_unsubscribed_and_counted(
    force: TaskForce, app: App, fake: FakeTelegram
) -> None:
    await subscribe(app, 7601, "", "id")
    await subscribe(app, 7602, "", "id")
    fake.block(7602)
    async with app.db.read() as session:
        citra = await members.find(session, "Citra")
    await to_everyone(app, created_by=citra.id if citra else None)
    await start_due(app.services)
    await force.deliver()
    await finish(app.services)
    await force.deliver()
    assert [s.address for s in await subscribers(app)] == ["7601"]
    assert "1 delivered, 0 failed, 1 blocked or opted out" in force.texts(CITRA)[-1]


async def test_an_alert_during_a_broadcast_goes_out_first(force: TaskForce, app: App) -> None:
    for chat in range(7700, 7800):
        await subscribe(app, chat, "", "id")
    await to_everyone(app)
    await start_due(app.services)
    await force.delivery.run_once(limit=10)
    reference = await force.report()  # Citra coordinates: nobody on duty, she is alerted
    await force.delivery.run_once(limit=30)
    calls = force.fake.called("sendMessage")
    alert = next(i for i, c in enumerate(calls) if f"New report {reference}" in c.params["text"])
    assert all(c.params["chat_id"] not in range(7700, 7800) for c in calls[10:alert])
    async with app.db.read() as session:
        kinds = [
            r.kind
            for r in (
                await session.exec(
                    select(Outbox)
                    .where(col(Outbox.state) == OutboxState.SENT)
                    .order_by(col(Outbox.updated_at))
                )
            ).all()
        ]
    assert MessageKind.ALERT in kinds
    assert (await broadcasts_left(app)) > 0  # the rest of the broadcast waits behind


async def broadcasts_left(app: App) -> int:
    async with app.db.read() as session:
        query = select(Outbox).where(
            col(Outbox.kind) == MessageKind.BROADCAST, col(Outbox.state) == OutboxState.PENDING
        )
        return len((await session.exec(query)).all())


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_a_broadcast_with_an_image(force: TaskForce, app: App, fake: FakeTelegram) -> None:
    await subscribe(app, 7901, "", "id")
    await force.say(CITRA, "/siaran")
    outcome = await app.conversations.handle(
        Inbound(Channel.TELEGRAM, str(CITRA), media=(Attachment(PNG, "poster.png"),))
    )
    assert any("Image kept" in getattr(r, "text", "") for r in outcome.replies)
    await force.dialog(
        CITRA,
        [
            (MESSAGE, "For which areas?"),
            ("done", "For subscribers of which language?"),
            ("1", "Preview, exactly as residents will see it:"),
        ],
    )
    await force.say(CITRA, "1")
    await start_due(app.services)
    await force.deliver()
    (photo,) = fake.photos(7901)
    assert photo.params["caption"] == MESSAGE and photo.params["photo"] == PNG


async def test_the_fan_out_goes_in_chunks_and_resumes_after_a_crash(
    app: App, settings: Settings, clock: Clock
) -> None:
    count = broadcasts.FAN_OUT_CHUNK * 2 + 7
    async with app.db.write() as session:
        for n in range(count):
            session.add(
                Subscription(
                    channel=Channel.TELEGRAM,
                    address=str(80_000 + n),
                    language="id",
                    created_at=clock(),
                )
            )
        await broadcasts.create(
            session, text=MESSAGE, areas=[], language=None, due_at=clock(), at=clock()
        )
    async with app.db.write() as session:  # the first process claims it, writes one chunk...
        (claimed,) = await broadcasts.claim_due(session, clock())
    async with app.db.write() as session:
        sending = await broadcasts.fanning(session)
        assert sending is not None
        await broadcasts.fan_out_chunk(session, sending, {"id": MESSAGE}, clock())
    restarted = await build(settings, clock=clock)  # ...and dies; another one carries on
    assert await start_due(restarted.services) == count - broadcasts.FAN_OUT_CHUNK
    async with app.db.read() as session:
        rows = (
            await session.exec(select(Outbox).where(col(Outbox.broadcast_id) == claimed.id))
        ).all()
        done = await broadcasts.get(session, claimed.id or 0)
    assert sorted(int(r.address) for r in rows) == list(range(80_000, 80_000 + count))
    assert done is not None and done.recipients == count and done.fanned_out
    await restarted.close()
