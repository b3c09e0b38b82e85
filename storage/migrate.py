"""Brings a database to the current schema with the Alembic migrations in storage/migrations.

Alembic loads only when there is a migration to run: a database already at the newest one is
recognised with one query, and every command starts about 0.15 s sooner (Alembic brings Mako
and Pygments with it)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import AsyncConnection

    from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# `revision = "0020"` and `down_revision = "0019"` at the start of a line of a migration.
REVISION_LINE = re.compile(r"""^(down_)?revision(?:: [^=]+)? = ["']([^"']+)["']""", re.MULTILINE)


def alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Raises storage.settings.Unreachable, saying why in one line, when the database cannot be
    opened."""
    await db.check()
    if revision == "head" and await applied(db) == [newest()]:
        return  # nothing to run: Alembic is not even loaded

    def step(config: Config) -> None:
        from alembic import command

        command.upgrade(config, revision)

    await _migrate(db, step)


async def downgrade(db: Database, revision: str) -> None:
    def step(config: Config) -> None:
        from alembic import command

        command.downgrade(config, revision)

    await db.check()
    await _migrate(db, step)


async def _migrate(db: Database, step: Callable[[Config], None]) -> None:
    async with db.engine.connect() as conn:
        # SQLite alters a table by copying it: its foreign keys are off meanwhile, as SQLite's
        # own procedure has it (a PRAGMA that only takes effect outside a transaction).
        await _foreign_keys(conn, db, on=False)
        try:
            async with conn.begin():
                await conn.run_sync(lambda connection: step(alembic_config(connection)))
        finally:
            await _foreign_keys(conn, db, on=True)


async def applied(db: Database) -> list[str]:
    """The migrations the database is at, as Alembic records them in `alembic_version`: one,
    or none when it was never migrated."""
    async with db.engine.connect() as conn:
        return await conn.run_sync(versions)


def versions(connection: Connection) -> list[str]:
    """`applied`, on a connection without an event loop (`sigap reports list`)."""
    if not inspect(connection).has_table("alembic_version"):
        return []
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


@functools.cache
def newest() -> str | None:
    """The newest migration, read from the files without Alembic: the one that no other
    revises. None when that is not exactly one (a merge, a line this does not read): Alembic
    then decides, as it always may."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, name in REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (revised if down else revisions).add(name)
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


async def revisions(db: Database) -> tuple[str | None, str]:
    """The database's migration (None: never migrated) and the newest the code has, as
    Alembic finds them. Raises storage.settings.Unreachable as `upgrade` does."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    await db.check()
    async with db.engine.connect() as conn:
        found = await conn.run_sync(current)
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return found, head


async def _foreign_keys(conn: AsyncConnection, db: Database, *, on: bool) -> None:
    if db.is_sqlite:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
