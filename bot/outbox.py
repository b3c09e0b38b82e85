"""The outbox delivery job: claims due rows (most urgent first), hands each to its channel,
records the result, and retries transient failures with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Protocol

from bot.delivery import DeliveryError
from handlers import alerts
from handlers.turn import Services
from storage import outbox
from storage.models import Channel, Outbox, OutboxState

log = logging.getLogger(__name__)

BATCH = 50
MAX_ATTEMPTS = 8  # then the row fails for good, and shows in `sigap outbox failed`


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

    async def run(self, *, limit: int = BATCH) -> int:
        """Delivers until nothing is due; returns how many rows were handled."""
        if not self.senders:
            return 0
        handled = 0
        self.running = True
        try:
            while True:
                count = await self.run_once(limit=limit)
                handled += count
                if count < limit:
                    return handled
        finally:
            self.running = False

    async def run_once(self, *, limit: int = BATCH) -> int:
        now = self.services.clock()
        async with self.services.db.write() as session:
            rows = await outbox.claim(session, now, limit, list(self.senders))
        await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: Outbox) -> None:
        assert row.id is not None
        try:
            provider_id = await self.senders[row.channel].deliver(row)
        except DeliveryError as error:
            await self._failed(row, error)
        except Exception as error:  # a bug must not stop the other rows
            log.exception("delivering outbox row %s failed", row.id)
            await self._failed(row, DeliveryError("error", repr(error), permanent=False))
        else:
            async with self.services.db.write() as session:
                await outbox.sent(session, row.id, provider_id, self.services.clock())

    async def _failed(self, row: Outbox, error: DeliveryError) -> None:
        assert row.id is not None
        now = self.services.clock()
        final = error.permanent or row.attempts >= MAX_ATTEMPTS
        log.log(
            logging.WARNING if final else logging.INFO,
            "%s to %s %s: %s",
            row.kind,
            row.channel,
            "failed" if final else "will retry",
            error.message,
        )
        async with self.services.db.write() as session:
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
