"""The delivery job's one decision about a failed send: the channel says what kind of failure
it was (DeliveryError), the job retries, fails, unsubscribes and marks the conversation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import App
from bot.console import Console
from bot.delivery import DeliveryError, Gone, Sent
from bot.outbox import MAX_ATTEMPTS, Delivery, backoff
from bot.telegram import TelegramChannel
from bot.whatsapp import WhatsAppChannel
from handlers.conversation.messages import Capability
from storage import broadcasts, conversations, outbox, workers
from storage.models import Channel, Conversation, MessageKind, Outbox, OutboxState, Subscription
from tests.support.chat import Chat
from tests.support.clock import Clock

NUMBER = "+6281234567890"


class Failing:
    """A channel whose every send fails with the error given."""

    def __init__(self, error: DeliveryError) -> None:
        self.error = error

    async def deliver(self, row: Outbox) -> Sent:
        raise self.error

    async def record(
        self, session: AsyncSession, sent: Sequence[tuple[Outbox, Sent]], at: datetime
    ) -> None:
        pass


async def subscribed_resident(app: App) -> None:
    await Chat(app, sender=NUMBER, channel=Channel.WHATSAPP).send("halo")
    async with app.db.write() as session:
        await broadcasts.subscribe(
            session, Channel.WHATSAPP, NUMBER, area=None, language="id", at=app.services.clock()
        )


async def deliver_failing(app: App, error: DeliveryError) -> Outbox:
    """A notice to the resident through a channel that fails with `error`: the row after."""
    async with app.db.write() as session:
        row = await outbox.enqueue(
            session,
            Channel.WHATSAPP,
            NUMBER,
            MessageKind.NOTICE,
            "hello",
            at=app.services.clock(),
        )
    await Delivery(app.services, {Channel.WHATSAPP: Failing(error)}).run()
    async with app.db.read() as session:
        after = await outbox.get(session, row.id or 0)
    assert after is not None
    return after


async def state(app: App) -> tuple[Conversation, Subscription]:
    async with app.db.read() as session:
        conv = await conversations.find(session, Channel.WHATSAPP, NUMBER)
        query = select(Subscription).where(col(Subscription.address) == NUMBER)
        subscription = (await session.exec(query)).one()
    assert conv is not None
    return conv, subscription


@pytest.mark.parametrize(
    ("gone", "opted_out", "unreachable"),
    [(Gone.OPTED_OUT, True, False), (Gone.UNREACHABLE, False, True)],
)
async def test_an_address_gone_for_good_is_unsubscribed_and_marked(
    app: App, clock: Clock, gone: Gone, opted_out: bool, unreachable: bool
) -> None:
    await subscribed_resident(app)
    row = await deliver_failing(app, DeliveryError("21610", "no", permanent=True, gone=gone))
    assert row.state is OutboxState.FAILED and row.error_code == "21610"
    conv, subscription = await state(app)
    assert subscription.ended_at == clock.now and subscription.end_reason == "21610"
    assert (conv.opted_out_at == clock.now) is opted_out
    assert (conv.unreachable_at == clock.now) is unreachable


async def test_an_opt_out_already_recorded_keeps_its_time(app: App, clock: Clock) -> None:
    await subscribed_resident(app)
    stopped_at = clock.now
    async with app.db.write() as session:
        conv = await conversations.find(session, Channel.WHATSAPP, NUMBER)
        assert conv is not None
        conv.opted_out_at = stopped_at
        session.add(conv)
    clock.advance(hours=1)
    gone = DeliveryError("opted_out", "sent STOP", permanent=True, gone=Gone.OPTED_OUT)
    await deliver_failing(app, gone)
    conv, _ = await state(app)
    assert conv.opted_out_at == stopped_at


async def test_a_permanent_failure_fails_the_row_and_nothing_else(app: App, clock: Clock) -> None:
    await subscribed_resident(app)
    row = await deliver_failing(app, DeliveryError("63016", "outside", permanent=True))
    assert row.state is OutboxState.FAILED
    conv, subscription = await state(app)
    assert subscription.ended_at is None
    assert conv.opted_out_at is None and conv.unreachable_at is None


async def test_a_transient_failure_is_retried_after_the_backoff(app: App, clock: Clock) -> None:
    await subscribed_resident(app)
    row = await deliver_failing(app, DeliveryError("503", "busy", permanent=False))
    assert row.state is OutboxState.PENDING and row.error_code == "503"
    assert row.due_at == clock.now + backoff(row.attempts)
    _, subscription = await state(app)
    assert subscription.ended_at is None


async def test_a_transient_failure_waits_as_long_as_the_provider_asks(
    app: App, clock: Clock
) -> None:
    await subscribed_resident(app)
    error = DeliveryError("transient", "429", permanent=False, retry_after=120)
    row = await deliver_failing(app, error)
    assert row.state is OutboxState.PENDING
    assert row.due_at == clock.now + timedelta(seconds=120)
    # A shorter wait than the backoff changes nothing: the backoff stands.
    error = DeliveryError("transient", "429", permanent=False, retry_after=1)
    row = await deliver_failing(app, error)
    assert row.due_at == clock.now + backoff(row.attempts)


def test_gone_is_always_permanent() -> None:
    error = DeliveryError("blocked", "403", permanent=False, gone=Gone.UNREACHABLE)
    assert error.permanent


def test_the_flows_see_what_each_channel_declares(app: App) -> None:
    for channel in (TelegramChannel, WhatsAppChannel):
        assert app.services.channels[channel.channel] == channel.capabilities
    assert app.services.channels[Channel.CONSOLE] == Console.capabilities
    assert app.services.can(Channel.TELEGRAM, Capability.EDIT)
    assert not app.services.can(Channel.WHATSAPP, Capability.EDIT)
    assert not app.services.can(Channel.CONSOLE, Capability.NOTIFY)
    assert app.services.can(Channel.CONSOLE, Capability.PATHS)


async def test_a_claim_counts_one_attempt(app: App, clock: Clock) -> None:
    """Each try is counted once, in hand and as stored: MAX_ATTEMPTS tries, not half as many."""
    async with app.db.write() as session:
        await outbox.enqueue(
            session, Channel.TELEGRAM, "5001", MessageKind.NOTICE, "hi", at=clock.now, priority=1
        )
        worker = (await workers.register(session, clock.now)).id
        assert worker is not None
    async with app.db.write() as session:
        [row] = await outbox.claim(session, clock.now, 10, [Channel.TELEGRAM], worker)
        assert (row.state, row.attempts, row.claimed_by) == (OutboxState.SENDING, 1, worker)
    async with app.db.read() as session:
        stored = (await session.exec(select(Outbox))).one()
    assert (stored.state, stored.attempts) == (OutboxState.SENDING, 1)


class Counting(Failing):
    """A failing channel that counts the tries."""

    def __init__(self, error: DeliveryError) -> None:
        super().__init__(error)
        self.tries = 0

    async def deliver(self, row: Outbox) -> Sent:
        self.tries += 1
        raise self.error


async def test_a_message_failing_again_and_again_is_tried_max_attempts_times(
    app: App, clock: Clock
) -> None:
    """Each try counts once: the message fails for good after MAX_ATTEMPTS tries, each one
    waiting the backoff of its own number (5 s, 10 s, 20 s...), not after half as many."""
    channel = Counting(DeliveryError("503", "busy", permanent=False))
    delivery = Delivery(app.services, {Channel.WHATSAPP: channel})
    async with app.db.write() as session:
        row = await outbox.enqueue(
            session, Channel.WHATSAPP, NUMBER, MessageKind.NOTICE, "hello", at=clock.now
        )
    waits = []
    for _ in range(MAX_ATTEMPTS + 2):
        await delivery.run()
        async with app.db.read() as session:
            after = await outbox.get(session, row.id or 0)
        assert after is not None
        if after.state is OutboxState.FAILED:
            break
        assert after.due_at is not None
        waits.append(after.due_at - clock.now)
        clock.now = after.due_at
    assert channel.tries == MAX_ATTEMPTS
    assert waits == [backoff(n) for n in range(1, MAX_ATTEMPTS)]
