"""The running `sigap run` processes (workers) and their heartbeats: what one of them claimed
is taken again by another once it is no longer alive."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import BindParameter, update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Worker

HEARTBEAT = timedelta(seconds=3)  # how often a worker renews its heartbeat
LEASE = timedelta(seconds=15)  # a worker silent this long is taken for dead
FORGOTTEN_AFTER = timedelta(days=7)


async def register(session: AsyncSession, at: datetime) -> Worker:
    """This process, as a new worker. Workers of this host whose process has died are marked
    stopped, so what they held is taken again at once instead of after the lease."""
    host = socket.gethostname()
    query = select(Worker).where(col(Worker.host) == host, col(Worker.stopped_at).is_(None))
    for old in (await session.exec(query)).all():
        if not _running(old.pid):
            old.stopped_at = at
            session.add(old)
    worker = Worker(host=host, pid=os.getpid(), started_at=at, heartbeat_at=at)
    session.add(worker)
    await session.flush()
    return worker


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


async def beat(session: AsyncSession, worker_id: int, at: datetime) -> None:
    await session.exec(update(Worker).where(col(Worker.id) == worker_id).values(heartbeat_at=at))


async def stop(session: AsyncSession, worker_id: int, at: datetime) -> None:
    await session.exec(update(Worker).where(col(Worker.id) == worker_id).values(stopped_at=at))


def live_ids(now: datetime) -> SelectOfScalar[int | None]:
    """The ids of the workers alive at `now` (a subquery)."""
    return beating_since(now - LEASE)


def beating_since(since: datetime | BindParameter[datetime]) -> SelectOfScalar[int | None]:
    """The ids of the workers running that have beaten since `since` (a subquery; `since`
    may be bound when it runs: then it is `alive_since(now)`)."""
    return select(col(Worker.id)).where(
        col(Worker.stopped_at).is_(None), col(Worker.heartbeat_at) >= since
    )


def alive_since(now: datetime) -> datetime:
    return now - LEASE


async def alive(session: AsyncSession, now: datetime) -> Sequence[Worker]:
    query = select(Worker).where(col(Worker.id).in_(live_ids(now)))
    return (await session.exec(query.order_by(col(Worker.id)))).all()


async def forget_old(session: AsyncSession, now: datetime) -> None:
    """Workers stopped or silent for long are of no more use."""
    await session.exec(delete(Worker).where(col(Worker.heartbeat_at) < now - FORGOTTEN_AFTER))
