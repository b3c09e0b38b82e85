"""Brings a database to the current schema with the Alembic migrations in storage/migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Raises storage.db.Unreachable, saying why in one line, when the database cannot be
    opened."""
    await _migrate(db, lambda config: command.upgrade(config, revision))


async def downgrade(db: Database, revision: str) -> None:
    await _migrate(db, lambda config: command.downgrade(config, revision))


async def _migrate(db: Database, step: Callable[[Config], None]) -> None:
    await db.check()
    async with db.engine.connect() as conn:
        # SQLite alters a table by copying it: its foreign keys are off meanwhile, as SQLite's
        # own procedure has it (a PRAGMA that only takes effect outside a transaction).
        await _foreign_keys(conn, db, on=False)
        try:
            async with conn.begin():
                await conn.run_sync(lambda connection: step(alembic_config(connection)))
        finally:
            await _foreign_keys(conn, db, on=True)


async def revisions(db: Database) -> tuple[str | None, str]:
    """The database's migration (None: never migrated) and the newest the code has. Raises
    storage.db.Unreachable as `upgrade` does."""

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
