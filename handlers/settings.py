"""The config sections the flows read: `[bot]` and `[intake]`. Another regency deploys Sigap by
changing these, not the code."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from handlers.i18n import available
from storage.values import AgencyKind, Channel, Priority, Role


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(RootModel[str | dict[str, str]]):
    """A label in the config: one text for every language (`"Malaysia"`), or one per language
    (`{ id = "Singapura", en = "Singapore" }`)."""

    model_config = ConfigDict(frozen=True)

    @field_validator("root")
    @classmethod
    def _texts(cls, root: str | dict[str, str]) -> str | dict[str, str]:
        texts = [root] if isinstance(root, str) else list(root.values())
        if not texts or not all(t.strip() for t in texts):
            raise ValueError("a text, or a table of texts per language such as { id = '...' }")
        return root

    def text(self, language: str, default: str = "id") -> str:
        """The text in `language`, else in `default` (the bot's default language), else any."""
        if isinstance(self.root, str):
            return self.root
        return self.root.get(language) or self.root.get(default) or next(iter(self.root.values()))

    @property
    def key(self) -> str:
        """What is stored (a report's area and destination, a subscription's area): the
        Indonesian text, or the only one, so stored data does not depend on who wrote it."""
        return self.text("id")

    def texts(self) -> list[str]:
        return [self.root] if isinstance(self.root, str) else list(self.root.values())


def label(id: str, en: str) -> Localized:
    return Localized({"id": id, "en": en})


BINTAN_AREAS = [
    Localized("Bintan Utara"),
    Localized("Bintan Timur"),
    Localized("Bintan Pesisir"),
    Localized("Gunung Kijang"),
    Localized("Mantang"),
    Localized("Seri Kuala Lobam"),
    Localized("Teluk Bintan"),
    Localized("Teluk Sebong"),
    Localized("Toapaya"),
    Localized("Tambelan"),
    label("Luar Bintan", "Outside Bintan"),
]

DESTINATIONS = [
    Localized("Malaysia"),
    label("Singapura", "Singapore"),
    label("Kamboja", "Cambodia"),
    Localized("Myanmar"),
    Localized("Thailand"),
    label("Timur Tengah", "Middle East"),
    label("Taiwan atau Hong Kong", "Taiwan or Hong Kong"),
    label("Jepang atau Korea", "Japan or Korea"),
    label("Daerah lain di Indonesia", "Elsewhere in Indonesia"),
]


class BotSettings(Section):
    """`[bot]`"""

    default_language: str = "id"
    languages: list[str] = Field(default_factory=lambda: ["id", "en"], min_length=1)
    timezone: str = "Asia/Jakarta"
    reference_prefix: str = Field(default="BTN", pattern=r"^[A-Z][A-Z0-9]{0,9}$")

    @field_validator("languages")
    @classmethod
    def _have_catalogs(cls, languages: list[str]) -> list[str]:
        missing = [lang for lang in languages if lang not in available()]
        if missing:
            raise ValueError(f"languages with a catalog ({', '.join(available())}), not {missing}")
        return languages

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as Asia/Jakarta, not {name!r}") from None
        return name

    @model_validator(mode="after")
    def _default_is_offered(self) -> BotSettings:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} must be in languages")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class EmergencyContact(Section):
    """`[[intake.emergency_contacts]]`: shown at once to a resident who says someone is in
    danger, and in the help text."""

    name: Localized
    number: str = Field(min_length=1)
    note: Localized | None = None
    # A number that can be called from abroad, shown to someone who is already abroad (the
    # contacts without one are left out there: 110 cannot be called from Malaysia).
    abroad_number: str = ""


DEFAULT_EMERGENCY_CONTACTS = [
    EmergencyContact(name=label("Polisi", "Police"), number="110"),
    EmergencyContact(
        name=Localized("SAPA 129 (KemenPPPA)"),
        number="129",
        note=Localized("WhatsApp 08111-129-129"),
    ),
    EmergencyContact(
        name=label("Call center KP2MI (pekerja migran)", "KP2MI call centre (migrant workers)"),
        number="0800-1000",
        abroad_number="+62 21 2924 4800",
    ),
]


# Words that show the emergency contacts at once and make the report urgent, when a resident
# opens with them; every language's list is checked, whatever the conversation's language.
DANGER_WORDS = {
    "id": [
        "tolong", "minta tolong", "darurat", "bahaya", "disekap", "dikurung", "dikunci",
        "dipukul", "disiksa", "diseksa", "dianiaya", "diancam", "diperkosa", "dilecehkan",
        "disandera", "diculik", "dijual", "terjebak", "kabur", "selamatkan",
        "tidak bisa pulang", "tidak boleh pulang", "tak boleh balik", "kecemasan",
    ],
    "en": [
        "help", "sos", "emergency", "danger", "locked up", "locked in", "beaten", "hit me",
        "trapped", "kidnapped", "abused", "raped", "threatened", "held captive", "cannot leave",
        "can't leave", "not allowed to leave", "rescue",
    ],
}  # fmt: skip


class IntakeSettings(Section):
    """`[intake]`"""

    areas: list[Localized] = Field(default_factory=lambda: list(BINTAN_AREAS), min_length=1)
    destinations: list[Localized] = Field(default_factory=lambda: list(DESTINATIONS), min_length=1)
    draft_expiry_hours: float = Field(default=24, gt=0)
    max_media_mb: float = Field(default=20, gt=0, le=2000)
    # Messages one resident's chat may send in a minute; the rest of that minute is not taken
    # (handlers/conversation/limits.py).
    max_messages_per_minute: int = Field(default=20, ge=5, le=1000)
    emergency_contacts: list[EmergencyContact] = Field(
        default_factory=lambda: list(DEFAULT_EMERGENCY_CONTACTS)
    )
    danger_words: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DANGER_WORDS.items()}
    )

    @property
    def all_danger_words(self) -> list[str]:
        return [w for words in self.danger_words.values() for w in words]

    @field_validator("areas", "destinations")
    @classmethod
    def _short_unique_names(cls, names: list[Localized]) -> list[Localized]:
        for name in names:
            for text in name.texts():
                if not text.strip() or len(text) > 64:
                    raise ValueError(f"names of 1 to 64 characters, not {text!r}")
        keys = [name.key for name in names]
        if len(set(keys)) != len(keys):
            raise ValueError("names that are all different")
        return names

    @property
    def area_keys(self) -> list[str]:
        """The areas as stored (a report's area, a subscription's, a broadcast's)."""
        return [area.key for area in self.areas]

    def shown(self, stored: str, language: str, default: str = "id") -> str:
        """A stored area or destination in `language`; as stored if it is no longer in the
        config."""
        for name in [*self.areas, *self.destinations]:
            if name.key == stored:
                return name.text(language, default)
        return stored

    @property
    def max_media_bytes(self) -> int:
        return int(self.max_media_mb * 1024 * 1024)


STEP_PARTS = {"on_duty", "backup", "coordinators", "all_members"}


class PerPriority(Section):
    """Minutes per priority."""

    urgent: float = Field(gt=0)
    high: float = Field(gt=0)
    normal: float = Field(gt=0)

    def minutes(self, priority: Priority) -> float:
        return float(getattr(self, priority.value))


class HoursPerPriority(Section):
    """Hours per priority."""

    urgent: float = Field(gt=0)
    high: float = Field(gt=0)
    normal: float = Field(gt=0)

    def hours(self, priority: Priority) -> float:
        return float(getattr(self, priority.value))


class CaseworkSettings(Section):
    """`[casework]`: what happens to a case after its acknowledgement."""

    # An open case untouched this long reminds its assignee, then the coordinators.
    stale_after_hours: HoursPerPriority = Field(
        default_factory=lambda: HoursPerPriority(urgent=4, high=24, normal=72)
    )


class CekSettings(Section):
    """`[cek]`: residents' checks of an offer (CEK)."""

    # Checks one chat may make in an hour (against trying numbers one after another).
    per_hour: int = Field(default=20, ge=1)
    # An identifier checked by this many different chats within 7 days alerts the
    # coordinators (once a week per identifier).
    alert_after_chats: int = Field(default=5, ge=2)
    # The key a chat's address is hashed with before a check is stored (HMAC-SHA256), so
    # that the stored checks cannot be traced back to a number by trying numbers. Env:
    # SIGAP_CEK_SECRET. Empty: a built-in key (a warning at start).
    secret: str = Field(default="", repr=False)


def keep_forever_or_more(value: int) -> int:
    if value < 0:
        raise ValueError("a number of 0 (keep forever) or more")
    return value


class RetentionSettings(Section):
    """`[retention]`: how long what identifies a reporter, or what they left unfinished, is
    kept (a daily job applies it: bot/scheduler.py `retention`). 0 keeps it forever."""

    # Unfinished answers of any flow (a report draft also goes after intake's
    # draft_expiry_hours) and chat bookkeeping (message ids, redelivery keys, the
    # conversation of a chat idle that long with nothing open), after this many days.
    drafts_days: int = Field(default=30, le=36500)
    # A closed case's reporter identity (chat address, contact number, consents), this many
    # months after it closed; the case stays, anonymised.
    closed_identity_months: int = Field(default=12, le=1200)
    # Evidence files of a case closed this many months ago, received at least as long ago;
    # never while the case is open or referred to an agency that has not finished with it.
    evidence_months: int = Field(default=24, le=1200)

    _non_negative = field_validator("drafts_days", "closed_identity_months", "evidence_months")(
        keep_forever_or_more
    )


class EscalationSettings(Section):
    """`[escalation]`: who is alerted, and how the circle widens until someone acknowledges."""

    # How long to wait for an acknowledgement before the next step.
    ack_timeout_minutes: PerPriority = Field(
        default_factory=lambda: PerPriority(urgent=5, high=15, normal=30)
    )
    # Who each step notifies: on_duty, backup, coordinators, all_members, joined with "+".
    steps: list[str] = Field(
        default_factory=lambda: ["on_duty", "on_duty+backup", "coordinators", "all_members"],
        min_length=1,
    )
    # After the last step, it is repeated this often until someone acknowledges (no cap).
    repeat_minutes: PerPriority = Field(
        default_factory=lambda: PerPriority(urgent=5, high=15, normal=30)
    )
    # Who comes after the members on duty: member names, or "role:coordinator" / "role:admin".
    backup: list[str] = Field(default_factory=lambda: ["role:coordinator"])

    @field_validator("steps")
    @classmethod
    def _known_parts(cls, steps: list[str]) -> list[str]:
        for step in steps:
            unknown = set(step.split("+")) - STEP_PARTS
            if unknown:
                raise ValueError(
                    f"steps made of {', '.join(sorted(STEP_PARTS))} joined with '+', not {step!r}"
                )
        return steps

    @field_validator("backup")
    @classmethod
    def _roles(cls, backup: list[str]) -> list[str]:
        for entry in backup:
            role = entry.removeprefix("role:")
            if entry.startswith("role:") and role not in {r.value for r in Role}:
                raise ValueError(f"role:member, role:coordinator or role:admin, not {entry!r}")
        return backup


class AlertSettings(Section):
    """`[alerts]`"""

    # The task force's Telegram group: alerts are posted there too (0: none).
    telegram_group_id: int = 0
    # How long an invitation code stays valid.
    invite_hours: float = Field(default=24, gt=0)


class Agency(Section):
    """`[[referral.agencies]]`: a partner agency the task force refers cases to, reached at
    one address, for some areas (none: every area)."""

    name: str = Field(min_length=1, max_length=100)
    kind: AgencyKind
    email: str = Field(default="", pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")
    telegram_chat: int = 0
    whatsapp: str = Field(default="", pattern=r"^(\+[1-9][0-9]{6,14})?$")
    areas: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_channel(self) -> Agency:
        given = [bool(self.email), bool(self.telegram_chat), bool(self.whatsapp)]
        if sum(given) != 1:
            raise ValueError(
                f"agency {self.name!r}: give exactly one of email, telegram_chat, whatsapp"
            )
        return self

    @property
    def reached(self) -> tuple[Channel, str]:
        """The channel and address the case file goes to."""
        if self.email:
            return Channel.EMAIL, self.email
        if self.telegram_chat:
            return Channel.TELEGRAM, str(self.telegram_chat)
        return Channel.WHATSAPP, self.whatsapp


class ReferralSettings(Section):
    """`[referral]`: the partner agencies (see Agency)."""

    agencies: list[Agency] = Field(default_factory=list)

    @field_validator("agencies")
    @classmethod
    def _distinct_names(cls, agencies: list[Agency]) -> list[Agency]:
        names = [a.name.casefold() for a in agencies]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two agencies named {twice[0]!r}")
        return agencies
