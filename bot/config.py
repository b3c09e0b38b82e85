"""The settings: one typed object from the TOML config file and SIGAP_* environment variables,
validated at start so a mistake stops Sigap with a message that names the key."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers.settings import BotSettings, IntakeSettings
from storage.db import StorageSettings

DEFAULT_PATH = Path("config.toml")

# Environment variables that override a key (secrets belong there rather than in the file).
ENVIRONMENT = {
    "SIGAP_STORAGE_URL": ("storage", "url"),
    "SIGAP_MEDIA_DIR": ("storage", "media_dir"),
}


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    storage: StorageSettings = Field(default_factory=StorageSettings)
    bot: BotSettings = Field(default_factory=BotSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)


class ConfigError(Exception):
    """A config that cannot be used; the message says which key and what was expected."""


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """The settings from `path` (default ./config.toml when present, else the defaults),
    with the environment's SIGAP_* variables on top."""
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
    for variable, (section, key) in ENVIRONMENT.items():
        if environ.get(variable):
            raw.setdefault(section, {})[key] = environ[variable]
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(describe(error, source)) from None


def describe(error: ValidationError, source: Path | None) -> str:
    """One message listing each bad key as `section.key` with what was expected."""
    where = f"{source}: " if source else ""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown key")
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{key}: {message} (got {item.get('input')!r})")
    return where + "invalid configuration: " + "; ".join(problems)
