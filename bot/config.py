"""The settings: one typed object from the TOML config file and SIGAP_* environment variables,
validated at start so a mistake stops Sigap with a message that names the key."""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from handlers.i18n import override_problems
from handlers.settings import (
    AlertSettings,
    BotSettings,
    CaseworkSettings,
    CekSettings,
    EscalationSettings,
    IntakeSettings,
    ReferralSettings,
    RetentionSettings,
)
from storage.sealing import DataKey, KeyProblem, Keyring
from storage.settings import StorageSettings
from storage.values import MessageKind

DEFAULT_PATH = Path("config.toml")

# Environment variables that override a key (secrets belong there rather than in the file).
ENVIRONMENT = {
    "SIGAP_METRICS_TOKEN": ("metrics", "token"),
    "SIGAP_STORAGE_URL": ("storage", "url"),
    "SIGAP_MEDIA_DIR": ("storage", "media_dir"),
    "SIGAP_TELEGRAM_TOKEN": ("telegram", "token"),
    "SIGAP_TELEGRAM_SECRET_TOKEN": ("telegram", "secret_token"),
    "SIGAP_TWILIO_ACCOUNT_SID": ("whatsapp", "account_sid"),
    "SIGAP_TWILIO_AUTH_TOKEN": ("whatsapp", "auth_token"),
    "SIGAP_SMTP_PASSWORD": ("smtp", "password"),
    "SIGAP_CEK_SECRET": ("cek", "secret"),
    "SIGAP_DATA_KEY": ("privacy", "data_key"),
    "SIGAP_OLD_DATA_KEYS": ("privacy", "old_data_keys"),
}
SECRET_WORDS = ("token", "password", "secret", "key")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(Section):
    """`[server]`: the web server for webhooks and /healthz."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The address the world reaches this server at (behind a reverse proxy: the proxy's).
    public_url: str = Field(default="", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")
    # GET /healthz answers 503 once a channel has been failing this long.
    channel_down_after_seconds: float = Field(default=120, gt=0)


class DashboardSettings(Section):
    """`[dashboard]`: the task force's web pages under /dasbor on the same web server."""

    # Unset: on when server.public_url is set (the login links need that address).
    enabled: bool | None = None
    # A session ends after this many hours without a request.
    idle_hours: float = Field(default=12, gt=0, le=24 * 30)
    # A login link (/masuk, `sigap dashboard link`) is valid this many minutes, once.
    link_minutes: float = Field(default=10, gt=0, le=60)


class LoggingSettings(Section):
    """`[logging]`: what `sigap run` writes on standard error (bot/logs.py)."""

    # "text": a line for people; "json": one object a line, for a log collector.
    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] = "info"


class MetricsSettings(Section):
    """`[metrics]`: /metrics in Prometheus's format (bot/metrics.py), for a scraper only: on
    the web server behind a token, or on a port of its own (on `host`) without one."""

    # A long random value; the scraper sends `Authorization: Bearer <token>`. Env:
    # SIGAP_METRICS_TOKEN.
    token: str = Field(default="", repr=False)
    # 0: on the web server (needs the token). Else a server of its own on host:port.
    port: int = Field(default=0, ge=0, le=65535)
    host: str = "127.0.0.1"

    @property
    def enabled(self) -> bool:
        return bool(self.token) or self.port > 0


class PrivacySettings(Section):
    """`[privacy]`: the data key that seals reporters' details at rest (storage/sealing.py).
    Without it the database and the media store cannot be read: keep it apart from their
    backups (an environment variable or a file only the service reads)."""

    # `<id>:<key>`, as `sigap keys new` prints it. Env: SIGAP_DATA_KEY.
    data_key: str = Field(default="", repr=False)
    # The keys data_key replaced: still read until `sigap keys rotate` has resealed everything.
    # Env: SIGAP_OLD_DATA_KEYS, separated by commas.
    old_data_keys: list[str] = Field(default_factory=list, repr=False)
    # Read when data_key is unset (relative to the config file); `sigap chat` makes it on a
    # fresh machine.
    key_file: Path = Path("sigap.key")

    @field_validator("old_data_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return (
            [part for part in value.split(",") if part.strip()] if isinstance(value, str) else value
        )

    @field_validator("data_key")
    @classmethod
    def _data_key(cls, value: str) -> str:
        if value:
            parsed(value)
        return value

    @field_validator("old_data_keys")
    @classmethod
    def _old_data_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            parsed(key)
        return value

    def keys(self) -> Keyring | None:
        """The keyring to seal with, or None when no key is configured."""
        text = self.data_key
        if not text and self.key_file.is_file():
            text = self.key_file.read_text(encoding="utf-8").strip()
        if not text:
            return None
        old = tuple(DataKey.parse(key) for key in self.old_data_keys)
        return Keyring(DataKey.parse(text), old)

    def keyring(self) -> Keyring:
        """The keyring to seal with; KeyProblem, saying how to make a key, when none is."""
        keys = self.keys()
        if keys is None:
            raise KeyProblem(
                "no data key: set SIGAP_DATA_KEY or [privacy] data_key (`sigap keys new` makes one)"
            )
        return keys


def parsed(key: str) -> DataKey:
    try:
        return DataKey.parse(key)
    except KeyProblem as problem:
        raise ValueError(str(problem)) from None


class TelegramSettings(Section):
    """`[telegram]`"""

    token: str = Field(default="", repr=False)
    base_url: str = Field(default="https://api.telegram.org/bot", pattern=r"^https?://")
    # Where files are downloaded from; derived from base_url when empty.
    base_file_url: str = Field(default="", pattern=r"^(https?://.*)?$")
    mode: Literal["polling", "webhook"] = "polling"
    webhook_path: str = Field(default="/telegram/webhook", pattern=r"^/[\w\-/]*$")
    secret_token: str = Field(default="", pattern=r"^[A-Za-z0-9_\-]{0,256}$", repr=False)
    # Sending limits (Telegram's): overall, per private chat, per group.
    messages_per_second: float = Field(default=30, gt=0, le=1000)
    chat_messages_per_second: float = Field(default=1, gt=0, le=30)
    group_messages_per_minute: float = Field(default=20, gt=0, le=60)

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def file_url(self) -> str:
        """python-telegram-bot's base_file_url: `.../bot` -> `.../file/bot`."""
        if self.base_file_url:
            return self.base_file_url
        head, sep, tail = self.base_url.rpartition("/bot")
        return f"{head}/file/bot{tail}" if sep else self.base_url


TEMPLATE_KINDS = [kind for kind in MessageKind if kind is not MessageKind.REPLY]


class WhatsAppSettings(Section):
    """`[whatsapp]`: WhatsApp through Twilio."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    account_sid: str = Field(default="", pattern=r"^(AC[0-9a-fA-F]{32})?$")
    auth_token: str = Field(default="", repr=False)
    sender: str = Field(default="", alias="from", pattern=r"^(whatsapp:\+[1-9][0-9]{6,14})?$")
    # The base URL Twilio calls (the reverse proxy's); signatures are checked against it.
    # Empty: server.public_url.
    public_url: str = Field(default="", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")
    api_base_url: str = Field(default="https://api.twilio.com", pattern=r"^https?://[^\s]+$")
    max_messages_per_second: float = Field(default=80, gt=0, le=1000)
    # Approved templates (Content SIDs) for messages sent outside the 24-hour window.
    templates: dict[MessageKind, str] = Field(default_factory=dict)

    @field_validator("templates")
    @classmethod
    def _content_sids(cls, templates: dict[MessageKind, str]) -> dict[MessageKind, str]:
        for kind, sid in templates.items():
            if kind is MessageKind.REPLY:
                raise ValueError("no template for replies: they are always inside the window")
            if not re.fullmatch(r"HX[0-9a-fA-F]{32}", sid):
                raise ValueError(f"a Content SID (HX and 32 hex digits) for {kind}, not {sid!r}")
        return templates

    @property
    def enabled(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.sender)


class SmtpSettings(Section):
    """`[smtp]`: the mail server that carries case files to agencies reached by email."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    username: str = ""
    password: str = Field(default="", repr=False)
    sender: str = Field(default="", alias="from", pattern=r"^([^@\s]+@[^@\s]+)?$")
    starttls: bool = True
    timeout_seconds: float = Field(default=30, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.sender)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    storage: StorageSettings = Field(default_factory=StorageSettings)
    bot: BotSettings = Field(default_factory=BotSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    whatsapp: WhatsAppSettings = Field(default_factory=WhatsAppSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    referral: ReferralSettings = Field(default_factory=ReferralSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    casework: CaseworkSettings = Field(default_factory=CaseworkSettings)
    cek: CekSettings = Field(default_factory=CekSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    # `[texts.<language>]`: the deployment's own wording, msgid -> text.
    texts: dict[str, dict[str, str]] = Field(default_factory=dict)

    @property
    def secrets(self) -> list[str]:
        """The configured tokens, passwords and secrets (never to be logged), the database's
        password among them."""
        found: list[str] = []
        for section, key in ENVIRONMENT.values():
            if any(word in key for word in SECRET_WORDS):
                value = getattr(getattr(self, section), key)
                found.extend(value if isinstance(value, list) else [str(value)])
        keys = [self.privacy.data_key, *self.privacy.old_data_keys]
        found += [key.partition(":")[2] for key in keys if key]  # the key without its id
        return [*found, urlsplit(self.storage.url).password or ""]

    @property
    def dashboard_url(self) -> str:
        """The dashboard's address, or "" when it is off."""
        on = self.dashboard.enabled
        if on is None:
            on = bool(self.server.public_url)
        if not on or not self.server.public_url:
            return ""
        return self.server.public_url.rstrip("/") + "/dasbor"

    @model_validator(mode="after")
    def _dashboard_needs_an_address(self) -> Settings:
        if self.dashboard.enabled and not self.server.public_url:
            raise ValueError("dashboard.enabled needs server.public_url (its login links)")
        return self

    @model_validator(mode="after")
    def _known_texts(self) -> Settings:
        problems = override_problems(self.texts)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _agencies_reachable(self) -> Settings:
        areas = {text for area in self.intake.areas for text in area.texts()}
        for agency in self.referral.agencies:
            unknown = [a for a in agency.areas if a not in areas]
            if unknown:
                raise ValueError(
                    f"referral.agencies: {agency.name!r} covers {unknown[0]!r}, which is not "
                    "one of intake.areas"
                )
            smtp, telegram, whatsapp = self.smtp, self.telegram, self.whatsapp
            needs = [
                (bool(agency.email) and not smtp.enabled, "email", "smtp.host and smtp.from"),
                (bool(agency.telegram_chat) and not telegram.enabled, "Telegram", "[telegram]"),
                (bool(agency.whatsapp) and not whatsapp.enabled, "WhatsApp", "[whatsapp]"),
            ]
            for missing, how, section in needs:
                if missing:
                    raise ValueError(
                        f"referral.agencies: {agency.name!r} is reached by {how}, which needs "
                        f"{section}"
                    )
        return self

    @model_validator(mode="after")
    def _webhook_needs_an_address(self) -> Settings:
        whatsapp = self.whatsapp
        if (whatsapp.account_sid or whatsapp.auth_token or whatsapp.sender) and not (
            whatsapp.enabled
        ):
            raise ValueError("whatsapp needs account_sid, auth_token and from, all three")
        if whatsapp.enabled and not (whatsapp.public_url or self.server.public_url):
            raise ValueError(
                "whatsapp needs whatsapp.public_url or server.public_url: Twilio's signatures "
                "are checked against the address Twilio calls"
            )
        telegram = self.telegram
        if telegram.enabled and telegram.mode == "webhook":
            if not self.server.public_url:
                raise ValueError("telegram.mode = 'webhook' needs server.public_url")
            if not telegram.secret_token:
                raise ValueError(
                    "telegram.mode = 'webhook' needs telegram.secret_token "
                    "(or SIGAP_TELEGRAM_SECRET_TOKEN)"
                )
        return self


class ConfigError(Exception):
    """A config that cannot be used; the message says which key and what was expected."""


def load(
    path: Path | None = None, environ: dict[str, str] | None = None, *, indicators: bool = True
) -> Settings:
    """The settings from `path` (default ./config.toml when present, else the defaults),
    with the environment's SIGAP_* variables on top; and the risk indicators checked, unless
    `indicators` is False (a command that scores nothing, such as listing the reports)."""
    environ = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    source = path if path is not None else (DEFAULT_PATH if DEFAULT_PATH.exists() else None)
    if source is not None:
        try:
            with source.open("rb") as f:
                raw = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such config file") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{source}: not valid TOML: {error}") from None
        beside(source.resolve().parent, raw)
    for variable, (section, key) in ENVIRONMENT.items():
        if environ.get(variable):
            raw.setdefault(section, {})[key] = environ[variable]
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(describe(error, source)) from None
    if indicators:
        check_indicators()
    return settings


def check_indicators() -> None:
    """The risk indicators a coordinator may have edited: checked at start, not at an alert."""
    from handlers import risk

    try:
        risk.indicators()
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{risk.INDICATORS}: not valid TOML: {error}") from None
    except ValidationError as error:
        raise ConfigError(describe(error, risk.INDICATORS)) from None


def beside(folder: Path, raw: dict[str, Any]) -> None:
    """A relative SQLite file or media folder in a config file is in the file's folder, so
    `sigap --config /etc/sigap/config.toml ...` finds the same database from anywhere (an
    environment variable's stays relative to the working directory, as a shell's would)."""
    privacy = raw.setdefault("privacy", {})
    if isinstance(privacy, dict) and not Path(privacy.get("key_file", "sigap.key")).is_absolute():
        privacy["key_file"] = str(folder / privacy.get("key_file", "sigap.key"))
    storage = raw.get("storage")
    if not isinstance(storage, dict):
        return
    url = storage.get("url")
    if isinstance(url, str):
        with contextlib.suppress(ArgumentError):
            parsed = make_url(url)
            name = parsed.database or ""
            in_file = name not in ("", ":memory:") and not Path(name).is_absolute()
            if parsed.get_backend_name() == "sqlite" and in_file:
                located = parsed.set(database=str(folder / name))
                storage["url"] = located.render_as_string(hide_password=False)
    media = storage.get("media_dir")
    if isinstance(media, str) and not Path(media).is_absolute():
        storage["media_dir"] = str(folder / media)


def describe(error: ValidationError, source: Path | None) -> str:
    """One message listing each bad key as `section.key` with what was expected."""
    where = f"{source}: " if source else ""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown key")
        elif not key:
            problems.append(message)
        elif any(secret in key for secret in SECRET_WORDS):
            problems.append(f"{key}: {message}")  # never echo a secret
        else:
            problems.append(f"{key}: {message} (got {item.get('input')!r})")
    return where + "invalid configuration: " + "; ".join(problems)
