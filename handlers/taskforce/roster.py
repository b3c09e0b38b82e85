"""Who is on duty: weekly shifts in local time plus one-off overrides (the members' commands
/piket, /siaga, /selesai are in members.py, through usecases.duty)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.conversation.turn import Services, Turn
from storage import members, roster
from storage.models import Member, Override, Role
from storage.roster import ShiftRow

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def occurrences(
    shift: ShiftRow, around: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The shift's intervals (aware, local) that could contain `around` or follow it within a
    week: a shift whose end is not after its start ends the next day."""
    start, end = clock_time(shift.start), clock_time(shift.end)
    local = around.astimezone(zone).date()
    spans = []
    for offset in range(-1, 8):
        day = local + timedelta(days=offset)
        if day.weekday() != shift.weekday:
            continue
        begins = datetime.combine(day, start, zone)
        ends = datetime.combine(day + timedelta(days=0 if end > start else 1), end, zone)
        spans.append((begins, ends))
    return spans


def on_duty(
    shifts: Sequence[ShiftRow], overrides: Sequence[Override], at: datetime, zone: ZoneInfo
) -> set[int]:
    """Member ids on duty at `at`: by shift, then overrides in the order made (a later one
    wins)."""
    duty = {
        member_id
        for shift in shifts
        if any(b <= at < e for b, e in occurrences(shift, at, zone))
        for member_id in shift.member_ids
    }
    for override in overrides:
        if override.starts_at <= at < override.ends_at:
            if override.on_duty:
                duty.add(override.member_id)
            else:
                duty.discard(override.member_id)
    return duty


def duty_ends(
    member_id: int,
    shifts: Sequence[ShiftRow],
    overrides: Sequence[Override],
    at: datetime,
    zone: ZoneInfo,
) -> datetime | None:
    """When the member's current duty ends (the latest end among what puts them on duty)."""
    ends = [
        e
        for shift in shifts
        if member_id in shift.member_ids
        for b, e in occurrences(shift, at, zone)
        if b <= at < e
    ]
    ends += [
        o.ends_at
        for o in overrides
        if o.member_id == member_id and o.on_duty and o.starts_at <= at < o.ends_at
    ]
    return max(ends) if ends else None


@dataclass(frozen=True)
class Next:
    at: datetime
    member_ids: frozenset[int]


def next_shift(shifts: Sequence[ShiftRow], at: datetime, zone: ZoneInfo) -> Next | None:
    """The next shift to start after `at` (within a week)."""
    starts = [(b, shift) for shift in shifts for b, _e in occurrences(shift, at, zone) if b > at]
    if not starts:
        return None
    first = min(b for b, _shift in starts)
    ids = frozenset(m for b, shift in starts if b == first for m in shift.member_ids)
    return Next(first, ids)


async def duty_now(session: AsyncSession, services: Services, at: datetime) -> set[int]:
    shifts = await roster.shifts(session)
    overrides = await roster.overrides(session, at)
    return on_duty(shifts, overrides, at, services.bot.zone)


async def coordinators(session: AsyncSession) -> Sequence[Member]:
    return await members.with_roles(session, [Role.COORDINATOR, Role.ADMIN])


def names(people: Sequence[Member]) -> str:
    return ", ".join(f"{m.name} ({m.agency})" if m.agency else m.name for m in people) or "-"


def when(turn: Turn, moment: datetime) -> str:
    return format_datetime(
        moment.astimezone(turn.services.bot.zone), "EEE d MMM HH:mm", locale=turn.conv.language
    )


def parse_day(text: str) -> int:
    day = text.strip().lower()[:3]
    names_id = ["sen", "sel", "rab", "kam", "jum", "sab", "min"]
    if day in WEEKDAYS:
        return WEEKDAYS.index(day)
    if day in names_id:
        return names_id.index(day)
    raise ValueError(f"a day such as mon or sen, not {text!r}")


def parse_clock(text: str) -> str:
    try:
        parsed = clock_time(text.strip())
    except ValueError:
        raise ValueError(f"a time such as 08:00, not {text!r}") from None
    return f"{parsed.hour:02d}:{parsed.minute:02d}"


def parse_local(text: str, zone: ZoneInfo) -> datetime:
    """A local date and time as people type it or a datetime-local input sends it
    (2026-12-01 08:00, 2026-12-01T08:00), in the task force's zone."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise ValueError(f"a time such as 2026-12-01 08:00, not {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
