"""The outbox delivery job: claims due rows (most urgent first), hands each to its channel,
records the result, and retries transient failures with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery import DeliveryError
from handlers import alerts
from handlers.turn import Services
from storage import broadcasts, chats, outbox
from storage.models import Channel, Outbox, OutboxState

log = logging.getLogger(__name__)

BATCH = 50
MAX_ATTEMPTS = 8
# Codes that mean the person does not want (or cannot get) our messages: unsubscribed.
GONE = {
    "blocked",
    "21610",
    "opted_out",
}  # then the row fails for good, and shows in `sigap outbox failed`


class Sender(Protocol):
    async def deliver(self, row: Outbox) -> str | None:
        """Sends the row; returns the provider's id of the message, or raises DeliveryError."""
        ...


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 5 * 2 ** (attempts - 1)))


class Delivery:
    def __init__(self, services: Services, senders: Mapping[Channel, Sender]) -> None:
        self.services = services
        self.senders = dict(senders)
        self.running = False
        self.woken = False  # rows were written while a run was under way

    async def run(self, *, limit: int = BATCH) -> int:
        """Delivers until nothing is due; returns how many rows were handled. A batch's
        results are recorded while the next batch goes out, so a long broadcast keeps to the
        channel's rate with no pause between batches."""
        if not self.senders:
            return 0
        handled = 0
        self.running = True
        recording: set[asyncio.Task[None]] = set()
        try:
            while True:
                self.woken = False
                rows = await self._claim(limit)
                if rows:
                    results = await asyncio.gather(*(self._send(row) for row in rows))
                    task = asyncio.create_task(self._record(rows, results))
                    recording.add(task)
                    task.add_done_callback(recording.discard)
                handled += len(rows)
                if len(rows) < limit and not self.woken:
                    return handled
        finally:
            await asyncio.gather(*recording)
            self.running = False

    async def run_once(self, *, limit: int = BATCH) -> int:
        """One batch: claimed in one transaction, sent concurrently (each channel keeps its
        own rate limits), the results recorded in one transaction."""
        rows = await self._claim(limit)
        await self._record(rows, await asyncio.gather(*(self._send(row) for row in rows)))
        return len(rows)

    async def _claim(self, limit: int) -> Sequence[Outbox]:
        async with self.services.db.write() as session:
            return await outbox.claim(session, self.services.clock(), limit, list(self.senders))

    async def _record(
        self, rows: Sequence[Outbox], results: Sequence[str | DeliveryError | None]
    ) -> None:
        if not rows:
            return
        now = self.services.clock()
        async with self.services.db.write() as session:
            for row, result in zip(rows, results, strict=True):
                assert row.id is not None
                if isinstance(result, DeliveryError):
                    await self._failed(session, row, result, now)
                    continue
                await outbox.sent(session, row.id, result, now)
                if result is not None and row.edit_of is None:
                    await chats.record_message(
                        session, row.channel, row.address, result, at=now, from_bot=True
                    )

    async def _send(self, row: Outbox) -> str | DeliveryError | None:
        try:
            return await self.senders[row.channel].deliver(row)
        except DeliveryError as error:
            return error
        except Exception as error:  # a bug must not stop the other rows
            log.exception("delivering outbox row %s failed", row.id)
            return DeliveryError("error", repr(error), permanent=False)

    async def _failed(
        self, session: AsyncSession, row: Outbox, error: DeliveryError, now: datetime
    ) -> None:
        assert row.id is not None
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
        )
        if final:
            row.state = OutboxState.FAILED
            await alerts.delivery_failed(session, self.services, row, now)
            if error.code in GONE:
                await broadcasts.unsubscribe(
                    session, row.channel, row.address, at=now, reason=error.code
                )
