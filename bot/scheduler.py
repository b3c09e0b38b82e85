"""The process's one scheduler (APScheduler 3) and its jobs. What is due lives in database
rows (follow-ups, the outbox); a job only claims it, so a restart loses nothing and several
processes never do the same thing twice."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.outbox import Delivery
from handlers import broadcast
from handlers.alerts import follow_up
from handlers.report import expire_drafts
from handlers.turn import Services
from storage import chats

log = logging.getLogger(__name__)

SEEN_KEPT = timedelta(days=7)  # redeliveries come within minutes; a week is ample
FOLLOWUP_POLL = timedelta(seconds=1)  # a cheap indexed query when nothing is due
OUTBOX_POLL = timedelta(seconds=1)  # also woken at once when a row is written
BROADCAST_POLL = timedelta(seconds=5)
STOP_WAIT = 30.0  # seconds a stop waits for the jobs in hand to finish


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
        self.busy = 0
        self.idle = asyncio.Event()
        self.idle.set()
        now = datetime.now(UTC)
        common = {"coalesce": True, "max_instances": 1, "next_run_time": now}
        self.scheduler.add_job(
            self.tracked(housekeeping),
            "interval",
            minutes=15,
            args=[services],
            id="housekeeping",
            **common,
        )
        self.scheduler.add_job(
            self.tracked(self.followups),
            "interval",
            seconds=FOLLOWUP_POLL.seconds,
            id="followups",
            **common,
        )
        self.scheduler.add_job(
            self.tracked(self.outbox),
            "interval",
            seconds=OUTBOX_POLL.seconds,
            id="outbox",
            **common,
        )

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        """No new runs; the runs in hand finish (APScheduler would cancel them)."""
        self.scheduler.pause()
        try:
            await asyncio.wait_for(self.idle.wait(), STOP_WAIT)
        except TimeoutError:
            log.warning("jobs still running after %.0fs; stopping anyway", STOP_WAIT)
        self.scheduler.shutdown(wait=False)

    def tracked(self, job: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        @functools.wraps(job)
        async def run(*args: Any) -> None:
            self.busy += 1
            self.idle.clear()
            try:
                await job(*args)
            except Exception:
                log.exception("job %s failed", job.__name__)
            finally:
                self.busy -= 1
                if not self.busy:
                    self.idle.set()

        return run

    async def followups(self) -> None:
        """Sends the follow-ups due; one that fell due while the service was down goes out
        once now."""
        if await follow_up(self.services):
            self.wake_outbox()

    async def broadcasts(self) -> None:
        """Starts the broadcasts due (scheduled ones survive restarts: they are rows) and
        closes those finished, telling who sent them."""
        started = await broadcast.start_due(self.services)
        finished = await broadcast.finish(self.services)
        if started or finished:
            self.wake_outbox()

    async def outbox(self) -> None:
        await self.delivery.run()

    def wake_outbox(self) -> None:
        """Runs the delivery job now (a running one picks the new rows up itself)."""
        if self.delivery.running:
            self.delivery.woken = True
            return
        job = self.scheduler.get_job("outbox")
        if job is not None and self.scheduler.running:
            job.modify(next_run_time=datetime.now(UTC))
