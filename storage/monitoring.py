"""The figures /metrics shows that the database holds (bot/metrics.py): the same for every
process of a deployment, read at each scrape with one grouped query each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Broadcast,
    BroadcastState,
    EventKind,
    Outbox,
    OutboxState,
    Report,
    ReportEvent,
    ReportState,
)


@dataclass(frozen=True)
class Figures:
    reports: dict[tuple[str, str], int]  # (channel, priority) -> reports received
    unacknowledged: int  # new reports nobody has acknowledged
    pending: dict[str, tuple[int, datetime]]  # outbox kind -> (rows, the oldest's time)
    failed: dict[str, int]  # delivery failures by reason (the provider's code)
    broadcasts: dict[int, tuple[int, dict[str, int]]]  # running -> (recipients, by state)
    to_first_alert: list[float]  # seconds, reports since `since`
    to_acknowledgement: list[float]


async def figures(session: AsyncSession, since: datetime) -> Figures:
    reports = await session.exec(
        select(Report.channel, Report.priority, func.count()).group_by(
            col(Report.channel), col(Report.priority)
        )
    )
    unacknowledged = await session.exec(
        select(func.count()).where(
            col(Report.acknowledged_at).is_(None), col(Report.state) == ReportState.NEW
        )
    )
    pending = await session.exec(
        select(Outbox.kind, func.count(), func.min(Outbox.created_at))
        .where(col(Outbox.state).in_([OutboxState.PENDING, OutboxState.SENDING]))
        .group_by(col(Outbox.kind))
    )
    failed = await session.exec(
        select(Outbox.error_code, func.count())
        .where(col(Outbox.state).in_([OutboxState.FAILED, OutboxState.UNDELIVERED]))
        .group_by(col(Outbox.error_code))
    )
    return Figures(
        reports={(str(c), str(p)): n for c, p, n in reports.all()},
        unacknowledged=unacknowledged.one(),
        pending={str(k): (n, oldest) for k, n, oldest in pending.all()},
        failed={str(code or "unknown"): n for code, n in failed.all()},
        broadcasts=await running_broadcasts(session),
        to_first_alert=await first_alert_delays(session, since),
        to_acknowledgement=await acknowledgement_delays(session, since),
    )


async def running_broadcasts(session: AsyncSession) -> dict[int, tuple[int, dict[str, int]]]:
    running = (
        await session.exec(
            select(Broadcast.id, Broadcast.recipients).where(
                col(Broadcast.state) == BroadcastState.SENDING
            )
        )
    ).all()
    found: dict[int, tuple[int, dict[str, int]]] = {i: (n, {}) for i, n in running if i is not None}
    if found:
        rows = await session.exec(
            select(Outbox.broadcast_id, Outbox.state, func.count())
            .where(col(Outbox.broadcast_id).in_(list(found)))
            .group_by(col(Outbox.broadcast_id), col(Outbox.state))
        )
        for broadcast_id, state, count in rows.all():
            if broadcast_id is not None:
                found[broadcast_id][1][str(state)] = count
    return found


async def first_alert_delays(session: AsyncSession, since: datetime) -> list[float]:
    first = (
        select(ReportEvent.report_id, func.min(ReportEvent.at).label("at"))
        .where(col(ReportEvent.kind) == EventKind.ALERTED)
        .group_by(col(ReportEvent.report_id))
        .subquery()
    )
    rows = await session.exec(
        select(Report.created_at, first.c.at)
        .join(first, first.c.report_id == Report.id)
        .where(col(Report.created_at) >= since)
    )
    return seconds_between(rows.all())


async def acknowledgement_delays(session: AsyncSession, since: datetime) -> list[float]:
    rows = await session.exec(
        select(Report.created_at, Report.acknowledged_at).where(
            col(Report.created_at) >= since, col(Report.acknowledged_at).is_not(None)
        )
    )
    return seconds_between(rows.all())


def seconds_between(pairs: Sequence[tuple[datetime, datetime | None]]) -> list[float]:
    return [max(0.0, (end - start).total_seconds()) for start, end in pairs if end is not None]
