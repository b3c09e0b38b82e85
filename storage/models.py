"""The tables. The stored values of every step, state and choice, and the column types that
keep them, are in storage/values.py (and reached here too)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.sealing import Matched, Sealed, SealedFloat, SealedJSON

# The stored values, reached here too beside the tables that keep them (one import, as
# each name is re-exported).
# isort: off
from storage.values import (
    Affected as Affected,
    AgencyKind as AgencyKind,
    BroadcastState as BroadcastState,
    Channel as Channel,
    ChildInvolved as ChildInvolved,
    Destination as Destination,
    Door as Door,
    Erasure as Erasure,
    EventKind as EventKind,
    FollowupState as FollowupState,
    IdentifierKind as IdentifierKind,
    LinkSource as LinkSource,
    MessageKind as MessageKind,
    OfferKind as OfferKind,
    OfferSource as OfferSource,
    OutboxState as OutboxState,
    Outcome as Outcome,
    Priority as Priority,
    RedFlag as RedFlag,
    ReferralState as ReferralState,
    RelayDirection as RelayDirection,
    ReportState as ReportState,
    Role as Role,
    Seen as Seen,
    StrEnumType as StrEnumType,
    UTCDateTime as UTCDateTime,
    Urgency as Urgency,
    Verdict as Verdict,
    ROLE_ORDER as ROLE_ORDER,
)
# isort: on


def enum_column(enum: type[StrEnum], *, default: Any = ..., index: bool = False) -> Any:
    return Field(default=default, sa_column=Column(StrEnumType(enum), index=index, nullable=False))


def utc_column(*, index: bool = False, nullable: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), index=index, nullable=nullable))


def json_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def sealed_json_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(SealedJSON, nullable=False))


def sealed_column(*, optional: bool = True) -> Any:
    """Text that identifies or endangers a reporter: sealed at rest (storage/sealing.py)."""
    if optional:
        return Field(default=None, sa_column=Column(Sealed, nullable=True))
    return Field(sa_column=Column(Sealed, nullable=False))


def matched_column(*, index: bool = False) -> Any:
    """A chat address or a linking identifier: sealed, and still looked up by equality."""
    return Field(sa_column=Column(Matched, index=index, nullable=False))


def json_list_column() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Conversation(SQLModel, table=True):
    """Where one chat stands: the flow and step it is in, and the answers so far."""

    __table_args__ = (UniqueConstraint("channel", "sender"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = enum_column(Channel)
    sender: str = matched_column()
    language: str = Field(max_length=8)
    flow: str | None = Field(default=None, max_length=32)
    step: str | None = Field(default=None, max_length=32)
    # The flow in progress's state (a handlers.conversation.turn.State subclass, as JSON).
    data: dict[str, Any] = sealed_json_column()
    # Increases with every question asked: a button carries it, so a stale button is recognised.
    seq: int = 0
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    # Set when the channel says the chat cannot be reached (Telegram: the bot was blocked);
    # cleared when the chat writes again.
    unreachable_at: datetime | None = utc_column(nullable=True)
    # The last message from the chat: WhatsApp allows free-form messages for 24 hours after it.
    last_inbound_at: datetime | None = utc_column(nullable=True)
    # Set when the chat asked for no more messages (STOP / BERHENTI) except direct replies.
    opted_out_at: datetime | None = utc_column(nullable=True)
    # Wrong invitation codes sent from the chat in a row, and when the last one came: after a
    # few, each try waits longer (whatever flow the chat is in).
    join_failures: int = 0
    join_failed_at: datetime | None = utc_column(nullable=True)
    # The chat's unfinished report was deleted as too old: told once, when it writes again.
    draft_expired: bool = False
    # A group: told once that reports are made in a private chat.
    told_in_group: bool = False
    # The inbound rate limit (handlers/conversation/limits.py): when the chat's current minute
    # began, and how many of its messages came in it.
    inbound_window_at: datetime | None = utc_column(nullable=True)
    inbound_in_window: int = 0


class Report(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # In capitals (reports.canonical): looked up as typed, in any case, through its index.
    reference: str = Field(max_length=32, unique=True)
    created_at: datetime = utc_column(index=True)
    state: ReportState = enum_column(ReportState, default=ReportState.NEW, index=True)
    priority: Priority = enum_column(Priority)
    # Where the report came from: needed to answer the reporter's own status and additions.
    # Never shown to the task force for an anonymous report.
    channel: Channel = enum_column(Channel)
    sender: str = matched_column(index=True)
    language: str = Field(max_length=8)
    anonymous: bool = True
    consent_contact: bool = False
    consent_share_with_police: bool = False  # kept: true when "police" is in the list below
    # The kinds of agencies (AgencyKind values) the reporter's number may be given to.
    consent_share_with: list[str] = json_list_column()
    contact_phone: str | None = sealed_column()
    urgency: Urgency = enum_column(Urgency)
    affected: Affected = enum_column(Affected)
    child_involved: ChildInvolved = enum_column(ChildInvolved)
    offer_kind: OfferKind = enum_column(OfferKind)
    destination: str = Field(max_length=64)
    offer_source: OfferSource = enum_column(OfferSource)
    red_flags: list[str] = json_list_column()
    recruiter_name: str | None = Field(default=None, max_length=200)
    recruiter_agency: str | None = Field(default=None, max_length=200)
    recruiter_link: str | None = Field(default=None, max_length=500)
    story: str = sealed_column(optional=False)
    area: str | None = Field(default=None, max_length=64)
    latitude: float | None = Field(default=None, sa_column=Column(SealedFloat, nullable=True))
    longitude: float | None = Field(default=None, sa_column=Column(SealedFloat, nullable=True))
    acknowledged_by: int | None = Field(default=None, foreign_key="member.id")
    acknowledged_at: datetime | None = utc_column(nullable=True)
    # Case work: who has the case now (the acknowledging member first), and how it was closed.
    assignee_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    outcome: Outcome | None = Field(
        default=None, sa_column=Column(StrEnumType(Outcome), nullable=True)
    )
    duplicate_of: str | None = Field(default=None, max_length=32)  # the other reference
    # The reporter said `berhenti balas`: the task force can no longer write to them.
    relay_stopped_at: datetime | None = utc_column(nullable=True)
    # When the case was last closed (None while it is open): `[retention]` counts from it.
    closed_at: datetime | None = utc_column(nullable=True, index=True)
    # The reporter's identity was removed (handlers/usecases/erasure.py): `sender` is then a
    # tombstone no chat address can equal, the contact number and every consent are gone,
    # and nothing can be sent to the reporter any more. When, and why.
    identity_erased_at: datetime | None = utc_column(nullable=True)
    identity_erased_by: Erasure | None = Field(
        default=None, sa_column=Column(StrEnumType(Erasure), nullable=True)
    )


class RecruiterPhone(SQLModel, table=True):
    """A recruiter's number named in a report, in E.164: reports are matched on it."""

    __tablename__ = "recruiter_phone"
    __table_args__ = (UniqueConstraint("report_id", "phone"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    phone: str = matched_column(index=True)


class Addition(SQLModel, table=True):
    """Information a reporter added to their report after sending it."""

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    created_at: datetime = utc_column()
    text: str | None = sealed_column()


class RelayMessage(SQLModel, table=True):
    """A message between a member and a report's reporter, through the bot, so that neither
    learns who the other is. One to the reporter waits (read_at empty) until they send BUKA;
    `files` are in the media store: [{"sha256", "content_type", "name"}]."""

    __tablename__ = "relay_message"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    created_at: datetime = utc_column()
    direction: RelayDirection = enum_column(RelayDirection)
    # The member who wrote it (to the reporter), or whom it went to (from the reporter).
    member_id: int | None = Field(default=None, foreign_key="member.id")
    text: str | None = sealed_column()
    files: list[dict[str, Any]] = json_list_column()
    read_at: datetime | None = utc_column(nullable=True)


class Media(SQLModel, table=True):
    """A file in the media store. Until its report is sent it belongs to a conversation."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = utc_column()
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    report_id: int | None = Field(default=None, foreign_key="report.id", index=True)
    addition_id: int | None = Field(default=None, foreign_key="addition.id")
    # A file of a task force's note (not the reporter's evidence: report_id stays None).
    note_id: int | None = Field(default=None, foreign_key="case_note.id", index=True)
    sha256: str = Field(max_length=64)
    content_type: str = Field(max_length=64)
    size: int
    original_name: str | None = sealed_column()


class CaseNote(SQLModel, table=True):
    """A note of the task force on a case: private to it, never shown to the reporter. Its
    files are Media rows with its note_id."""

    __tablename__ = "case_note"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    created_at: datetime = utc_column()
    member_id: int | None = Field(default=None, foreign_key="member.id")
    author: str = Field(max_length=128)  # the member's name, or "operator"
    text: str | None = sealed_column()


class ReportEvent(SQLModel, table=True):
    """The report's timeline and audit trail: who did what, when, from which channel."""

    __tablename__ = "report_event"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    at: datetime = utc_column()
    kind: EventKind = enum_column(EventKind)
    actor: str = Field(max_length=128)
    channel: Channel | None = Field(
        default=None, sa_column=Column(StrEnumType(Channel), nullable=True)
    )
    # Sealed: a mark names the recruiter's number, a note's author, an agency...
    detail: dict[str, Any] = sealed_json_column()


class SeenInbound(SQLModel, table=True):
    """The channel's id of every message handled, so one delivered twice is handled once."""

    __tablename__ = "seen_inbound"
    __table_args__ = (UniqueConstraint("channel", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = enum_column(Channel)
    key: str = Field(max_length=128)
    at: datetime = utc_column(index=True)


class ChatMessage(SQLModel, table=True):
    """A message in a chat, either way: only its id, never its content, so that the chat can
    be cleared from the resident's phone on request and answered keyboards removed."""

    __tablename__ = "chat_message"
    __table_args__ = (UniqueConstraint("channel", "chat", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = enum_column(Channel)
    chat: str = matched_column(index=True)
    message_id: str = Field(max_length=128)
    at: datetime = utc_column()
    from_bot: bool
    # The question (its seq) whose buttons this message still shows; None once answered.
    keyboard_seq: int | None = None


class Member(SQLModel, table=True):
    """A task-force member. Removed members keep their row (the timeline names them) but may
    do nothing."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: Role = enum_column(Role)
    agency: str = Field(default="", max_length=100)
    created_at: datetime = utc_column()
    removed_at: datetime | None = utc_column(nullable=True)


class MemberAddress(SQLModel, table=True):
    """Where a member is reached: a Telegram chat id, a WhatsApp number."""

    __tablename__ = "member_address"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    channel: Channel = enum_column(Channel)
    address: str = matched_column()


class Invite(SQLModel, table=True):
    """A one-time code that links the chat that sends it to a new member."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=100)
    role: Role = enum_column(Role)
    agency: str = Field(default="", max_length=100)
    created_at: datetime = utc_column()
    expires_at: datetime = utc_column()
    used_at: datetime | None = utc_column(nullable=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")


class Shift(SQLModel, table=True):
    """A weekly duty shift in local time (the configured zone); `end` before `start` means it
    ends the next day."""

    id: int | None = Field(default=None, primary_key=True)
    weekday: int  # Monday is 0
    start: str = Field(max_length=5)  # "HH:MM"
    end: str = Field(max_length=5)


class ShiftMember(SQLModel, table=True):
    __tablename__ = "shift_member"

    shift_id: int = Field(foreign_key="shift.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)


class Override(SQLModel, table=True):
    """A member on duty (or off duty) from one moment to another, whatever the shifts say."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    starts_at: datetime = utc_column()
    ends_at: datetime = utc_column(index=True)
    on_duty: bool


class Followup(SQLModel, table=True):
    """The next escalation step of an unacknowledged report, due at a time. Claimed once;
    an acknowledgement cancels it."""

    # The claim's index: the pending ones in the order they fall due, however many are done.
    __table_args__ = (Index("ix_followup_state_due_at_id", "state", "due_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    step: int
    due_at: datetime = utc_column(index=True)
    state: FollowupState = enum_column(FollowupState, default=FollowupState.PENDING)
    done_at: datetime | None = utc_column(nullable=True)


class CaseReminder(SQLModel, table=True):
    """The next reminder of an open case that nobody touched: step 0 reminds the assignee,
    step 1 the coordinators. Claimed once; an event on the case after `created_at` makes it
    outdated (the reminder job then schedules the next one from that event)."""

    __tablename__ = "case_reminder"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    step: int
    created_at: datetime = utc_column()
    due_at: datetime = utc_column(index=True)
    state: FollowupState = enum_column(FollowupState, default=FollowupState.PENDING, index=True)
    done_at: datetime | None = utc_column(nullable=True)


class Outbox(SQLModel, table=True):
    """A message the system sends, with its delivery state: a row first, then delivery."""

    __table_args__ = (
        # The delivery job's claim: the pending (or abandoned) rows in the order they go out,
        # however many wait or were sent.
        Index("ix_outbox_state_priority_id", "state", "priority", "id"),
        # A chat's rows, and those being sent to it (outbox.sending_elsewhere).
        Index("ix_outbox_address_state", "address", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    channel: Channel = enum_column(Channel)
    address: str = matched_column()
    kind: MessageKind = enum_column(MessageKind)
    text: str = sealed_column(optional=False)
    # A template (WhatsApp Content SID) and its variables, when sent outside the window.
    template: str | None = Field(default=None, max_length=64)
    variables: dict[str, Any] = sealed_json_column()
    # Actions offered with the text: buttons [{"value": "ack:BTN-2026-00001", "label": "..."}]
    # and, last, {"hint": "Reply ACK ..."}, the same by typing (see outbox.actions and hint).
    buttons: list[dict[str, str]] = json_list_column()
    state: OutboxState = enum_column(OutboxState, default=OutboxState.PENDING)
    # Lower goes first: alerts are never queued behind a broadcast.
    priority: int = 5
    due_at: datetime | None = utc_column(nullable=True, index=True)
    attempts: int = 0
    provider_id: str | None = Field(default=None, max_length=64, index=True)
    error_code: str | None = Field(default=None, max_length=16)
    error: str | None = Field(default=None, max_length=500)
    report_id: int | None = Field(default=None, foreign_key="report.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    # For an update of a message already sent (Telegram edits it): that message's row.
    edit_of: int | None = Field(default=None, foreign_key="outbox.id")
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    # An image sent with the text (a broadcast's), from the media store.
    image_sha256: str | None = Field(default=None, max_length=64)
    # A document sent with the text (a referral's case file), from the media store.
    document_sha256: str | None = Field(default=None, max_length=64)
    document_name: str | None = Field(default=None, max_length=128)
    # An answer to a chat (kind reply): the replies as stored by
    # handlers.conversation.messages.dump, and the message whose button was pressed (a
    # multiple choice is updated in place there).
    # Emptied once sent: an answer's words are not kept longer than needed.
    replies: list[dict[str, Any]] = json_list_column()
    pressed_message: str | None = Field(default=None, max_length=64)
    # The process sending it (state sending): a row whose process is no longer alive is
    # taken again by another one (see Worker).
    claimed_by: int | None = Field(default=None, index=True)


class Worker(SQLModel, table=True):
    """A running `sigap run` process. It renews its heartbeat every few seconds; the outbox
    rows it claimed are taken again by another process once its heartbeat is older than the
    lease, or at once when it stopped cleanly or died on this host."""

    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(max_length=255)
    pid: int
    started_at: datetime = utc_column()
    heartbeat_at: datetime = utc_column(index=True)
    stopped_at: datetime | None = utc_column(nullable=True)


class Subscription(SQLModel, table=True):
    """A resident who asked for awareness messages: for their area (None: all) in their
    language. Ended, not deleted, when they stop or cannot be reached."""

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = enum_column(Channel)
    address: str = matched_column(index=True)
    area: str | None = Field(default=None, max_length=64)
    language: str = Field(max_length=8)
    created_at: datetime = utc_column()
    ended_at: datetime | None = utc_column(nullable=True, index=True)
    end_reason: str | None = Field(default=None, max_length=32)


class Broadcast(SQLModel, table=True):
    """An awareness message to the subscribers of some areas and/or one language."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = utc_column()
    created_by: int | None = Field(default=None, foreign_key="member.id")
    text: str
    # A message of the library (sent in each subscriber's language) instead of `text`.
    library_id: str | None = Field(default=None, max_length=64)
    image_sha256: str | None = Field(default=None, max_length=64)  # in the media store
    areas: list[str] = json_list_column()  # empty: every area
    language: str | None = Field(default=None, max_length=8)  # None: every language
    state: BroadcastState = enum_column(BroadcastState, default=BroadcastState.SCHEDULED)
    due_at: datetime = utc_column(index=True)
    started_at: datetime | None = utc_column(nullable=True)
    finished_at: datetime | None = utc_column(nullable=True)
    recipients: int = 0
    # Fan-out goes in chunks, each in its own short transaction: the last subscription done,
    # and whether all are.
    cursor: int = 0
    fanned_out: bool = False


class Referral(SQLModel, table=True):
    """A report referred to a partner agency (from `[[referral.agencies]]`), with the case
    file sent and whether it named the reporter: with their consent for that kind of agency,
    or a coordinator's override with its reason."""

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    created_by: int | None = Field(default=None, foreign_key="member.id")
    agency: str = Field(max_length=100)
    agency_kind: AgencyKind = enum_column(AgencyKind)
    # Where the case file went: the agency's email address, Telegram chat or WhatsApp number.
    channel: Channel = enum_column(Channel)
    address: str = Field(max_length=254)
    state: ReferralState = enum_column(ReferralState, default=ReferralState.SENT, index=True)
    with_identity: bool = False
    override_reason: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=500)  # of a rejection or revocation
    document_sha256: str = Field(max_length=64)  # the case file, in the media store


class Identifier(SQLModel, table=True):
    """A recruiter's phone number, account, agency, link, handle or e-mail, once, normalised;
    reports naming it are linked through ReportIdentifier."""

    __table_args__ = (UniqueConstraint("kind", "value"),)  # also the index lookups use

    id: int | None = Field(default=None, primary_key=True)
    kind: IdentifierKind = enum_column(IdentifierKind)
    value: str = matched_column()  # normalised: what is matched
    shown: str = sealed_column(optional=False)  # as first written (an account with its bank)
    created_at: datetime = utc_column()


class ReportIdentifier(SQLModel, table=True):
    """A report naming an identifier, and where it first did."""

    __tablename__ = "report_identifier"
    __table_args__ = (UniqueConstraint("report_id", "identifier_id"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    identifier_id: int = Field(foreign_key="identifier.id", index=True)
    source: LinkSource = enum_column(LinkSource)
    created_at: datetime = utc_column()


class IdentifierMark(SQLModel, table=True):
    """A member's verdict on an identifier, citing the case that proves it. Residents are
    only ever shown confirmed marks: a coordinator's confirmation (their own marks, and the
    operator's, are confirmed at once)."""

    __tablename__ = "identifier_mark"

    id: int | None = Field(default=None, primary_key=True)
    identifier_id: int = Field(foreign_key="identifier.id", index=True)
    verdict: Verdict = enum_column(Verdict)
    report_id: int = Field(foreign_key="report.id", index=True)  # the case it cites
    created_at: datetime = utc_column()
    member_id: int | None = Field(default=None, foreign_key="member.id")  # None: the operator
    by: str = Field(max_length=128)  # the member's name, or "operator"
    confirmed_at: datetime | None = utc_column(nullable=True, index=True)
    confirmed_by: str | None = Field(default=None, max_length=128)


class OfferCheck(SQLModel, table=True):
    """A resident's check of an offer (`cek`): when, on which channel, from which chat (its key
    hashed with a secret: never the resident's name or number), and what it found. The
    identifiers checked are linked through OfferCheckIdentifier."""

    __tablename__ = "offer_check"
    # The rate limit counts a chat's checks of the last hour on this index.
    __table_args__ = (Index("ix_offer_check_chat_checked_at", "chat", "checked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    checked_at: datetime = utc_column()
    channel: Channel = enum_column(Channel)
    chat: str = Field(max_length=64)  # HMAC-SHA256 of the channel and the chat's key, hex
    identifiers: int = 0  # how many were found in what was sent
    risk: str = Field(max_length=16)  # the risk level of the text (handlers/risk.py Level)


class OfferCheckIdentifier(SQLModel, table=True):
    """An identifier a check looked up, with the check's moment and chat again so that "how
    many chats checked this in a week" is one index range."""

    __tablename__ = "offer_check_identifier"
    __table_args__ = (
        UniqueConstraint("check_id", "identifier_id"),
        Index("ix_offer_check_identifier_identifier_checked_at", "identifier_id", "checked_at"),
        Index("ix_offer_check_identifier_checked_at", "checked_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    check_id: int = Field(foreign_key="offer_check.id")
    identifier_id: int = Field(foreign_key="identifier.id")
    checked_at: datetime = utc_column()
    chat: str = Field(max_length=64)


class CheckAlert(SQLModel, table=True):
    """The coordinators were told that many chats checked an identifier (once a week each)."""

    __tablename__ = "check_alert"

    id: int | None = Field(default=None, primary_key=True)
    identifier_id: int = Field(foreign_key="identifier.id", index=True)
    alerted_at: datetime = utc_column()
    chats: int  # how many different chats had checked it in the week


class Counter(SQLModel, table=True):
    """Sequences such as the yearly reference numbers (`BTN-2026` -> 42)."""

    name: str = Field(primary_key=True, max_length=64)
    value: int = 0


class DashboardLink(SQLModel, table=True):
    """A one-time login link to the dashboard (`/masuk`, `sigap dashboard link`): only the
    SHA-256 of its token is kept; it is bound to one member, valid 10 minutes, used once."""

    __tablename__ = "dashboard_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = utc_column()
    expires_at: datetime = utc_column()
    used_at: datetime | None = utc_column(nullable=True)


class DashboardSession(SQLModel, table=True):
    """A logged-in browser: the cookie holds the token, this row its SHA-256, the member, the
    CSRF token of its forms, and when it was last used (it expires after 12 hours idle)."""

    __tablename__ = "dashboard_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime = utc_column()
    seen_at: datetime = utc_column()
    ended_at: datetime | None = utc_column(nullable=True)


class ViewAudit(SQLModel, table=True):
    """Someone looked at what identifies or endangers a reporter: who (a member, or the
    operator at the server's command line with their login name), when, which report, through
    which door, what, and where (the command, page or file); an export's stated reason."""

    __tablename__ = "view_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_column(index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    operator: str | None = Field(default=None, max_length=64)  # the CLI's login name
    report_id: int = Field(foreign_key="report.id", index=True)
    door: Door = enum_column(Door)
    what: Seen = enum_column(Seen)
    place: str = Field(max_length=64)  # the command, page or file that showed it
    reason: str | None = Field(default=None, max_length=500)


class Sealing(SQLModel, table=True):
    """The database's index key (sealed under the data key), and the data key every value was
    last sealed under (storage/resealing.py)."""

    name: str = Field(primary_key=True, max_length=32)
    value: str = Field(sa_column=Column(Text, nullable=False))


class RetentionRun(SQLModel, table=True):
    """A day's application of `[retention]` (storage/retention.py): how many drafts, chats,
    reporter identities and evidence files it removed (counts, never what), and the process
    doing it. A run whose process died unfinished is taken over by another; the work itself
    goes in batches that can be done again without harm."""

    __tablename__ = "retention_run"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(unique=True)  # in the configured zone: one run a day
    started_at: datetime = utc_column()
    touched_at: datetime = utc_column()  # the last batch done
    finished_at: datetime | None = utc_column(nullable=True)
    claimed_by: int | None = None  # the worker (storage/workers.py) applying it
    drafts: int = 0
    chats: int = 0
    identities: int = 0
    evidence_files: int = 0
