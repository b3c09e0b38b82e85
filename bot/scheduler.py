"""The process's one scheduler (APScheduler 3) and its jobs. What is due lives in database
rows; a job only looks for it, so a restart loses nothing."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.report import expire_drafts
from handlers.turn import Services
from storage import chats

log = logging.getLogger(__name__)

SEEN_KEPT = timedelta(days=7)  # redeliveries come within minutes; a week is ample


async def housekeeping(services: Services) -> None:
    """Deletes drafts left too long (and their files), and old delivery ids."""
    now = services.clock()
    expired = await expire_drafts(services)
    async with services.db.write() as session:
        await chats.forget_seen(session, now - SEEN_KEPT)
    if expired:
        log.info("deleted %d unfinished report(s) left too long", expired)


def create(services: Services) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        housekeeping,
        "interval",
        minutes=15,
        args=[services],
        id="housekeeping",
        next_run_time=services.clock(),
        coalesce=True,
        max_instances=1,
    )
    return scheduler
