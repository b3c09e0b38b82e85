"""The database: one async engine, with read and write transactions that behave alike on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pydantic_core import PydanticUndefined
from sqlalchemy import and_, event, or_, update
from sqlalchemy import insert as insert_statement
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.settings import Unreachable, async_url, check_folder

M = TypeVar("M", bound=SQLModel)


class Writers:
    """SQLite's one writer at a time, as a queue in this process: in arrival order, except that
    a writer that must not wait behind the others (`first`) goes before those waiting."""

    def __init__(self) -> None:
        self._busy = False
        self._waiting: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def turn(self, *, first: bool = False) -> AsyncIterator[None]:
        if self._busy:
            waiting = asyncio.get_running_loop().create_future()
            if first:
                self._waiting.appendleft(waiting)
            else:
                self._waiting.append(waiting)
            try:
                await waiting
            except asyncio.CancelledError:
                if waiting in self._waiting:
                    self._waiting.remove(waiting)
                elif not waiting.cancelled():
                    self._next()  # handed the turn just as it was cancelled: pass it on
                raise
        self._busy = True
        try:
            yield
        finally:
            self._next()

    def _next(self) -> None:
        while self._waiting:
            waiting = self._waiting.popleft()
            if not waiting.done():
                waiting.set_result(None)  # the turn passes on; still busy
                return
        self._busy = False


class Database:
    """Hands out sessions. `write()` takes the write lock up front on SQLite (BEGIN IMMEDIATE),
    so a transaction that reads and then writes never fails with "database is locked"; on
    PostgreSQL the queries lock what they change with SELECT ... FOR UPDATE."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        # An error's message never quotes the values of its query (a story, a number): it
        # may end up in a log.
        options: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            options["connect_args"] = {"timeout": 30}
        else:
            options["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        # SQLite takes one writer at a time. Writers of this process queue here instead of
        # polling SQLite's lock (its busy handler sleeps up to 100 ms a try); busy_timeout
        # still covers writers in other processes. PostgreSQL takes them all at once.
        self._writers = Writers() if self.is_sqlite else None
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    @asynccontextmanager
    async def write(self, *, first: bool = False) -> AsyncIterator[AsyncSession]:
        """One transaction, committed when the block ends and rolled back if it raises.
        `first`: on SQLite, before the writers waiting (what must be recorded quickly: that a
        message went out, that this process lives)."""
        engine = (
            self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        )
        turn = self._writers.turn(first=first) if self._writers else contextlib.nullcontext()
        async with (
            turn,
            AsyncSession(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    async def check(self) -> None:
        """Opens one connection, or raises Unreachable saying why not in a few words."""
        check_folder(self.url)
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
        except DBAPIError as error:
            raise Unreachable.on_connecting(self.url, error) from None

    async def ping(self) -> bool:
        from sqlalchemy import text

        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT, in the session's dialect (each dialect is loaded by
    its own engine: a command on SQLite never loads PostgreSQL's)."""
    return dialect_insert(dialect(session), table)


def dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def dialect_insert(name: str, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT, in the dialect `name`."""
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


async def insert_many(
    session: AsyncSession, model: type[SQLModel], rows: Sequence[dict[str, Any]]
) -> None:
    """Inserts rows of one table (their column values; the model's defaults fill the rest) in
    one executemany, without reading their ids back. Added to the session as models, the rows
    would be flushed one INSERT ... RETURNING at a time on SQLite (the ORM reads each id),
    and making each model costs more than the insert."""
    if rows:
        defaults = _defaults(model)
        table = model.__table__  # type: ignore[attr-defined]
        await session.exec(insert_statement(table), params=[{**defaults, **row} for row in rows])


async def insert_many_returning(
    session: AsyncSession, model: type[M], rows: Sequence[dict[str, Any]]
) -> list[M]:
    """`insert_many`, reading the rows back as models (INSERT ... RETURNING, many rows a
    statement on both databases; in no particular order). Made by the ORM's loading, which
    costs a fraction of the model's constructor."""
    if not rows:
        return []
    defaults = _defaults(model)
    statement = insert_statement(model).returning(model)
    result = await session.exec(statement, params=[{**defaults, **row} for row in rows])
    return list(result.scalars().all())


@functools.cache
def _defaults(model: type[SQLModel]) -> dict[str, Any]:
    """The model's default values, but its id's. A default made by a factory (an empty list)
    is made once: it is only ever read, to be written out."""
    found = {}
    for name, field in model.model_fields.items():
        if field.default_factory is not None:
            found[name] = field.default_factory()  # type: ignore[call-arg]
        elif field.default is not PydanticUndefined and name != "id":
            found[name] = field.default
    return found


async def claim(
    session: AsyncSession,
    model: Any,
    conditions: Sequence[Any],
    values: dict[str, Any],
    *,
    order_by: Sequence[Any] = (),
    limit: int | None = None,
    also: Sequence[Any] = (),
    key: Callable[[Any], Any] | None = None,
    params: dict[str, Any] | None = None,
) -> list[Any]:
    """Rows meeting the conditions, updated with `values` in this transaction, each taken by
    one claimant only: another process skips the rows this one holds (PostgreSQL's FOR UPDATE
    SKIP LOCKED; SQLite has one writer at a time), and the update re-checks the conditions
    (compare-and-set), so a row is never taken twice. The rows come back updated.
    `also`: rows meeting these conditions instead are taken too, found by a query of their
    own (one query with an OR could follow no index) and merged in `key` order (that of
    `order_by`): the first `limit` of both (on PostgreSQL, those left over stay locked until
    the transaction ends: skipped meanwhile by the others, as if this claimant held them).
    `params`: the values of the conditions' bound parameters."""
    alternatives = [conditions, also] if also else [conditions]
    found: list[Any] = []
    for where in alternatives:
        query = select(model).where(*where).order_by(*order_by).with_for_update(skip_locked=True)
        if limit is not None:
            query = query.limit(limit)
        found += (await session.exec(query, params=params)).all()
    if also:
        assert key is not None, "rows found by two queries are merged in `key` order"
        found = sorted(found, key=key)[:limit]
    if not found:
        return []
    ids = [row.id for row in found]
    either = or_(*(and_(*where) for where in alternatives))
    claimed = await session.exec(
        update(model).where(model.id.in_(ids), either).values(**values).returning(model.id),
        params=params,
    )
    taken = set(claimed.scalars().all())
    return [row for row in found if row.id in taken]
