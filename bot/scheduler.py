"""The process's one scheduler (APScheduler 3) and its jobs, registered from one ordered list.
What is due lives in database rows (follow-ups, broadcasts, the outbox); a job only claims it,
so a restart loses nothing and several processes never do the same thing twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.outbox import Delivery
from handlers.conversation.turn import Services
from handlers.residents.report import expire_drafts
from handlers.taskforce import broadcast
from handlers.taskforce.alerts import follow_up
from handlers.taskforce.reminders import remind
from handlers.usecases import retention
from storage import chats, escalation, workers

log = logging.getLogger(__name__)

SEEN_KEPT = timedelta(days=7)  # redeliveries come within minutes; a week is ample
FOLLOWUPS_EVERY = timedelta(seconds=1)
# The day's retention run is done once; asking hourly lets a run whose process died be
# finished by another within the hour.
RETENTION_EVERY = timedelta(hours=1)
# Follow-ups falling due this close together go out in one batch (10,000 falling due within
# 30 s would otherwise be sent one transaction each, every 3 ms).
FOLLOWUPS_TOGETHER = timedelta(milliseconds=50)


class Jobs:
    """The jobs of `sigap run`. Each one is a method; JOBS says how often each runs."""

    def __init__(self, services: Services, delivery: Delivery) -> None:
        self.services = services
        self.delivery = delivery
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.busy = 0
        self.stopping = False
        self.idle = asyncio.Event()
        self.idle.set()
        # When each job last ended well, and what went wrong last (for /healthz).
        self.last_ok: dict[str, datetime] = {}
        self.last_error: dict[str, str] = {}
        now = datetime.now(UTC)
        for job in JOBS:
            self.scheduler.add_job(
                self._tracked(job),
                "interval",
                seconds=job.every.total_seconds(),
                id=job.name,
                coalesce=True,
                max_instances=1,
                next_run_time=now,
            )

    async def heartbeat(self) -> None:
        """Renews this process's lease on the messages it is sending."""
        await self.delivery.heartbeat()

    async def outbox(self) -> None:
        """Sends what is due (also woken at once after every commit that queues a message)."""
        await self.delivery.run()

    async def followups(self) -> None:
        """Sends the follow-ups due; one that fell due while the service was down goes out
        once now. A follow-up falling due before the next run is waited for and sent when
        due, not at that run (up to FOLLOWUPS_EVERY late); the runs, each FOLLOWUPS_EVERY,
        see those scheduled by another process meanwhile."""
        while True:
            if await follow_up(self.services):
                self.wake_outbox()
            wait = await self._until_next_followup()
            if wait is None:
                return
            await asyncio.sleep(wait)

    async def _until_next_followup(self) -> float | None:
        """Seconds until the next follow-up falls due, if that is before the job's next run
        (None otherwise, or when stopping)."""
        async with self.services.db.read() as session:
            due = await escalation.next_due(session)
        job = self.scheduler.get_job("followups")
        if due is None or self.stopping or job is None or job.next_run_time is None:
            return None
        wait = max(FOLLOWUPS_TOGETHER, due - self.services.clock()).total_seconds()
        before_next_run = datetime.now(UTC) + timedelta(seconds=wait) < job.next_run_time
        return wait if before_next_run else None

    async def reminders(self) -> None:
        """Reminds the assignee (then the coordinators) of open cases nobody touched for
        `[casework] stale_after_hours`."""
        if await remind(self.services):
            self.wake_outbox()

    async def broadcasts(self) -> None:
        """Starts the broadcasts due (made by `/siaran` or `sigap broadcast send`, now or
        scheduled) and closes those finished, telling who sent them."""
        started = await broadcast.start_due(self.services)
        finished = await broadcast.finish(self.services)
        if started or finished:
            self.wake_outbox()

    async def housekeeping(self) -> None:
        """Deletes drafts left too long (and their files), old delivery ids, old workers."""
        now = self.services.clock()
        expired = await expire_drafts(self.services)
        async with self.services.db.write() as session:
            await chats.forget_seen(session, now - SEEN_KEPT)
            await workers.forget_old(session, now)
        if expired:
            log.info("deleted %d unfinished report(s) left too long", expired)

    async def retention(self) -> None:
        """Applies `[retention]` once a day (asked every RETENTION_EVERY, and at start): one
        process does the day's run, and another finishes it if that one dies half-way. One
        line says what went, in counts."""
        worker = await self.delivery.register()
        run = await retention.apply(self.services, worker)
        if run is not None:
            log.info(
                "retention of %s: removed %d draft(s), %d chat(s), %d reporter identity(ies), "
                "%d evidence file(s)",
                run.day.isoformat(),
                run.drafts,
                run.chats,
                run.identities,
                run.evidence_files,
            )

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self, grace: float) -> None:
        """No new runs; the runs in hand may finish within `grace` seconds (APScheduler would
        cancel them at once)."""
        if not self.scheduler.running:  # start-up failed before it (a port in use)
            return
        self.stopping = True
        self.scheduler.pause()
        try:
            await asyncio.wait_for(self.idle.wait(), grace)
        except TimeoutError:
            log.warning("jobs still running after %.0fs; stopping anyway", grace)
        self.scheduler.shutdown(wait=False)

    def registered(self) -> list[str]:
        """The names of the jobs the running scheduler has, in the order of JOBS."""
        return [job.name for job in JOBS if self.scheduler.get_job(job.name) is not None]

    def _tracked(self, job: Job) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            self.busy += 1
            self.idle.clear()
            try:
                await job.method(self)
            except Exception as error:
                log.exception("job %s failed", job.name)
                self.last_error[job.name] = f"{type(error).__name__}: {error}"[:200]
            else:
                self.last_ok[job.name] = datetime.now(UTC)
            finally:
                self.busy -= 1
                if not self.busy:
                    self.idle.set()

        run.__name__ = job.name
        return run

    def wake_outbox(self) -> None:
        """Runs the delivery job now (a running one picks the new rows up itself)."""
        self.delivery.kick()


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    method: Callable[[Jobs], Awaitable[None]]


# Every job `sigap run` has. Each first runs as the service starts, then every `every`.
JOBS = [
    Job("heartbeat", workers.HEARTBEAT, Jobs.heartbeat),
    Job("outbox", timedelta(seconds=1), Jobs.outbox),  # retries fall due between wakes
    Job("followups", FOLLOWUPS_EVERY, Jobs.followups),  # and when the next one is due
    Job("reminders", timedelta(seconds=2), Jobs.reminders),
    Job("broadcasts", timedelta(seconds=2), Jobs.broadcasts),
    Job("housekeeping", timedelta(minutes=15), Jobs.housekeeping),
    Job("retention", RETENTION_EVERY, Jobs.retention),  # once a day
]
