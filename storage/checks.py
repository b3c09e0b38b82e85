"""Residents' checks of offers (`cek`): each stored with the hashed chat it came from and the
identifiers it looked up; what the rate limit counts, what the task force reads (how often an
identifier was checked), and the coordinators' weekly alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Channel, CheckAlert, Identifier, OfferCheck, OfferCheckIdentifier


async def add(
    session: AsyncSession,
    channel: Channel,
    chat: str,
    identifier_ids: Sequence[int],
    risk: str,
    at: datetime,
) -> OfferCheck:
    check = OfferCheck(
        checked_at=at, channel=channel, chat=chat, identifiers=len(identifier_ids), risk=risk
    )
    session.add(check)
    await session.flush()
    assert check.id is not None
    for identifier_id in dict.fromkeys(identifier_ids):
        session.add(
            OfferCheckIdentifier(
                check_id=check.id, identifier_id=identifier_id, checked_at=at, chat=chat
            )
        )
    await session.flush()
    return check


async def of_chat_since(session: AsyncSession, chat: str, since: datetime) -> int:
    """How many checks the chat made since then (the rate limit)."""
    query = select(func.count()).where(
        col(OfferCheck.chat) == chat, col(OfferCheck.checked_at) >= since
    )
    return int((await session.exec(query)).one())


async def counts_since(
    session: AsyncSession, identifier_id: int, since: datetime
) -> tuple[int, int]:
    """How many checks, and from how many different chats, looked the identifier up since
    then."""
    query = select(func.count(), func.count(func.distinct(col(OfferCheckIdentifier.chat)))).where(
        col(OfferCheckIdentifier.identifier_id) == identifier_id,
        col(OfferCheckIdentifier.checked_at) >= since,
    )
    checks, chats = (await session.exec(query)).one()
    return int(checks), int(chats)


async def most_checked(
    session: AsyncSession, since: datetime, limit: int = 50
) -> list[tuple[Identifier, int, int]]:
    """The identifiers checked most since then: (identifier, checks, different chats), the
    most checked first."""
    checks = func.count().label("checks")
    chats = func.count(func.distinct(col(OfferCheckIdentifier.chat))).label("chats")
    query = (
        select(Identifier, checks, chats)
        .join(OfferCheckIdentifier, col(OfferCheckIdentifier.identifier_id) == col(Identifier.id))
        .where(col(OfferCheckIdentifier.checked_at) >= since)
        .group_by(col(Identifier.id))
        .order_by(checks.desc(), chats.desc(), col(Identifier.id))
        .limit(limit)
    )
    return [(i, int(n), int(c)) for i, n, c in (await session.exec(query)).all()]


async def lock_identifier(session: AsyncSession, identifier_id: int) -> None:
    """Holds the identifier's row until the transaction ends: two processes deciding at
    once whether to alert about it take turns (SQLite writes one at a time anyway)."""
    query = select(col(Identifier.id)).where(col(Identifier.id) == identifier_id)
    await session.exec(query.with_for_update())


async def alerted_since(session: AsyncSession, identifier_id: int, since: datetime) -> bool:
    query = select(col(CheckAlert.id)).where(
        col(CheckAlert.identifier_id) == identifier_id, col(CheckAlert.alerted_at) >= since
    )
    return (await session.exec(query.limit(1))).first() is not None


async def add_alert(
    session: AsyncSession, identifier_id: int, chats: int, at: datetime
) -> CheckAlert:
    alert = CheckAlert(identifier_id=identifier_id, alerted_at=at, chats=chats)
    session.add(alert)
    await session.flush()
    return alert
