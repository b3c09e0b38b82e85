"""The outbox: every outbound message is a row with its delivery state, updated as the
provider reports back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Channel, MessageKind, Outbox, OutboxState

# How far a delivery has come: a late "sent" never overwrites "delivered" or "read".
PROGRESS = {
    OutboxState.PENDING: 0,
    OutboxState.SENT: 1,
    OutboxState.DELIVERED: 2,
    OutboxState.READ: 3,
    OutboxState.FAILED: 4,
    OutboxState.UNDELIVERED: 4,
}


async def record(
    session: AsyncSession,
    channel: Channel,
    address: str,
    kind: MessageKind,
    text: str,
    *,
    at: datetime,
    state: OutboxState,
    provider_id: str | None = None,
    template: str | None = None,
    variables: dict[str, Any] | None = None,
    error_code: str | None = None,
    error: str | None = None,
) -> Outbox:
    row = Outbox(
        created_at=at,
        updated_at=at,
        channel=channel,
        address=address,
        kind=kind,
        text=text,
        template=template,
        variables=variables or {},
        state=state,
        attempts=1,
        provider_id=provider_id,
        error_code=error_code,
        error=error,
    )
    session.add(row)
    await session.flush()
    return row


async def provider_status(
    session: AsyncSession,
    channel: Channel,
    provider_id: str,
    state: OutboxState,
    *,
    at: datetime,
    error_code: str | None = None,
) -> bool:
    """Records what the provider says of a message it sent; False for an unknown id."""
    query = select(Outbox).where(
        col(Outbox.channel) == channel, col(Outbox.provider_id) == provider_id
    )
    row = (await session.exec(query.with_for_update())).first()
    if row is None:
        return False
    if PROGRESS[state] >= PROGRESS[row.state]:
        row.state = state
        row.error_code = error_code or row.error_code
        row.updated_at = at
        session.add(row)
    return True


async def failed(session: AsyncSession) -> list[Outbox]:
    query = select(Outbox).where(
        col(Outbox.state).in_([OutboxState.FAILED, OutboxState.UNDELIVERED])
    )
    return list((await session.exec(query.order_by(col(Outbox.id)))).all())
