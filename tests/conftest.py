"""Fixtures: every storage test runs on SQLite and on the PostgreSQL server at 127.0.0.1:5432
(which must be running: a test that cannot reach it fails, it never skips); the fake Telegram
and Twilio servers; the task force. What they are made of is in tests/support."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from bot.app import App, build
from bot.config import Settings
from storage import sealing
from storage.db import Database
from storage.migrate import upgrade
from storage.resealing import unlock
from storage.settings import StorageSettings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.support import keys
from tests.support.chat import Chat
from tests.support.clock import Clock
from tests.support.database import PG_ADMIN_URL, pg_url, truncate
from tests.support.keys import KEYED
from tests.support.task_force import TaskForce

PG_TEST_DB = f"sigap_test_{os.getpid()}"
keys.install()  # every value sealed with the tests' data key

# Property-based tests (hypothesis) run the same examples on every run and on every machine
# (derandomize), keep no example database in the work tree, and take no deadline per example
# (the machine is shared); an example uses a new chat on the test's database, not a fixture
# of its own (hence the health check that warns of function-scoped fixtures is off).
settings.register_profile(
    "sigap",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("sigap")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "sigap.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({error}). Start it with: "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{PG_TEST_DB}"')
    url = pg_url(PG_TEST_DB)
    asyncio.run(_migrate(url))
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)')


async def _migrate(url: str) -> None:
    """Migrated, with the tests' index key in it: a test's own `sigap` processes read it."""
    db = Database(url)
    try:
        await upgrade(db)
        await unlock(db, sealing.keyring(), None)
    finally:
        await db.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "sigap.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    truncate(url)
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        privacy=KEYED, storage=StorageSettings(url=database_url, media_dir=tmp_path / "media")
    )


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[App]:
    built = await build(settings, clock=clock)
    yield built
    await built.close()


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Telegram Bot API server."""
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    """The fake Twilio REST API server."""
    async with FakeTwilio() as server:
        yield server


@pytest.fixture
async def force(app: App, fake: FakeTelegram, clock: Clock) -> AsyncIterator[TaskForce]:
    """The task force on Telegram, with no member yet."""
    team = TaskForce(app, fake, clock)
    await team.channel.bot.initialize()
    yield team
    await team.channel.bot.shutdown()
