"""The PostgreSQL server the storage tests run on (127.0.0.1:5432 unless SIGAP_TEST_PG says
otherwise), and emptying a database between tests."""

from __future__ import annotations

import os

import psycopg

from tests.support import keys

PG_ADMIN_URL = os.environ.get("SIGAP_TEST_PG", "postgresql://127.0.0.1:5432/test")


def pg_url(database: str) -> str:
    """The URL of another database on the test server."""
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


def truncate(url: str) -> None:
    """Empties every table of the PostgreSQL database but Alembic's, and puts back the seals
    every test database starts with: the tests' index key, everything under the tests' key."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            conn.execute(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
            )
        if "sealing" in tables:
            conn.cursor().executemany(
                "INSERT INTO sealing (name, value) VALUES (%s, %s)", keys.seals()
            )
