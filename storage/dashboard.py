"""The dashboard's login links and sessions. Tokens are kept only as their
SHA-256: a copy of the database opens no session."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import DashboardLink, DashboardSession


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def new_link(session: AsyncSession, member_id: int, at: datetime, minutes: float) -> str:
    """A one-time login token for the member (the link's last part)."""
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardLink(
            token_hash=digest(token),
            member_id=member_id,
            created_at=at,
            expires_at=at + timedelta(minutes=minutes),
        )
    )
    await session.flush()
    return token


async def use_link(session: AsyncSession, token: str, at: datetime) -> int | None:
    """The member the token logs in, once: None when it is unknown, used or expired."""
    link = (
        await session.exec(select(DashboardLink).where(DashboardLink.token_hash == digest(token)))
    ).first()
    if link is None or link.used_at is not None or link.expires_at <= at:
        return None
    # Used once even when two requests race: only one UPDATE finds it unused.
    done = await session.exec(
        update(DashboardLink)
        .where(col(DashboardLink.id) == link.id, col(DashboardLink.used_at).is_(None))
        .values(used_at=at)
        .returning(col(DashboardLink.id))
    )
    return link.member_id if done.all() else None


async def open_session(
    session: AsyncSession, member_id: int, at: datetime
) -> tuple[str, DashboardSession]:
    """A new session: its token (the cookie) and its row (with its CSRF token)."""
    token = secrets.token_urlsafe(32)
    row = DashboardSession(
        token_hash=digest(token),
        member_id=member_id,
        csrf=secrets.token_urlsafe(32),
        created_at=at,
        seen_at=at,
    )
    session.add(row)
    await session.flush()
    return token, row


async def current(
    session: AsyncSession, token: str, at: datetime, idle: timedelta
) -> DashboardSession | None:
    """The live session of that cookie (its idle clock restarted), or None."""
    row = (
        await session.exec(
            select(DashboardSession).where(DashboardSession.token_hash == digest(token))
        )
    ).first()
    if row is None or row.ended_at is not None:
        return None
    if row.seen_at + idle <= at:
        row.ended_at = at
        session.add(row)
        return None
    row.seen_at = at
    session.add(row)
    return row


async def end(session: AsyncSession, row: DashboardSession, at: datetime) -> None:
    row.ended_at = at
    session.add(row)
