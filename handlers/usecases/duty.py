"""Who is on duty: the roster view (now or at a time: who, who is next, the week's shifts and
overrides), taking duty and leaving it, and replacing the weekly shifts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.conversation.turn import Work
from handlers.i18n import N_
from handlers.taskforce.roster import (
    Next,
    coordinators,
    duty_ends,
    next_shift,
    on_duty,
    parse_clock,
    parse_day,
)
from handlers.usecases import Refused, membership
from storage import members, roster
from storage.models import Member, Override
from storage.roster import ShiftRow

MAX_HOURS = 72
DEFAULT_HOURS = 8
MAX_OVERRIDE_DAYS = 31


@dataclass(frozen=True)
class RosterView:
    """Who is on duty at `at`, and what decides it. `coordinators` get the alerts when nobody
    is on duty; `upcoming` is the next shift to start (within a week)."""

    at: datetime
    members: dict[int, Member]
    on_duty: list[Member]
    coordinators: Sequence[Member]
    upcoming: Next | None
    shifts: list[ShiftRow]
    overrides: Sequence[Override]

    def people(self, ids: Iterable[int]) -> list[Member]:
        """The active members among these ids, in the order of their ids."""
        return [self.members[i] for i in sorted(ids) if i in self.members]


async def view(work: Work, at: datetime | None = None) -> RosterView:
    """Who is on duty at `at` (now by default), and the week's shifts."""
    session, zone, at = work.session, work.services.bot.zone, at or work.now
    shifts = await roster.shifts(session)
    overrides = await roster.overrides(session, at)
    everyone = {m.id: m for m in await members.active(session) if m.id is not None}
    ids = on_duty(shifts, overrides, at, zone)
    return RosterView(
        at=at,
        members=everyone,
        on_duty=[everyone[i] for i in sorted(ids) if i in everyone],
        coordinators=await coordinators(session),
        upcoming=next_shift(shifts, at, zone),
        shifts=shifts,
        overrides=overrides,
    )


async def take(work: Work, member: Member, hours: int) -> datetime:
    """Puts the member on duty from now for `hours` (1 to MAX_HOURS); returns until when."""
    assert member.id is not None
    if not 1 <= hours <= MAX_HOURS:
        raise Refused(
            N_("Give the number of hours, from 1 to {maximum}, e.g. /siaga 8."), maximum=MAX_HOURS
        )
    until = work.now + timedelta(hours=hours)
    await roster.add_override(work.session, member.id, work.now, until, on_duty=True)
    return until


async def leave(work: Work, member: Member) -> None:
    """Takes the member off duty until their current duty would have ended."""
    assert member.id is not None
    session, now, zone = work.session, work.now, work.services.bot.zone
    shifts = await roster.shifts(session)
    overrides = await roster.overrides(session, now)
    if member.id not in on_duty(shifts, overrides, now, zone):
        raise Refused(N_("You are not on duty now."))
    until = duty_ends(member.id, shifts, overrides, now, zone)
    assert until is not None
    await roster.add_override(session, member.id, now, until, on_duty=False)


async def override(
    work: Work, who: str, on_duty: bool, starts: datetime, ends: datetime
) -> Override:
    """Puts a member (by name or id) on or off duty from `starts` to `ends`, whatever the
    shifts say: someone covering a colleague's leave, or off sick. A later override wins over
    an earlier one. The period ends after it starts, not in the past, within
    MAX_OVERRIDE_DAYS."""
    member = await membership.find(work.session, who)
    assert member.id is not None
    starts = max(starts, work.now)
    if ends <= starts:
        raise Refused(N_("The end must be after the start, and not in the past."))
    if ends - starts > timedelta(days=MAX_OVERRIDE_DAYS):
        raise Refused(
            N_("An override lasts at most {days} days: change the weekly shifts instead."),
            days=MAX_OVERRIDE_DAYS,
        )
    return await roster.add_override(work.session, member.id, starts, ends, on_duty=on_duty)


async def end_override(work: Work, override_id: int) -> None:
    """Ends an override now: the shifts decide again."""
    if not await roster.end_override(work.session, override_id, work.now):
        raise Refused(N_("That override has already ended."))


async def replace_week(
    session: AsyncSession, entries: Sequence[Mapping[str, Any]]
) -> list[ShiftRow]:
    """The weekly shifts become these: each has a day (mon or sen...), a start and an end in
    local time (an end before the start ends the next day) and members (names or ids). When
    one is wrong nothing changes, and the refusal starts with `shift N: `."""
    rows = []
    for number, entry in enumerate(entries, 1):
        try:
            weekday = parse_day(str(entry["day"]))
            start = parse_clock(str(entry["start"]))
            end = parse_clock(str(entry["end"]))
        except (KeyError, ValueError) as error:
            raise Refused(f"shift {number}: {error}") from None
        ids = []
        for name in entry.get("members", []):
            try:
                member = await membership.find(session, str(name))
            except Refused as error:
                raise Refused(f"shift {number}: {error}") from None
            assert member.id is not None
            ids.append(member.id)
        rows.append(ShiftRow(weekday, start, end, tuple(ids)))
    await roster.replace_shifts(session, rows)
    return rows
