"""What `[retention]` and erasure remove, as queries: the record of each day's run (counts
only), chat bookkeeping left idle, the reporter's identity on a report (replaced by a
tombstone), evidence files of cases closed long ago. Each removal is a batch that can be done
again without harm: rows are taken with FOR UPDATE SKIP LOCKED and a condition that no longer
holds once they are done."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, or_, update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import workers
from storage.db import insert
from storage.models import (
    Broadcast,
    Channel,
    ChatMessage,
    Conversation,
    Erasure,
    Media,
    MemberAddress,
    MessageKind,
    Outbox,
    OutboxState,
    Referral,
    Report,
    ReportState,
    RetentionRun,
    Subscription,
)
from storage.referrals import OPEN as REFERRAL_OPEN

TOMBSTONE = "erased:"
# The states of a message that is done with: sent, or never to be.
DONE = [
    OutboxState.SENT,
    OutboxState.DELIVERED,
    OutboxState.READ,
    OutboxState.CANCELLED,
    OutboxState.FAILED,
    OutboxState.UNDELIVERED,
]
# Not yet sent, and never to be once its addressee is forgotten.
UNSENT = [OutboxState.PENDING, OutboxState.FAILED, OutboxState.UNDELIVERED]


def tombstone() -> str:
    """What an erased reporter's `sender` becomes: no chat has such an address (Telegram's are
    numbers, WhatsApp's +digits, the terminal's a login name, which holds no colon), and it is
    random, so two erased reports cannot be told to come from one reporter."""
    return TOMBSTONE + secrets.token_hex(8)


# The day's run.


async def claim_day(
    session: AsyncSession, day: date, worker: int, now: datetime
) -> RetentionRun | None:
    """The day's run, for this worker: begun now, or taken over from a process that died
    before finishing it (or from this one, whose run failed). None when it is done, or a live
    process is doing it."""
    begun = await session.exec(
        insert(session, RetentionRun)
        .values(
            day=day,
            started_at=now,
            touched_at=now,
            claimed_by=worker,
            drafts=0,
            chats=0,
            identities=0,
            evidence_files=0,
        )
        .on_conflict_do_nothing(index_elements=["day"])
        .returning(col(RetentionRun.id))
    )
    if begun.first() is None:
        taken = await session.exec(
            update(RetentionRun)
            .where(
                col(RetentionRun.day) == day,
                col(RetentionRun.finished_at).is_(None),
                or_(
                    col(RetentionRun.claimed_by).is_(None),
                    col(RetentionRun.claimed_by) == worker,
                    col(RetentionRun.claimed_by).not_in(workers.live_ids(now)),
                ),
            )
            .values(claimed_by=worker, touched_at=now)
            .returning(col(RetentionRun.id))
        )
        if taken.first() is None:
            return None
    query = select(RetentionRun).where(col(RetentionRun.day) == day)
    return (await session.exec(query.execution_options(populate_existing=True))).one()


async def count(
    session: AsyncSession,
    run_id: int,
    at: datetime,
    *,
    drafts: int = 0,
    chats: int = 0,
    identities: int = 0,
    evidence_files: int = 0,
) -> None:
    """Adds a batch's counts to the run, in the batch's own transaction: what is counted is
    exactly what was removed, however the run ends."""
    await session.exec(
        update(RetentionRun)
        .where(col(RetentionRun.id) == run_id)
        .values(
            drafts=col(RetentionRun.drafts) + drafts,
            chats=col(RetentionRun.chats) + chats,
            identities=col(RetentionRun.identities) + identities,
            evidence_files=col(RetentionRun.evidence_files) + evidence_files,
            touched_at=at,
        )
    )


async def finish(session: AsyncSession, run_id: int, at: datetime) -> RetentionRun:
    await session.exec(
        update(RetentionRun).where(col(RetentionRun.id) == run_id).values(finished_at=at)
    )
    query = select(RetentionRun).where(col(RetentionRun.id) == run_id)
    return (await session.exec(query.execution_options(populate_existing=True))).one()


async def runs(session: AsyncSession, *, limit: int = 30) -> Sequence[RetentionRun]:
    """The latest runs, newest first."""
    query = select(RetentionRun).order_by(col(RetentionRun.day).desc()).limit(limit)
    return (await session.exec(query)).all()


# Chat bookkeeping.


async def forget_messages_before(session: AsyncSession, before: datetime, limit: int) -> int:
    """Deletes up to `limit` message ids recorded before `before` (any chat); how many."""
    ids = select(ChatMessage.id).where(col(ChatMessage.at) < before).limit(limit)
    found = [i for i in (await session.exec(ids)).all() if i is not None]
    if found:
        await session.exec(delete(ChatMessage).where(col(ChatMessage.id).in_(found)))
    return len(found)


async def forget_answers_before(session: AsyncSession, before: datetime, limit: int) -> int:
    """Deletes up to `limit` answers to chats (outbox rows of kind reply, done with) made
    before `before`: only their address and time were left; how many."""
    ids = (
        select(Outbox.id)
        .where(
            col(Outbox.kind) == MessageKind.REPLY,
            col(Outbox.created_at) < before,
            col(Outbox.state).in_(DONE),
        )
        .limit(limit)
    )
    found = [i for i in (await session.exec(ids)).all() if i is not None]
    if found:
        await session.exec(delete(Outbox).where(col(Outbox.id).in_(found)))
    return len(found)


def _forgettable() -> list[ColumnElement[bool]]:
    """A conversation that holds nothing needed: no flow open, no file of a draft, not a
    member's chat (its language is theirs), not a chat that asked for no messages (that is
    kept so that none is sent)."""
    member = exists().where(
        col(MemberAddress.channel) == col(Conversation.channel),
        col(MemberAddress.address) == col(Conversation.sender),
    )
    files = exists().where(col(Media.conversation_id) == col(Conversation.id))
    return [
        col(Conversation.flow).is_(None),
        col(Conversation.opted_out_at).is_(None),
        ~member,
        ~files,
    ]


async def forget_idle_chats(
    session: AsyncSession, before: datetime, limit: int, *, keep: Sequence[str] = ()
) -> int:
    """Deletes up to `limit` conversations of chats idle since `before` that hold nothing
    needed (and not those in `keep`, such as the task force's group); how many."""
    query = (
        select(Conversation.id)
        .where(
            col(Conversation.updated_at) < before,
            or_(
                col(Conversation.last_inbound_at).is_(None),
                col(Conversation.last_inbound_at) < before,
            ),
            *_forgettable(),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if keep:
        query = query.where(col(Conversation.sender).not_in(list(keep)))
    found = [i for i in (await session.exec(query)).all() if i is not None]
    if found:
        await session.exec(delete(Conversation).where(col(Conversation.id).in_(found)))
    return len(found)


async def forget_chat(session: AsyncSession, channel: Channel, chat: str) -> bool:
    """A chat none of whose reports names it any more: its message ids, and its conversation
    unless that holds something needed (see _forgettable). True if the conversation went."""
    await session.exec(
        delete(ChatMessage).where(
            col(ChatMessage.channel) == channel, col(ChatMessage.chat) == chat
        )
    )
    gone = await session.exec(
        delete(Conversation)
        .where(
            col(Conversation.channel) == channel,
            col(Conversation.sender) == chat,
            *_forgettable(),
        )
        .returning(col(Conversation.id))
    )
    return bool(gone.all())


async def forget_address(session: AsyncSession, channel: Channel, chat: str, at: datetime) -> None:
    """Every trace of a chat's address outside its reports and its conversation: its
    subscriptions (ended), the messages to it (their address a tombstone; those not yet sent
    never will be, nor those that failed be tried again). An answer on its way stays: it
    answers the chat now."""
    await session.exec(
        update(Subscription)
        .where(
            col(Subscription.channel) == channel,
            col(Subscription.address) == chat,
            col(Subscription.ended_at).is_(None),
        )
        .values(ended_at=at, end_reason="forgotten")
    )
    await session.exec(
        update(Subscription)
        .where(col(Subscription.channel) == channel, col(Subscription.address) == chat)
        .values(address=tombstone())
    )
    to_chat = [col(Outbox.channel) == channel, col(Outbox.address) == chat]
    answering = and_(
        col(Outbox.kind) == MessageKind.REPLY, col(Outbox.state) == OutboxState.PENDING
    )
    await session.exec(
        update(Outbox)
        .where(*to_chat, col(Outbox.state).in_(UNSENT), ~answering)
        .values(state=OutboxState.CANCELLED, error="reporter forgotten", updated_at=at)
    )
    await session.exec(
        update(Outbox)
        .where(*to_chat, col(Outbox.state).in_(DONE))
        .values(address=tombstone(), updated_at=at)
    )


# Reporter identities.


async def reports_of_chat(session: AsyncSession, channel: Channel, chat: str) -> Sequence[Report]:
    """The chat's reports whose identity is not erased yet, locked, oldest first."""
    query = (
        select(Report)
        .where(
            col(Report.channel) == channel,
            col(Report.sender) == chat,
            col(Report.identity_erased_at).is_(None),
        )
        .order_by(col(Report.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(query)).all()


async def names_chat(session: AsyncSession, channel: Channel, chat: str) -> bool:
    """Whether a report still names this chat as its reporter's."""
    query = select(Report.id).where(
        col(Report.channel) == channel,
        col(Report.sender) == chat,
        col(Report.identity_erased_at).is_(None),
    )
    return (await session.exec(query.limit(1))).first() is not None


async def erase_identity(
    session: AsyncSession, report: Report, *, by: Erasure, at: datetime
) -> str:
    """Removes who the reporter is from the report: the chat address (a tombstone instead),
    the contact number, the exact place they shared (often where they were; the area stays),
    every consent (so it reads as anonymous), and the relay (stopped);
    the messages to them about it carry the tombstone too, and those not sent are cancelled.
    What the report says stays. Returns the chat address it had (the caller may forget the
    chat; it is never stored again)."""
    assert report.id is not None
    chat = report.sender
    report.sender = tombstone()
    report.contact_phone = None
    report.latitude = report.longitude = None
    report.anonymous = True
    report.consent_contact = False
    report.consent_share_with = []
    report.consent_share_with_police = False
    report.relay_stopped_at = report.relay_stopped_at or at
    report.identity_erased_at, report.identity_erased_by = at, by
    session.add(report)
    about = [
        col(Outbox.report_id) == report.id,
        col(Outbox.channel) == report.channel,
        col(Outbox.address) == chat,
    ]
    await session.exec(
        update(Outbox)
        .where(*about, col(Outbox.state).in_(UNSENT))
        .values(state=OutboxState.CANCELLED, error="reporter forgotten", updated_at=at)
    )
    await session.exec(update(Outbox).where(*about).values(address=report.sender, updated_at=at))
    await session.flush()
    return chat


async def closed_before(session: AsyncSession, before: datetime, limit: int) -> Sequence[Report]:
    """Up to `limit` closed cases, closed before `before`, whose reporter's identity is still
    there; locked (another process skips them)."""
    query = (
        select(Report)
        .where(
            col(Report.state) == ReportState.CLOSED,
            col(Report.closed_at) < before,
            col(Report.identity_erased_at).is_(None),
        )
        .order_by(col(Report.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(query)).all()


# Evidence.


async def expired_evidence(
    session: AsyncSession, before: datetime, limit: int
) -> Sequence[tuple[Media, Report]]:
    """Up to `limit` evidence files received before `before` of cases closed before it, with
    no referral an agency still works on; locked."""
    referred = exists().where(
        col(Referral.report_id) == col(Report.id), col(Referral.state).in_(list(REFERRAL_OPEN))
    )
    query = (
        select(Media, Report)
        .join(Report, col(Report.id) == col(Media.report_id))
        .where(
            col(Media.created_at) < before,
            col(Report.state) == ReportState.CLOSED,
            col(Report.closed_at) < before,
            ~referred,
        )
        .order_by(col(Media.id))
        .limit(limit)
        .with_for_update(of=Media, skip_locked=True)
    )
    return [(m, r) for m, r in (await session.exec(query)).all()]


async def unused_files(
    session: AsyncSession, shas: Sequence[str], leaving: Sequence[int]
) -> list[str]:
    """Of these files, those nothing will use once the Media rows `leaving` are gone: no
    other file row, broadcast image, referral's case file or message still to send."""
    wanted = set(shas)
    if not wanted:
        return []
    used: set[str] = set()
    queries = [
        select(Media.sha256).where(
            col(Media.sha256).in_(wanted), col(Media.id).not_in(list(leaving))
        ),
        select(Broadcast.image_sha256).where(col(Broadcast.image_sha256).in_(wanted)),
        select(Referral.document_sha256).where(col(Referral.document_sha256).in_(wanted)),
        select(Outbox.image_sha256).where(
            col(Outbox.image_sha256).in_(wanted),
            col(Outbox.state).in_([OutboxState.PENDING, OutboxState.SENDING]),
        ),
        select(Outbox.document_sha256).where(
            col(Outbox.document_sha256).in_(wanted),
            col(Outbox.state).in_([OutboxState.PENDING, OutboxState.SENDING]),
        ),
    ]
    for query in queries:
        used.update(s for s in (await session.exec(query)).all() if s is not None)
    return sorted(wanted - used)


async def delete_media(session: AsyncSession, ids: Sequence[int]) -> None:
    if ids:
        await session.exec(delete(Media).where(col(Media.id).in_(list(ids))))
