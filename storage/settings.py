"""`[storage]` in the config file: the database's URL and the media folder, and what is said
when that database cannot be opened. Apart from storage/db.py (SQLModel's sessions, the ORM)
so that reading the config and `sigap reports list` load neither (issue #17)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

DEFAULT_URL = "sqlite+aiosqlite:///sigap.db"


class StorageSettings(BaseModel):
    """`[storage]` in the config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = DEFAULT_URL
    media_dir: Path = Path("media")

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        return async_url(url)


def async_url(url: str) -> str:
    """Accepts the plain `sqlite:///` and `postgresql://` spellings and names the async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"a sqlite:/// or postgresql+psycopg:// URL, not {backend!r}")


def sync_url(url: str) -> str:
    """The same database through a driver that needs no event loop: Python's sqlite3, and
    psycopg's plain connections."""
    parsed = make_url(url)
    driver = "sqlite+pysqlite" if parsed.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


class Unreachable(Exception):
    """The database cannot be opened: the message names it (without its password) and why."""

    def __init__(self, url: str, why: str) -> None:
        shown = make_url(url).render_as_string(hide_password=True)
        super().__init__(f"cannot open the database {shown}: {why}")

    @classmethod
    def on_connecting(cls, url: str, error: DBAPIError) -> Unreachable:
        """Why the driver could not connect, in its first words."""
        # psycopg: 'connection failed: connection to server at "host", port 5432 failed:
        # FATAL:  database "x" does not exist', then hints on further lines.
        lines = str(error.orig).strip().splitlines() or [type(error.orig).__name__]
        why = lines[0].rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
        if why.lower() == "connection refused":
            why = "connection refused (is the server running?)"
        return cls(url, why)


def check_folder(url: str) -> None:
    """Raises Unreachable when the folder of a SQLite database does not exist. Said before
    trying: aiosqlite's thread would answer a failed connect after the event loop has gone (a
    traceback on the way out), and SQLite's own words do not say which folder."""
    parsed = make_url(url)
    folder = Path(parsed.database or ".").parent
    if parsed.get_backend_name() == "sqlite" and not folder.is_dir():
        raise Unreachable(url, f"the folder {folder} does not exist")
