"""Brings a database to the current schema with the Alembic migrations in storage/migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

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

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    await db.check()
    async with db.engine.begin() as conn:
        await conn.run_sync(run)


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
