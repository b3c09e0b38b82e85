"""The outbox delivery job: claims due rows (most urgent first), hands each to its channel,
records the result, and retries transient failures with backoff. Sending is a pipeline: new
rows are claimed as soon as there is room, so an answer never waits behind a long broadcast,
and one chat's messages go out one after the other, in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery import ChatLocks, DeliveryError
from handlers import alerts
from handlers.turn import Services
from storage import broadcasts, chats, outbox, workers
from storage.models import Channel, MessageKind, Outbox, OutboxState

log = logging.getLogger(__name__)

BATCH = 50  # rows a claim takes
IN_FLIGHT = 200  # rows being sent at once, at most (each channel keeps its own rate limits)
# Broadcast rows in hand at once, at most: enough to keep a channel at its rate, few enough
# that an answer or an alert never waits long behind them for the channel's rate limit.
BULK_IN_FLIGHT = 24
MAX_ATTEMPTS = 8
# Codes that mean the person does not want (or cannot get) our messages: unsubscribed.
GONE = {
    "blocked",
    "21610",
    "opted_out",
}  # then the row fails for good, and shows in `sigap outbox failed`


# Answers record their chat's messages themselves (the channel keeps their keyboards).
ANSWER = MessageKind.REPLY


class Sender(Protocol):
    async def deliver(self, row: Outbox) -> str | None:
        """Sends the row; returns the provider's id of the message, or raises DeliveryError."""
        ...


class Released:
    """A row in hand when the process stopped: it goes back to the outbox untouched."""


Result = str | DeliveryError | Released | None


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the delivery job failed", exc_info=task.exception())


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 5 * 2 ** (attempts - 1)))


class Delivery:
    def __init__(self, services: Services, senders: Mapping[Channel, Sender]) -> None:
        self.services = services
        self.senders = dict(senders)
        self.worker: int | None = None  # this process's row in `worker`, once registered
        self._task: asyncio.Task[int] | None = None
        self._wake = asyncio.Event()
        self._sending: dict[asyncio.Task[Result], Outbox] = {}
        self._done: list[tuple[Outbox, Result]] = []
        self._locks = ChatLocks()
        self._stopping = False

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
        async with self.services.db.write() as session:
            await workers.beat(session, worker, self.services.clock())

    def kick(self) -> None:
        """Starts delivering now, or tells the delivery under way that new rows are due."""
        if self._stopping or not self.senders:
            return
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
        results = await asyncio.gather(*(self._send(row) for row in rows))
        self._done.extend(zip(rows, results, strict=True))
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
            rows: Sequence[Outbox] = []
            if not self._stopping:
                rows = await self._claim()
                for row in rows:
                    task = asyncio.create_task(self._send(row))
                    self._sending[task] = row
                    task.add_done_callback(self._sent)
                taken += len(rows)
            if len(rows) == BATCH:
                continue  # more may be due
            if not self._sending and not self._done and not self._wake.is_set():
                return taken
            await self._wake.wait()

    def _sent(self, task: asyncio.Task[Result]) -> None:
        row = self._sending.pop(task)
        self._done.append((row, task.result()))
        self._wake.set()

    async def _claim(self, limit: int = BATCH) -> Sequence[Outbox]:
        """What there is room for: urgent rows first, then a few bulk ones."""
        room = min(limit, IN_FLIGHT - len(self._sending))
        bulk = sum(row.priority >= outbox.BULK for row in self._sending.values())
        if room <= 0:
            return []
        worker = await self.register()
        now, channels = self.services.clock(), list(self.senders)
        async with self.services.db.write() as session:
            rows = list(await outbox.claim(session, now, room, channels, worker))
            bulk_room = min(room - len(rows), BULK_IN_FLIGHT - bulk)
            if bulk_room > 0:
                rows += await outbox.claim(session, now, bulk_room, channels, worker, bulk=True)
        return rows

    async def _send(self, row: Outbox) -> Result:
        try:
            async with self._locks.hold((row.channel, row.address)):
                return await self.senders[row.channel].deliver(row)
        except DeliveryError as error:
            return error
        except asyncio.CancelledError:
            return Released()
        except Exception as error:  # a bug must not stop the other rows
            log.exception("delivering outbox row %s failed", row.id)
            return DeliveryError("error", repr(error), permanent=False)

    async def _record(self) -> None:
        """The results of the rows sent since the last time, in one transaction."""
        if not self._done:
            return
        done, self._done = self._done, []
        assert self.worker is not None
        now = self.services.clock()
        async with self.services.db.write() as session:
            released = [row.id for row, result in done if isinstance(result, Released)]
            if released:
                await outbox.release(session, [i for i in released if i], now, self.worker)
            for row, result in done:
                if isinstance(result, DeliveryError):
                    await self._failed(session, row, result, now)
                elif not isinstance(result, Released):
                    await outbox.sent(session, row, result, now, self.worker)
                    if result is not None and row.edit_of is None and row.kind is not ANSWER:
                        await chats.record_message(
                            session, row.channel, row.address, result, at=now, from_bot=True
                        )

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
            retry_at=None if final else now + backoff(row.attempts),
            worker=self.worker,
        )
        if final:
            row.state = OutboxState.FAILED
            await alerts.delivery_failed(session, self.services, row, now)
            if error.code in GONE:
                await broadcasts.unsubscribe(
                    session, row.channel, row.address, at=now, reason=error.code
                )
