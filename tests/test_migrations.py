"""The migrations create exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import Database
from storage.migrate import upgrade


async def test_the_migrations_and_the_models_agree(database_url: str) -> None:
    db = Database(database_url)
    await upgrade(db)  # already at head: a no-op that must not fail

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(differences)
    await db.close()
    assert diff == []


async def test_upgrade_builds_an_empty_sqlite_database(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    await upgrade(db)
    assert await db.ping()
    await db.close()
