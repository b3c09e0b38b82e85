"""The outbox delivery job: sends each answer at once from the process that stored it, claims
the other due rows (most urgent first), hands each to its channel, records the results, and
decides, alone, what a failure means: retried with backoff, failed, or the address gone for
good (unsubscribed, its conversation marked). Sending is a pipeline: new rows are claimed as soon
as there is room, only a few broadcast rows are in hand at a time (an answer never waits long
behind a broadcast), and one chat's messages go out one after the other, in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery import ChatLocks, DeliveryError, Gone, Sent
from handlers.conversation.turn import Services, Work
from handlers.taskforce import lifecycle
from storage import broadcasts, chats, outbox, workers
from storage.models import Channel, MessageKind, Outbox, OutboxState

log = logging.getLogger(__name__)

BATCH = 50  # rows a claim takes
IN_FLIGHT = 200  # rows being sent at once, at most (each channel keeps its own rate limits)
# Broadcast rows in hand at once, at most: enough to keep a channel at its rate, few enough
# that an answer or an alert never waits long behind them for the channel's rate limit.
BULK_IN_FLIGHT = 24
MAX_ATTEMPTS = 8
# Urgent messages this process claims as it stores them, at most: Telegram's messages a
# second. The others would only wait for the rate limit; the delivery job claims them then.
CLAIMED_AT_ONCE = 30
# Seconds the handling of a message waits for its answer to go out (a webhook answers its
# sender after that); a slow provider's send goes on behind.
EAGER_WAIT = 2.0
# How long an answer waits for the one before it to the same chat, sent by another process
# (which records it within milliseconds, or is dead), and how often it looks.
ORDER_WAIT = 5.0
ORDER_POLL = 0.02


class Sender(Protocol):
    """A channel, as the delivery job sees it."""

    async def deliver(self, row: Outbox) -> Sent:
        """Sends the row; says what went out, or raises DeliveryError saying what kind of
        failure it was (never deciding what to do about it)."""
        ...

    async def record(
        self, session: AsyncSession, sent: Sequence[tuple[Outbox, Sent]], at: datetime
    ) -> None:
        """Keeps what these sends left in their chats, if the channel keeps anything, in the
        transaction that records the rows' results: one statement per kind, not per row."""
        ...


class Released:
    """A row in hand when the process stopped: it goes back to the outbox untouched."""


Result = Sent | DeliveryError | Released


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the delivery job failed", exc_info=task.exception())


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 5 * 2 ** (attempts - 1)))


def retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    """How long a transient failure waits: the backoff, or longer if the provider said so."""
    return max(backoff(attempts), timedelta(seconds=retry_after or 0))


class Delivery:
    def __init__(self, services: Services, senders: Mapping[Channel, Sender]) -> None:
        self.services = services
        self.senders = dict(senders)
        self.worker: int | None = None  # this process's row in `worker`, once registered
        self._task: asyncio.Task[int] | None = None
        self._wake = asyncio.Event()
        self._sending: dict[asyncio.Task[None], Outbox] = {}
        # Results not yet recorded, each with what its sender waits on (see _send).
        self._done: list[tuple[Outbox, Result, asyncio.Event]] = []
        self._locks = ChatLocks()
        self._stopping = False
        # Rows may be waiting in the outbox: written since the last claim, or left there by
        # a claim that had no room for them. A send that ends alone claims nothing new.
        self._due = True

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def register(self) -> int:
        """This process as a worker: the rows it claims are its own until it dies."""
        if self.worker is None:
            async with self.services.db.write() as session:
                worker = await workers.register(session, self.services.clock())
            assert worker.id is not None
            self.worker = worker.id
        return self.worker

    async def heartbeat(self) -> None:
        """Renews this worker's lease on the rows it has in hand."""
        worker = await self.register()
        async with self.services.db.write(first=True) as session:
            await workers.beat(session, worker, self.services.clock())

    async def send_now(self, row: Outbox, *, behind: bool = True) -> None:
        """An answer this process claimed as it stored it: sent at once, its result recorded
        with the others'. Waits for it to go out, at most EAGER_WAIT seconds. `behind`: when
        it was stored, another process was sending an earlier message to the chat
        (outbox.sending_elsewhere); the answer waits for that one."""
        if self._stopping:
            return  # claimed by a process that stops: the next one takes it at once
        tried = asyncio.Event()
        task = asyncio.create_task(self._send(row, tried, in_order=not behind))
        self._sending[task] = row
        task.add_done_callback(self._sent)
        self.kick(due=False)  # records the result
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tried.wait(), EAGER_WAIT)

    def claimant(self) -> outbox.Claimant | None:
        """This process, as the claimant of the urgent messages it stores (a new report's
        alerts, sent by `send_claimed` right after the commit); None before it is registered
        or once it stops (the delivery job, here or elsewhere, claims them then)."""
        if self.worker is None or self._stopping or not self.senders:
            return None
        return outbox.Claimant(self.worker, frozenset(self.senders), CLAIMED_AT_ONCE)

    def send_claimed(self, rows: Sequence[Outbox]) -> None:
        """Rows this process claimed as it stored them: all sent at once, side by side (each
        channel keeps to its rate limits), their results recorded with the others'. Nothing
        waits for them."""
        if self._stopping:
            return  # claimed by a process that stops: the next one takes them at once
        for row in rows:
            task = asyncio.create_task(self._send(row))
            self._sending[task] = row
            task.add_done_callback(self._sent)
        self.kick(due=False)  # records the results

    def kick(self, *, due: bool = True) -> None:
        """Starts delivering now, or tells the delivery under way that new rows are `due`."""
        if self._stopping or not self.senders:
            return
        self._due = self._due or due
        if self.running:
            self._wake.set()
            return
        self._task = asyncio.create_task(self._run())
        self._task.add_done_callback(_log_failure)

    async def run(self) -> int:
        """Delivers until nothing is due and nothing is in hand; returns how many rows were
        taken. The scheduler's outbox job, and what the tests call."""
        self.kick()
        task = self._task
        if task is None:
            return 0
        await asyncio.wait({task})
        return 0 if task.cancelled() or task.exception() else task.result()

    async def run_once(self, *, limit: int = BATCH) -> int:
        """One claim of at most `limit` rows, sent and recorded (a delivery that stops half-way,
        for the tests)."""
        rows = await self._claim(limit)
        results = await asyncio.gather(*(self._attempt(row) for row in rows))
        self._done.extend(
            (row, result, asyncio.Event()) for row, result in zip(rows, results, strict=True)
        )
        await self._record()
        return len(rows)

    async def stop(self, grace: float) -> None:
        """Claims nothing more; what is in hand may finish within `grace` seconds, then it is
        put back in the outbox as pending (never failed by the stop itself)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=grace)
            if not done:
                for sending in list(self._sending):
                    sending.cancel()
                await asyncio.wait({self._task})
        if self._done:  # the delivery ended on an error with results still to record
            await self._record()
        if self.worker is not None:
            async with self.services.db.write() as session:
                await workers.stop(session, self.worker, self.services.clock())

    async def _run(self) -> int:
        taken = 0
        while True:
            self._wake.clear()
            await self._record()
            if self._due and not self._stopping:
                self._due = False
                for row in await self._claim():
                    task = asyncio.create_task(self._send(row))
                    self._sending[task] = row
                    task.add_done_callback(self._sent)
                    taken += 1
                if self._due:
                    continue  # the claim was full: more may be waiting
            if not self._sending and not self._done and not self._wake.is_set():
                return taken
            await self._wake.wait()

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.pop(task)
        self._wake.set()

    async def _claim(self, limit: int = BATCH) -> Sequence[Outbox]:
        """What there is room for: urgent rows first, then a few bulk ones. A claim that
        fills the room leaves `_due` set: there may be more."""
        room = min(limit, IN_FLIGHT - len(self._sending))
        bulk = sum(row.priority >= outbox.BULK for row in self._sending.values())
        if room <= 0:
            self._due = True
            return []
        worker = await self.register()
        now, channels = self.services.clock(), list(self.senders)
        async with self.services.db.write() as session:
            rows = list(await outbox.claim(session, now, room, channels, worker))
            bulk_room = min(room - len(rows), BULK_IN_FLIGHT - bulk)
            if bulk_room > 0:
                taken = await outbox.claim(session, now, bulk_room, channels, worker, bulk=True)
                rows += taken
                self._due = self._due or len(taken) == bulk_room
            elif bulk >= BULK_IN_FLIGHT:
                self._due = True  # a broadcast under way: more as soon as some are sent
        self._due = self._due or len(rows) == room
        return rows

    async def _send(
        self, row: Outbox, tried: asyncio.Event | None = None, *, in_order: bool = False
    ) -> None:
        """Sends the row and waits until its result is recorded, holding the chat: the next
        message to the chat goes after this one, and sees what this one left in the chat.
        `tried` is set as soon as the channel has answered. `in_order`: no other process was
        sending to the chat when the row was stored (an answer); otherwise an answer first
        waits for the earlier ones sent elsewhere."""
        async with self._locks.hold((row.channel, row.address)):
            if row.kind is MessageKind.REPLY and not in_order:
                await self._after_other_processes(row)
            result = await self._attempt(row)
            if tried is not None:
                tried.set()
            recorded = asyncio.Event()
            self._done.append((row, result, recorded))
            self._wake.set()
            await recorded.wait()

    async def _after_other_processes(self, row: Outbox) -> None:
        """Waits (at most ORDER_WAIT seconds) while another process sends an earlier message
        to the row's chat: the message before, handled there, whose answer it has not yet
        recorded as sent (see outbox.sending_elsewhere)."""
        assert self.worker is not None
        deadline = time.monotonic() + ORDER_WAIT
        while time.monotonic() < deadline:
            async with self.services.db.read() as session:
                now = self.services.clock()
                behind = await outbox.sending_elsewhere(
                    session, row.channel, row.address, self.worker, now, before=row.id
                )
                if not behind:
                    return
            await asyncio.sleep(ORDER_POLL)

    async def _attempt(self, row: Outbox) -> Result:
        try:
            return await self.senders[row.channel].deliver(row)
        except DeliveryError as error:
            return error
        except asyncio.CancelledError:
            return Released()
        except Exception as error:  # a bug must not stop the other rows
            log.exception("delivering outbox row %s failed", row.id)
            return DeliveryError("error", repr(error), permanent=False)

    async def _record(self) -> None:
        """The results of the rows sent since the last time, with what they left in their
        chats (kept by their channels), in one transaction. Kept to record again if the
        transaction fails."""
        if not self._done:
            return
        done = list(self._done)
        assert self.worker is not None
        now = self.services.clock()
        delivered: list[tuple[int, str | None]] = []
        kept: dict[Channel, list[tuple[Outbox, Sent]]] = {}
        for row, result, _ in done:
            if isinstance(result, Released):
                continue
            sent = result if isinstance(result, Sent) else result.sent
            if isinstance(result, Sent) and row.id is not None:
                delivered.append((row.id, result.provider_id))
            if sent is not None:
                kept.setdefault(row.channel, []).append((row, sent))
        released = [row.id for row, result, _ in done if isinstance(result, Released) and row.id]
        # Before the writers waiting: the sooner a sent message is recorded, the fewer are
        # sent again after a crash.
        async with self.services.db.write(first=True) as session:
            await outbox.release(session, released, now, self.worker)
            await outbox.sent(session, delivered, now, self.worker)
            for row, result, _ in done:
                if isinstance(result, DeliveryError):
                    await self._failed(session, row, result, now)
            for channel, sends in kept.items():
                await self.senders[channel].record(session, sends, now)
        del self._done[: len(done)]
        for _row, _result, recorded in done:
            recorded.set()

    async def _failed(
        self, session: AsyncSession, row: Outbox, error: DeliveryError, now: datetime
    ) -> None:
        assert row.id is not None and self.worker is not None
        final = error.permanent or row.attempts >= MAX_ATTEMPTS
        log.log(
            logging.WARNING if final else logging.INFO,
            "%s to %s %s: %s",
            row.kind,
            row.channel,
            "failed" if final else "will retry",
            error.message,
        )
        await outbox.failed_attempt(
            session,
            row.id,
            code=error.code,
            error=error.message,
            at=now,
            retry_at=None if final else now + retry_delay(row.attempts, error.retry_after),
            worker=self.worker,
        )
        if final:
            row.state = OutboxState.FAILED
            await lifecycle.delivery_failed(Work(self.services, session, now), row)
        if error.gone is not None:
            # The address will never receive again: no more broadcasts to it, and its
            # conversation says why.
            log.info("outbox row %s: the address is gone (%s); unsubscribed", row.id, error.gone)
            await broadcasts.unsubscribe(
                session, row.channel, row.address, at=now, reason=error.code
            )
            if error.gone is Gone.OPTED_OUT:
                await chats.mark_opted_out(session, row.channel, row.address, now)
            else:
                await chats.mark_unreachable(session, row.channel, row.address, now)
