"""Task-force members, where they are reached, and one-time invitation codes."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    ROLE_ORDER,
    Channel,
    Conversation,
    Invite,
    Member,
    MemberAddress,
    Role,
)

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def at_least(role: Role, needed: Role) -> bool:
    return ROLE_ORDER.index(role) >= ROLE_ORDER.index(needed)


async def add(
    session: AsyncSession, name: str, role: Role, *, agency: str = "", at: datetime
) -> Member:
    member = Member(name=name.strip(), role=role, agency=agency.strip(), created_at=at)
    session.add(member)
    await session.flush()
    return member


async def link(session: AsyncSession, member: Member, channel: Channel, address: str) -> None:
    """Reaches the member at this address from now on (moving it from anyone who had it)."""
    assert member.id is not None
    query = select(MemberAddress).where(
        col(MemberAddress.channel) == channel, col(MemberAddress.address) == address
    )
    existing = (await session.exec(query)).first()
    if existing is None:
        session.add(MemberAddress(member_id=member.id, channel=channel, address=address))
    else:
        existing.member_id = member.id
        session.add(existing)
    await session.flush()


async def by_address(session: AsyncSession, channel: Channel, address: str) -> Member | None:
    """The active member reached at that address; None for residents and removed members."""
    query = (
        select(Member)
        .join(MemberAddress, col(MemberAddress.member_id) == col(Member.id))
        .where(
            col(MemberAddress.channel) == channel,
            col(MemberAddress.address) == address,
            col(Member.removed_at).is_(None),
        )
    )
    return (await session.exec(query)).first()


async def get(session: AsyncSession, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def find(session: AsyncSession, name_or_id: str) -> Member | None:
    """An active member by id or by name (case-insensitive)."""
    query = select(Member).where(col(Member.removed_at).is_(None))
    if name_or_id.isdigit():
        query = query.where(col(Member.id) == int(name_or_id))
    else:
        query = query.where(col(Member.name).ilike(name_or_id.strip()))
    return (await session.exec(query)).first()


async def named(session: AsyncSession, name_or_id: str) -> Sequence[Member]:
    """The active members with that id, or with that name (case-insensitive): several when
    they share a name."""
    query = select(Member).where(col(Member.removed_at).is_(None))
    if name_or_id.isdigit():
        query = query.where(col(Member.id) == int(name_or_id))
    else:
        query = query.where(col(Member.name).ilike(name_or_id.strip()))
    return (await session.exec(query.order_by(col(Member.id)))).all()


async def admins(session: AsyncSession) -> Sequence[Member]:
    """The active admins, locked until the transaction ends: two changes at once cannot both
    take away an admin and leave none."""
    query = select(Member).where(col(Member.removed_at).is_(None), col(Member.role) == Role.ADMIN)
    return (await session.exec(query.order_by(col(Member.id)).with_for_update())).all()


async def active(session: AsyncSession) -> Sequence[Member]:
    query = select(Member).where(col(Member.removed_at).is_(None)).order_by(col(Member.name))
    return (await session.exec(query)).all()


async def with_roles(session: AsyncSession, roles: Sequence[Role]) -> Sequence[Member]:
    query = select(Member).where(col(Member.removed_at).is_(None), col(Member.role).in_(roles))
    return (await session.exec(query.order_by(col(Member.name)))).all()


async def addresses(session: AsyncSession, member_ids: Sequence[int]) -> Sequence[MemberAddress]:
    query = (
        select(MemberAddress)
        .where(col(MemberAddress.member_id).in_(member_ids))
        .order_by(col(MemberAddress.member_id), col(MemberAddress.id))
    )
    return (await session.exec(query)).all()


async def reached_at(
    session: AsyncSession, member_ids: Sequence[int]
) -> list[tuple[int, Channel, str, str | None]]:
    """Where each of these members is reached (member id, channel, address, in `addresses`'
    order) and the language of their conversation there (None where they have none yet):
    one query for everyone an alert goes to."""
    if not member_ids:
        return []
    query = (
        select(
            MemberAddress.member_id,
            MemberAddress.channel,
            MemberAddress.address,
            Conversation.language,
        )
        .outerjoin(
            Conversation,
            and_(
                col(Conversation.channel) == col(MemberAddress.channel),
                col(Conversation.sender) == col(MemberAddress.address),
            ),
        )
        .where(col(MemberAddress.member_id).in_(member_ids))
        .order_by(col(MemberAddress.member_id), col(MemberAddress.id))
    )
    return [
        (member_id, Channel(channel), address, language)
        for member_id, channel, address, language in (await session.exec(query)).all()
    ]


async def remove(session: AsyncSession, member: Member, at: datetime) -> None:
    member.removed_at = at
    session.add(member)
    await session.flush()


async def set_role(session: AsyncSession, member: Member, role: Role) -> None:
    member.role = role
    session.add(member)
    await session.flush()


async def invite(
    session: AsyncSession,
    name: str,
    role: Role,
    *,
    agency: str = "",
    at: datetime,
    valid_for: timedelta,
) -> Invite:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    row = Invite(
        code=code,
        name=name.strip(),
        role=role,
        agency=agency.strip(),
        created_at=at,
        expires_at=at + valid_for,
    )
    session.add(row)
    await session.flush()
    return row


async def invitation(session: AsyncSession, code: str) -> Invite | None:
    """The invitation with that code, locked (two chats cannot use one code)."""
    normalised = code.strip().upper().replace("-", "").replace(" ", "")
    query = select(Invite).where(col(Invite.code) == normalised).with_for_update()
    return (await session.exec(query)).first()


async def use(session: AsyncSession, invite: Invite, member: Member, at: datetime) -> bool:
    """Marks the code used by this member; False if someone used it first."""
    result = await session.exec(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=at, member_id=member.id)
        .returning(col(Invite.id))
    )
    return result.first() is not None
