"""The stored values of every step, state and choice (explicit strings: a stored value never
changes meaning when the code is reordered), and the column types that keep them.

Apart from the tables (storage/models.py, which reaches them all too): the settings and
`sigap reports list` use them without loading the ORM, SQLModel and the table classes,
about 0.3 s of a command's start (issue #17)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, String, TypeDecorator
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StrEnumType(TypeDecorator[StrEnum]):
    """A StrEnum stored as its plain value (a VARCHAR, no database enum type), so that adding
    a member never needs a schema change."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: StrEnum | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


class Channel(StrEnum):
    CONSOLE = "console"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    EMAIL = "email"  # only outbound: case files to partner agencies (SMTP)


class ReportState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    REFERRED = "referred"
    CLOSED = "closed"


class Outcome(StrEnum):
    """What a closed case came to (Report.outcome)."""

    TRAFFICKING_SUSPECTED = "trafficking_suspected"
    SCAM_OR_FRAUD = "scam_or_fraud"
    NON_PROCEDURAL_MIGRATION = "non_procedural_migration"
    NOT_TRAFFICKING = "not_trafficking"
    DUPLICATE = "duplicate"  # Report.duplicate_of names the other report
    UNREACHABLE = "unreachable"
    WITHDRAWN = "withdrawn"


class Erasure(StrEnum):
    """Why a report's reporter identity was removed (Report.identity_erased_by)."""

    REPORTER = "reporter"  # they asked the bot to forget them (HAPUS DATA)
    OPERATOR = "operator"  # an admin's `sigap reports erase`, with a reason (in the audit)
    RETENTION = "retention"  # `[retention] closed_identity_months` after the case closed


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class Urgency(StrEnum):
    DANGER_NOW = "danger_now"
    LEAVING_SOON = "leaving_soon"
    ABROAD_NEEDS_HELP = "abroad_needs_help"
    NONE = "none"


class Affected(StrEnum):
    ME = "me"
    FAMILY = "family"
    SOMEONE_I_KNOW = "someone_i_know"
    ADVERT = "advert"


class ChildInvolved(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class OfferKind(StrEnum):
    WORK_ABROAD = "work_abroad"
    SHIP_CREW = "ship_crew"
    DOMESTIC_WORKER = "domestic_worker"
    ONLINE_JOB = "online_job"
    ENTERTAINMENT = "entertainment"
    MARRIAGE = "marriage"
    OTHER = "other"
    UNKNOWN = "unknown"  # not asked: an urgent report is sent before


class OfferSource(StrEnum):
    SOCIAL_MEDIA = "social_media"
    CHAT_MESSAGE = "chat_message"
    AGENT = "agent"
    COMPANY = "company"
    OTHER = "other"
    UNKNOWN = "unknown"  # not asked: an urgent report is sent before


class RedFlag(StrEnum):
    UPFRONT_FEES = "upfront_fees"
    DOCUMENTS_HELD = "documents_held"
    UNOFFICIAL_ROUTE = "unofficial_route"
    NO_CONTRACT = "no_contract"
    TOO_GOOD = "too_good"
    PRESSURE_SECRECY = "pressure_secrecy"
    LIE_TO_OFFICIALS = "lie_to_officials"
    UNLICENSED_AGENCY = "unlicensed_agency"
    CONTACT_CUT_OFF = "contact_cut_off"


class Destination(StrEnum):
    """The two destinations that are not a place from the config."""

    OTHER = "other"
    UNKNOWN = "unknown"


class EventKind(StrEnum):
    SUBMITTED = "submitted"
    ADDITION = "addition"
    STATE_CHANGED = "state_changed"
    ALERTED = "alerted"
    FOLLOWED_UP = "followed_up"
    ACKNOWLEDGED = "acknowledged"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    REFERRED = "referred"  # a case file sent to a partner agency
    REFERRAL_CHANGED = "referral_changed"  # accepted, rejected, done or revoked
    # Case work (handlers/usecases/casework.py); a state change is STATE_CHANGED with
    # detail from/to (and outcome when closed).
    NOTE = "note"
    ASSIGNED = "assigned"
    REOPENED = "reopened"
    REMINDED = "reminded"  # not activity: it does not reset the case's clock
    RELAYED = "relayed"  # a message between a member and the reporter (usecases/relay.py)
    RELAY_STOPPED = "relay_stopped"  # the reporter said BERHENTI BALAS
    # Recruiter intelligence (handlers/usecases/intel.py): an identifier marked dangerous or
    # cleared citing this case, and a coordinator's confirmation of such a mark.
    MARKED = "marked"
    MARK_CONFIRMED = "mark_confirmed"
    # Privacy (handlers/usecases/erasure.py): the reporter's identity removed (detail "by": an
    # Erasure value), and evidence files removed by `[retention]` (detail "files": how many).
    IDENTITY_ERASED = "identity_erased"
    EVIDENCE_REMOVED = "evidence_removed"


class AgencyKind(StrEnum):
    """The kinds of partner agencies; a reporter consents to sharing their number per kind."""

    POLICE = "police"
    KP2MI = "kp2mi"  # the ministry (formerly BP2MI) and its provincial office, BP3MI
    UPTD_PPA = "uptd_ppa"  # the service unit protecting women and children
    SOCIAL_AFFAIRS = "social_affairs"
    IMMIGRATION = "immigration"
    OTHER = "other"


class ReferralState(StrEnum):
    """sent -> accepted | rejected (with a reason); accepted -> done; sent or accepted ->
    revoked."""

    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DONE = "done"
    REVOKED = "revoked"


class Role(StrEnum):
    MEMBER = "member"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


# What each role may do includes what the roles before it may do.
ROLE_ORDER = [Role.MEMBER, Role.COORDINATOR, Role.ADMIN]


class RelayDirection(StrEnum):
    TO_REPORTER = "to_reporter"
    FROM_REPORTER = "from_reporter"


class FollowupState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class MessageKind(StrEnum):
    """Why a message is sent; outside WhatsApp's 24-hour window each kind needs a template."""

    REPLY = "reply"
    ALERT = "alert"
    FOLLOWUP = "followup"
    REPORT_UPDATE = "report_update"
    BROADCAST = "broadcast"
    NOTICE = "notice"  # to members: an addition to a report, an unreachable colleague
    REFERRAL = "referral"  # a case file to a partner agency
    RELAY_NOTICE = "relay_notice"  # to a reporter: a message waits (BUKA), nothing more


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    CANCELLED = "cancelled"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"


class BroadcastState(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class IdentifierKind(StrEnum):
    """What a recruiter's identifier is (handlers/intel/identifiers.py normalises each)."""

    PHONE = "phone"  # E.164
    ACCOUNT = "account"  # the digits of a bank or wallet account
    AGENCY = "agency"  # an agency's or company's name, without PT/CV, punctuation and case
    LINK = "link"  # host and path: lower-case host without www, no query, no trailing slash
    HANDLE = "handle"  # a social-media @handle, lower case, without the @
    EMAIL = "email"  # lower case


class LinkSource(StrEnum):
    """Where a report named an identifier."""

    RECRUITER = "recruiter"  # the recruiter's name, agency, links and accounts
    PHONES = "phones"  # the recruiter's numbers
    STORY = "story"
    ADDITION = "addition"  # something the reporter added later
    MARK = "mark"  # a member marked it citing this case


class Verdict(StrEnum):
    DANGEROUS = "dangerous"
    CLEARED = "cleared"


class Door(StrEnum):
    """Where a reporter's contact, story or evidence was looked at."""

    BOT = "bot"
    DASHBOARD = "dashboard"
    CLI = "cli"


class Seen(StrEnum):
    """What of a report was looked at: one audit row for each."""

    CONTACT = "contact"  # the reporter's number (or, in an export, their chat address)
    STORY = "story"  # what happened, in their words
    EVIDENCE = "evidence"  # a file they sent
    EXPORT = "export"  # the report copied out of Sigap (a CSV, a case file to an agency)
    # Not a look but its end: the reporter's identity erased by the operator (`sigap reports
    # erase`), recorded here with the stated reason.
    ERASURE = "erasure"
