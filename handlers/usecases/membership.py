"""Who is in the task force: inviting, the member list, adding a member reached at a known
address, finding one by name or id, removing one and changing a role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.conversation.text import phone
from handlers.conversation.turn import Work
from handlers.i18n import N_
from handlers.taskforce import alerts
from handlers.taskforce.roster import duty_now
from handlers.usecases import NOT_ALLOWED, Actor, Refused, may
from storage import members
from storage.models import Channel, Member, MemberAddress, Role


@dataclass(frozen=True)
class Invitation:
    """A one-time code made for a new member, valid for `hours`."""

    name: str
    role: Role
    code: str
    hours: float


async def invite(
    work: Work,
    name: str,
    role: Role,
    *,
    agency: str = "",
    by: Actor,
) -> Invitation:
    """A code the new member sends to the bot (/gabung CODE). Coordinators invite members;
    only an admin invites coordinators and admins."""
    if not may(by, Role.COORDINATOR):
        raise Refused(NOT_ALLOWED)
    if role is not Role.MEMBER and not may(by, Role.ADMIN):
        raise Refused(N_("Only an admin can invite coordinators and admins."))
    hours = work.services.alerts.invite_hours
    made = await members.invite(
        work.session, name, role, agency=agency, at=work.now, valid_for=timedelta(hours=hours)
    )
    return Invitation(made.name, made.role, made.code, hours)


@dataclass(frozen=True)
class Listed:
    """A member in the list: where they are reached (in the order linked), and whether they
    are on duty now."""

    member: Member
    addresses: list[MemberAddress]
    on_duty: bool


async def listing(work: Work) -> list[Listed]:
    """The active members by name."""
    session = work.session
    on_duty = await duty_now(session, work.services, work.now)
    everyone = await members.active(session)
    reached: dict[int, list[MemberAddress]] = {}
    for address in await members.addresses(session, [m.id for m in everyone if m.id]):
        reached.setdefault(address.member_id, []).append(address)
    return [Listed(m, reached.get(m.id or 0, []), m.id in on_duty) for m in everyone]


def reached_at(addresses: list[MemberAddress]) -> str:
    """Where a member is reached, for an operator: `telegram:9001 whatsapp:+62812...`."""
    return " ".join(f"{a.channel}:{a.address}" for a in addresses)


@dataclass(frozen=True)
class Added:
    """A member added, and how many waiting reports (that reached nobody) they were alerted to."""

    member: Member
    alerted: int


async def add(
    work: Work,
    name: str,
    role: Role,
    *,
    agency: str = "",
    telegram_id: int | None = None,
    whatsapp: str | None = None,
) -> Added:
    """A member reached at a known Telegram id and/or WhatsApp number (the first admin, say).
    An address that belongs to another active member is refused and nothing changes."""
    session = work.session
    number = None
    if whatsapp is not None:
        number = phone(whatsapp)
        if number is None:
            raise Refused("{whatsapp!r} is not a phone number", whatsapp=whatsapp)
    wanted = []
    if telegram_id is not None:
        wanted.append((Channel.TELEGRAM, str(telegram_id), f"Telegram id {telegram_id}"))
    if number is not None:
        wanted.append((Channel.WHATSAPP, number, f"WhatsApp number {number}"))
    for channel, address, label in wanted:
        holder = await members.by_address(session, channel, address)
        if holder is not None:
            raise Refused(
                "{label} already belongs to {name} (id {id}); nothing was changed",
                label=label,
                name=holder.name,
                id=holder.id,
            )
    member = await members.add(session, name, role, agency=agency, at=work.now)
    for channel, address, _label in wanted:
        await members.link(session, member, channel, address)
    return Added(member, await alerts.catch_up(work, member))


async def find(session: AsyncSession, name_or_id: str) -> Member:
    """The one active member of that id or name; refused when there is none, or when several
    share the name (they are listed with their ids, to choose from)."""
    found = await members.named(session, name_or_id)
    if not found:
        raise Refused("no member {name!r}", name=name_or_id)
    if len(found) > 1:
        reach: dict[int, list[MemberAddress]] = {}
        for a in await members.addresses(session, [m.id for m in found if m.id]):
            reach.setdefault(a.member_id, []).append(a)
        lines = [
            f"  id {m.id}: {m.name} ({', '.join(filter(None, [m.role, m.agency]))}) "
            + (reached_at(reach.get(m.id or 0, [])) or "not reached yet")
            for m in found
        ]
        raise Refused(
            "\n".join([f"{len(found)} members are called {name_or_id!r}; give the id:", *lines])
        )
    return found[0]


async def _keep_an_admin(session: AsyncSession, member: Member, change: str) -> None:
    """Refuses a change that would leave no admin: in the bot, only an admin invites
    coordinators and admins."""
    if member.role != Role.ADMIN:
        return
    if [a.id for a in await members.admins(session)] == [member.id]:
        raise Refused(
            "cannot {change}: they are the last admin; make another member admin first "
            "(`sigap members set-role MEMBER admin`)",
            change=change,
        )


async def remove(work: Work, name_or_id: str) -> Member:
    """Removes the member (their old buttons no longer work), unless they are the last admin."""
    member = await find(work.session, name_or_id)
    await _keep_an_admin(work.session, member, f"remove {member.name}")
    await members.remove(work.session, member, work.now)
    return member


async def set_role(session: AsyncSession, name_or_id: str, role: Role) -> Member:
    """Changes the member's role, unless that leaves no admin."""
    member = await find(session, name_or_id)
    if role != Role.ADMIN:
        await _keep_an_admin(session, member, f"make {member.name} {role}")
    await members.set_role(session, member, role)
    return member
