"""Brings a database to the current schema with the Alembic migrations in storage/migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
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
