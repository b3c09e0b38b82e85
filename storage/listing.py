"""The newest reports as `sigap reports list` shows them, and the quick way to read them:
SQLAlchemy Core on a plain connection, without the models, the ORM or an event loop. Loading
storage/models.py alone takes longer than the whole command may (issue #17: under 0.5 s)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Row,
    Select,
    String,
    Table,
    Text,
    create_engine,
    select,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import FromClause

from storage import sealing
from storage.migrate import newest, versions
from storage.sealing import INDEX, SEALED_UNDER, Keyring
from storage.settings import Unreachable, check_folder, sync_url
from storage.values import OfferKind, Priority, ReportState, StrEnumType, UTCDateTime

# What the list reads of the tables of storage.models' Report and Sealing, and no more
# (tests/test_cli.py checks that these columns are the models', of the same types).
_tables = MetaData()
REPORT = Table(
    "report",
    _tables,
    Column("id", Integer, primary_key=True),
    Column("reference", String),
    Column("created_at", UTCDateTime()),
    Column("priority", StrEnumType(Priority)),
    Column("offer_kind", StrEnumType(OfferKind)),
    Column("area", String),
    Column("state", StrEnumType(ReportState)),
)
SEALING = Table("sealing", _tables, Column("name", String, primary_key=True), Column("value", Text))

Query = TypeVar("Query", bound=Select[Any])


def newest_first(query: Query, report: FromClause, limit: int | None = None) -> Query:
    """`query` of the reports in `report` (REPORT here, the model's table for the export), the
    newest first (the later one first when two came in the same instant); only the first
    `limit` when given."""
    query = query.order_by(report.c.created_at.desc(), report.c.id.desc())
    return query if limit is None else query.limit(limit)


def newest_reports(limit: int | None) -> Select[Any]:
    """What `sigap reports list` shows of the newest reports."""
    return newest_first(select(REPORT), REPORT, limit)


def read_if_ready(url: str, keys: Keyring, limit: int | None) -> list[Row[Any]] | None:
    """The newest reports (REPORT's columns), once the data key has opened the database's seals
    as every start opens them (storage.resealing.unlock: the keyring installed, KeyProblem when
    the key fails); None when the database needs that full start first: not at the newest
    migration, or not wholly sealed under the current key (never opened, or a rotation under
    way), which the full start migrates, seals or warns of."""
    check_folder(url)
    engine = create_engine(sync_url(url), poolclass=NullPool, hide_parameters=True)
    try:
        connection = engine.connect()
    except DBAPIError as error:
        raise Unreachable.on_connecting(url, error) from None
    with connection:
        if versions(connection) != [newest()]:
            return None
        rows = connection.execute(select(SEALING).where(SEALING.c.name.in_([INDEX, SEALED_UNDER])))
        seals = {name: value for name, value in rows}
        if INDEX not in seals or seals.get(SEALED_UNDER) != keys.current.id:
            return None
        sealing.install(keys.with_index(keys.open_index(seals[INDEX])))
        return list(connection.execute(newest_reports(limit)))
