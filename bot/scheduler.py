"""The process's one scheduler (APScheduler 3) and its jobs. What is due lives in database
rows (follow-ups, the outbox); a job only claims it, so a restart loses nothing and several
processes never do the same thing twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.outbox import Delivery
from handlers.alerts import follow_up
from handlers.report import expire_drafts
from handlers.turn import Services
from storage import chats, escalation

log = logging.getLogger(__name__)

SEEN_KEPT = timedelta(days=7)  # redeliveries come within minutes; a week is ample
FOLLOWUP_POLL = timedelta(seconds=10)  # also woken at the next due time
OUTBOX_POLL = timedelta(seconds=2)  # also woken when a row is written


async def housekeeping(services: Services) -> None:
    """Deletes drafts left too long (and their files), and old delivery ids."""
    now = services.clock()
    expired = await expire_drafts(services)
    async with services.db.write() as session:
        await chats.forget_seen(session, now - SEEN_KEPT)
    if expired:
        log.info("deleted %d unfinished report(s) left too long", expired)


class Jobs:
    def __init__(self, services: Services, delivery: Delivery) -> None:
        self.services = services
        self.delivery = delivery
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        common = {"coalesce": True, "max_instances": 1, "next_run_time": now}
        self.scheduler.add_job(
            housekeeping, "interval", minutes=15, args=[services], id="housekeeping", **common
        )
        self.scheduler.add_job(
            self.followups, "interval", seconds=FOLLOWUP_POLL.seconds, id="followups", **common
        )
        self.scheduler.add_job(
            self.outbox, "interval", seconds=OUTBOX_POLL.seconds, id="outbox", **common
        )

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)

    async def followups(self) -> None:
        """Sends the follow-ups due (a follow-up that fell due while the service was down goes
        out once now), then wakes at the next due time."""
        sent = await follow_up(self.services)
        if sent:
            self.wake_outbox()
        async with self.services.db.read() as session:
            due = await escalation.next_due(session)
        if due is not None:
            wait = max(timedelta(0), due - self.services.clock())
            if wait < FOLLOWUP_POLL:
                self._wake("followups", wait)

    async def outbox(self) -> None:
        await self.delivery.run()

    def wake_outbox(self) -> None:
        if not self.delivery.running:
            self._wake("outbox", timedelta(0))

    def _wake(self, job_id: str, after: timedelta) -> None:
        job = self.scheduler.get_job(job_id)
        if job is not None and self.scheduler.running:
            job.modify(next_run_time=datetime.now(UTC) + after)
