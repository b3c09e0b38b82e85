"""The outbox: every outbound message is a row with its delivery state, updated as the
provider reports back."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BindParameter,
    ColumnElement,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import workers
from storage.db import claim as claim_rows
from storage.db import insert_many, insert_many_returning
from storage.models import (
    Broadcast,
    BroadcastState,
    Channel,
    MessageKind,
    Outbox,
    OutboxState,
    Report,
    Subscription,
)

# How far a delivery has come: a late "sent" never overwrites "delivered" or "read".
PROGRESS = {
    OutboxState.PENDING: 0,
    OutboxState.SENDING: 0,
    OutboxState.CANCELLED: 0,
    OutboxState.SENT: 1,
    OutboxState.DELIVERED: 2,
    OutboxState.READ: 3,
    OutboxState.FAILED: 4,
    OutboxState.UNDELIVERED: 4,
}


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


# Priorities (lower goes first). Answers to someone waiting in a chat go with the alerts.
REPLY_PRIORITY = 0
BULK = 9  # broadcasts and from here on: only a few are taken at a time (see claim)


def message(
    channel: Channel,
    address: str,
    kind: MessageKind,
    text: str,
    *,
    at: datetime,
    priority: int = 5,
    buttons: list[dict[str, str]] | None = None,
    hint: str = "",
    variables: dict[str, Any] | None = None,
    report_id: int | None = None,
    member_id: int | None = None,
    edit_of: int | None = None,
) -> dict[str, Any]:
    """A message to send, as a row first: it is sent by the delivery job after the
    transaction commits, and survives a crash before that. What it says is the same on every
    channel, each renders it its own way: `buttons` ({"value", "label"}) where the channel
    shows buttons, `hint` (how to do the same by typing) where it does not, the template of
    `kind` with `variables` where the channel needs a template. Its values, stored by
    `enqueue` or, many at once, by `enqueue_many`."""
    return dict(
        created_at=at,
        updated_at=at,
        channel=channel,
        address=address,
        kind=kind,
        text=text,
        buttons=[*(buttons or []), *([{"hint": hint}] if hint else [])],
        variables=variables or {},
        priority=priority,
        due_at=at,
        report_id=report_id,
        member_id=member_id,
        edit_of=edit_of,
    )


async def enqueue(
    session: AsyncSession,
    channel: Channel,
    address: str,
    kind: MessageKind,
    text: str,
    *,
    at: datetime,
    priority: int = 5,
    buttons: list[dict[str, str]] | None = None,
    hint: str = "",
    variables: dict[str, Any] | None = None,
    report_id: int | None = None,
    member_id: int | None = None,
    edit_of: int | None = None,
) -> Outbox:
    """One `message`, queued in this transaction (see `message`)."""
    row = Outbox(
        **message(
            channel,
            address,
            kind,
            text,
            at=at,
            priority=priority,
            buttons=buttons,
            hint=hint,
            variables=variables,
            report_id=report_id,
            member_id=member_id,
            edit_of=edit_of,
        )
    )
    session.add(row)  # flushed with the rest of the transaction (the id comes then)
    session.info["outbox"] = True
    return row


async def enqueue_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Messages (made by `message`) queued in this transaction in one statement, their ids
    not read back: an alert to every member on duty, a batch of follow-ups."""
    if rows:
        await insert_many(session, Outbox, rows)
        session.info["outbox"] = True


@dataclass(frozen=True)
class Claimant:
    """A process that sends, right after the commit, the urgent messages it stores: its
    worker (whose claims others take again once it is no longer alive), the channels it
    sends on, and how many it sends at once (more would only wait for the channels' rate
    limits: the delivery job claims those meanwhile)."""

    worker: int
    channels: frozenset[Channel]
    at_once: int


async def enqueue_claimed(
    session: AsyncSession, rows: Sequence[dict[str, Any]], claimant: Claimant
) -> list[Outbox]:
    """Messages (made by `message`) queued in this transaction, the first `at_once` of them
    already claimed by `claimant`, which sends them as soon as the transaction commits: the
    first alerts of a report leave without waiting for a claim (a transaction of its own,
    after the commit). Should the claimant die first, another process takes them as it
    takes any dead worker's rows; if the transaction rolls back, there is nothing to send.
    The others (and those on a channel the claimant does not send on) are left pending for
    the delivery job. Returns the claimed rows, to send."""
    claimed: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for row in rows:
        if row["channel"] in claimant.channels and len(claimed) < claimant.at_once:
            claimed.append(
                {**row, "state": OutboxState.SENDING, "attempts": 1, "claimed_by": claimant.worker}
            )
        else:
            pending.append(row)
    await enqueue_many(session, pending)
    return await insert_many_returning(session, Outbox, claimed)


def enqueue_reply(
    session: AsyncSession,
    channel: Channel,
    address: str,
    replies: list[dict[str, Any]],
    *,
    at: datetime,
    pressed_message: str | None = None,
    claimed_by: int | None = None,
) -> Outbox:
    """The answer to a message, written in the same transaction as the conversation's new
    state. Claimed at once by `claimed_by` (the process that sends it right after the commit),
    or pending for the delivery job; either way sent also after a crash right after the
    commit (a dead process's claims are taken again)."""
    row = Outbox(
        created_at=at,
        updated_at=at,
        channel=channel,
        address=address,
        kind=MessageKind.REPLY,
        text="",
        replies=replies,
        pressed_message=pressed_message,
        priority=REPLY_PRIORITY,
        due_at=at,
    )
    if claimed_by is not None:
        row.state, row.attempts, row.claimed_by = OutboxState.SENDING, 1, claimed_by
    else:
        session.info["outbox"] = True
    session.add(row)
    return row


def actions(row: Outbox) -> list[dict[str, str]]:
    """The buttons offered with the row's text (for a channel that shows buttons)."""
    return [button for button in row.buttons if "value" in button]


def hint(row: Outbox) -> str:
    """How to do what the row's buttons do by typing (for a channel without buttons)."""
    return next((button["hint"] for button in row.buttons if "hint" in button), "")


def queued(session: AsyncSession) -> bool:
    """Whether this session put a message in the outbox (to wake the delivery job)."""
    return bool(session.info.get("outbox"))


# Messages that stop mattering once their report is acknowledged.
ESCALATION = [MessageKind.ALERT, MessageKind.FOLLOWUP]


async def claim(
    session: AsyncSession,
    now: datetime,
    limit: int,
    channels: Sequence[Channel],
    worker: int,
    *,
    bulk: bool = False,
) -> Sequence[Outbox]:
    """Rows due for sending on these channels, most urgent first, marked `sending` by this
    worker in this transaction (skipped by other processes): the bulk ones (broadcasts) or
    the others. A row another worker claimed is taken again once that worker is no longer
    alive (at least once beats never). An alert or follow-up of a report acknowledged
    meanwhile is not taken: the acknowledgement cancels it.
    The pending rows and those of dead workers are found by a query each, both walking the
    index on (state, priority, id) in the order they go out: the cost stays that of the rows
    taken, however many wait or were sent."""
    pending, abandoned = _claimable(bulk)
    params = {
        "now": now,
        "channels": list(channels),
        "worker": worker,
        "since": workers.alive_since(now),
    }
    taken: list[Outbox] = await claim_rows(
        session,
        Outbox,
        pending,
        {
            "state": OutboxState.SENDING,
            "attempts": col(Outbox.attempts) + 1,
            "updated_at": now,
            "claimed_by": worker,
        },
        order_by=[col(Outbox.priority), col(Outbox.id)],
        limit=limit,
        also=abandoned,
        key=lambda row: (row.priority, row.id),
        params=params,
    )
    # The update has also refreshed the rows in hand (state, attempts, claimed_by): counted
    # once, as stored.
    return taken


@functools.cache
def _claimable(bulk: bool) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool]]]:
    """The conditions of `claim` (pending rows; rows of dead workers), built once: the
    delivery claims often, and building them (an alias, two subqueries) costs more than
    running them. Bound when they run: now, channels, worker, since (a live worker's
    last heartbeat)."""
    now: BindParameter[datetime] = bindparam("now")
    # The edited message and the report, each looked up by its id for the rows in hand
    # only: a scalar subquery, which PostgreSQL cannot turn into a hash of the whole table
    # (as it may do with EXISTS or IN, reading every acknowledged report at each claim).
    original = aliased(Outbox)
    edited_state = select(original.state).where(col(original.id) == col(Outbox.edit_of))
    acknowledged_at = select(Report.acknowledged_at).where(col(Report.id) == col(Outbox.report_id))
    sendable = [
        col(Outbox.priority) >= BULK if bulk else col(Outbox.priority) < BULK,
        col(Outbox.channel).in_(bindparam("channels", expanding=True)),
        or_(col(Outbox.due_at).is_(None), col(Outbox.due_at) <= now),
        # An edit waits until the message it edits has gone out.
        or_(
            col(Outbox.edit_of).is_(None),
            edited_state.scalar_subquery().not_in([OutboxState.PENDING, OutboxState.SENDING]),
        ),
        or_(
            col(Outbox.kind).not_in(ESCALATION),
            col(Outbox.edit_of).is_not(None),
            col(Outbox.report_id).is_(None),
            acknowledged_at.scalar_subquery().is_(None),
        ),
    ]
    abandoned = [
        col(Outbox.state) == OutboxState.SENDING,
        col(Outbox.claimed_by) != bindparam("worker"),
        col(Outbox.claimed_by).not_in(workers.beating_since(bindparam("since"))),
    ]
    return [col(Outbox.state) == OutboxState.PENDING, *sendable], [*abandoned, *sendable]


def _sending_elsewhere(before: bool) -> Any:
    """The statement of `sending_elsewhere`, built once (every answer runs it)."""
    query = select(Outbox.id).where(
        col(Outbox.channel) == bindparam("channel"),
        col(Outbox.address) == bindparam("address"),
        col(Outbox.state) == OutboxState.SENDING,
        col(Outbox.claimed_by) != bindparam("worker"),
        col(Outbox.claimed_by).in_(workers.beating_since(bindparam("since"))),
    )
    if before:
        query = query.where(col(Outbox.id) < bindparam("before"))
    return query.limit(1)


SENDING_ELSEWHERE = {before: _sending_elsewhere(before) for before in (False, True)}


async def sending_elsewhere(
    session: AsyncSession,
    channel: Channel,
    address: str,
    worker: int,
    now: datetime,
    *,
    before: int | None = None,
) -> bool:
    """Whether another live process is sending a message to the chat (one queued before the
    row `before`, when given). A chat's messages are handled one at a time in any process (its
    conversation is locked) and each answer is sent by the process that handled the message:
    an answer stored while the one before is being sent elsewhere waits for it, so a chat's
    answers go out in order and each sees what the one before left in the chat (which message
    shows buttons). Asked in the transaction that stores the answer, under the conversation's
    lock: an answer sent elsewhere after that was queued after this one. One process orders
    its own sends (bot/outbox.py)."""
    values: dict[str, Any] = {"channel": channel, "address": address, "worker": worker}
    values["since"] = workers.alive_since(now)
    if before is not None:
        values["before"] = before
    found = await session.exec(SENDING_ELSEWHERE[before is not None], params=values)
    return found.first() is not None


def _held(row_id: int, worker: int) -> list[ColumnElement[bool]]:
    """The row, still claimed by this worker (another may have taken it again meanwhile)."""
    return [col(Outbox.id) == row_id, col(Outbox.claimed_by) == worker]


def _sent() -> Any:
    table = Outbox.metadata.tables["outbox"]
    answer = table.c.kind == MessageKind.REPLY
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.claimed_by == bindparam("worker"))
        .values(
            state=OutboxState.SENT,
            provider_id=bindparam("provider"),
            updated_at=bindparam("at"),
            error=None,
            replies=case((answer, literal([], JSON)), else_=table.c.replies),
            text=case((answer, ""), else_=table.c.text),
        )
    )


SENT = _sent()


async def sent(
    session: AsyncSession, delivered: Sequence[tuple[int, str | None]], at: datetime, worker: int
) -> None:
    """Rows sent (id, and the provider's id of the message), in one statement. An answer's
    words are not kept once delivered."""
    if not delivered:
        return
    rows = [{"row_id": i, "provider": p, "worker": worker, "at": at} for i, p in delivered]
    connection = await session.connection()  # executemany: one statement for every row
    await connection.execute(SENT, rows)


async def release(session: AsyncSession, row_ids: Sequence[int], at: datetime, worker: int) -> None:
    """Rows this worker had in hand when it stopped: pending again, as if never tried."""
    if not row_ids:
        return
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id).in_(row_ids), col(Outbox.claimed_by) == worker)
        .values(
            state=OutboxState.PENDING,
            attempts=col(Outbox.attempts) - 1,
            claimed_by=None,
            due_at=at,
            updated_at=at,
        )
    )


async def failed_attempt(
    session: AsyncSession,
    row_id: int,
    *,
    code: str,
    error: str,
    at: datetime,
    retry_at: datetime | None,
    worker: int,
) -> None:
    """A failed try: retried at `retry_at`, or failed for good when there is none."""
    values: dict[str, Any] = {"error_code": code, "error": error[:500], "updated_at": at}
    if retry_at is None:
        values["state"] = OutboxState.FAILED
    else:
        values.update(state=OutboxState.PENDING, due_at=retry_at, claimed_by=None)
    await session.exec(update(Outbox).where(*_held(row_id, worker)).values(**values))


async def cancel_escalation(session: AsyncSession, report_id: int, at: datetime) -> None:
    """Alerts and follow-ups of the report not yet sent will not be."""
    await session.exec(
        update(Outbox)
        .where(
            col(Outbox.report_id) == report_id,
            col(Outbox.kind).in_(ESCALATION),
            col(Outbox.edit_of).is_(None),
            col(Outbox.state) == OutboxState.PENDING,
        )
        .values(state=OutboxState.CANCELLED, error="acknowledged", updated_at=at)
    )


async def escalation_sent(session: AsyncSession, report_id: int) -> Sequence[Outbox]:
    """The alerts and follow-ups of a report that went out (or are going out)."""
    query = select(Outbox).where(
        col(Outbox.report_id) == report_id,
        col(Outbox.kind).in_(ESCALATION),
        col(Outbox.edit_of).is_(None),
        col(Outbox.state).in_(
            [OutboxState.SENDING, OutboxState.SENT, OutboxState.DELIVERED, OutboxState.READ]
        ),
    )
    return (await session.exec(query.order_by(col(Outbox.id)))).all()


async def backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many rows wait to be sent (or are being sent), and since when the oldest waits."""
    query = select(func.count(), func.min(Outbox.created_at)).where(
        col(Outbox.state).in_([OutboxState.PENDING, OutboxState.SENDING])
    )
    count, oldest = (await session.exec(query)).one()
    return count, oldest


async def image_to_member(session: AsyncSession, channel: Channel, sha256: str) -> bool:
    """Whether a message to a member on the channel carries this image (a reporter's photo
    passed on by the relay)."""
    query = select(Outbox.id).where(
        col(Outbox.channel) == channel,
        col(Outbox.image_sha256) == sha256,
        col(Outbox.member_id).is_not(None),
    )
    return (await session.exec(query.limit(1))).first() is not None


async def get(session: AsyncSession, row_id: int) -> Outbox | None:
    return await session.get(Outbox, row_id)


FAILED = [OutboxState.FAILED, OutboxState.UNDELIVERED]


async def failed(session: AsyncSession) -> list[Outbox]:
    query = select(Outbox).where(col(Outbox.state).in_(FAILED))
    return list((await session.exec(query.order_by(col(Outbox.id)))).all())


async def retry(session: AsyncSession, now: datetime, row_id: int | None = None) -> list[int]:
    """Failed rows (the one with `row_id`, or all) pending again: due now, attempts counted
    from 0, the last error kept for the record until the row is sent. Left as they are: an
    alert or follow-up of a report acknowledged since (the delivery job would never take it),
    a message of a cancelled broadcast, and a broadcast to a resident no longer subscribed
    (who stopped, or blocked the bot). Returns the ids of the rows that will be sent."""
    acknowledged = select(Report.id).where(col(Report.acknowledged_at).is_not(None))
    cancelled = select(Broadcast.id).where(col(Broadcast.state) == BroadcastState.CANCELLED)
    subscribed = exists().where(
        col(Subscription.channel) == col(Outbox.channel),
        col(Subscription.address) == col(Outbox.address),
        col(Subscription.ended_at).is_(None),
    )
    conditions = [
        col(Outbox.state).in_(FAILED),
        or_(
            col(Outbox.kind).not_in(ESCALATION),
            col(Outbox.edit_of).is_not(None),
            col(Outbox.report_id).is_(None),
            col(Outbox.report_id).not_in(acknowledged),
        ),
        or_(col(Outbox.broadcast_id).is_(None), col(Outbox.broadcast_id).not_in(cancelled)),
        or_(col(Outbox.kind) != MessageKind.BROADCAST, subscribed),
    ]
    if row_id is not None:
        conditions.append(col(Outbox.id) == row_id)
    retried = await session.exec(
        update(Outbox)
        .where(*conditions)
        # The provider's id of the failed try goes: a late status report about that try
        # must not mark the new one.
        .values(state=OutboxState.PENDING, due_at=now, attempts=0, provider_id=None, updated_at=now)
        .returning(col(Outbox.id))
    )
    return sorted(retried.scalars().all())
