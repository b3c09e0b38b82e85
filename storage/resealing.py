"""Opening a database's seals at start, and resealing: the first time after the upgrade that
began sealing (values written in clear before), and after a new data key (`sigap keys rotate`).

Resealing goes table by table in batches of rows, each batch its own short transaction that
locks its rows, so the service keeps running beside it; a batch reseals only values not under
the current key, so a run cut short is simply run again. When every table and every file is
done, the `sealing` table records the current key's id: the older keys may then be removed."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from sqlalchemy import Table, Text, bindparam, func, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from storage import sealing
from storage.db import Database
from storage.media import write_file
from storage.models import Sealing
from storage.sealing import (
    FILE_MAGIC,
    INDEX,
    MATCHED,
    SEALED,
    SEALED_UNDER,
    KeyProblem,
    Keyring,
    file_key,
)

log = logging.getLogger(__name__)

BATCH = 500
SEALED_TYPES = (sealing.Sealed, sealing.SealedFloat, sealing.SealedJSON)


@dataclass
class Resealed:
    """What a resealing run changed: rows by table, and files."""

    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0

    def __str__(self) -> str:
        parts = [f"{table} {count}" for table, count in self.rows.items() if count]
        if self.files:
            parts.append(f"files {self.files}")
        return ", ".join(parts) or "nothing"


def sealed_columns() -> dict[str, tuple[list[str], list[str]]]:
    """Every table with sealed columns: (its sealed columns, its matched columns)."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        plain = [c.name for c in table.columns if isinstance(c.type, SEALED_TYPES)]
        matched = [c.name for c in table.columns if isinstance(c.type, sealing.Matched)]
        if plain or matched:
            found[table.name] = (plain, matched)
    return found


async def unlock(db: Database, keys: Keyring, media: Path | None) -> Keyring:
    """Installs the keyring with this database's index key (made on first use) and returns it.
    A database never sealed before (the upgrade) is sealed here, before anything reads it; one
    still partly under an older key says so, and needs that key."""
    async with db.read() as session:  # a write only the first time: every command opens it
        under = await session.get(Sealing, SEALED_UNDER)
        row = await session.get(Sealing, INDEX)
    if under is not None and under.value not in keys.keys:
        raise KeyProblem(
            f"the database is sealed with data key {under.value}, which is not "
            "configured: give it as [privacy] data_key (or in old_data_keys "
            "until `sigap keys rotate` has finished)"
        )
    index = keys.open_index(row.value) if row is not None else await _new_index(db, keys)
    ready = keys.with_index(index)
    sealing.install(ready)
    if under is None:
        log.info("sealing what was stored before encryption at rest began")
        await reseal(db, media)
    elif under.value != keys.current.id:
        log.warning(
            "some values are still sealed with data key %s: run `sigap keys rotate`", under.value
        )
    return ready


async def _new_index(db: Database, keys: Keyring) -> bytes:
    """Stores a new index key, or reads the one another process stored first."""
    index = sealing.installed_index() or AESSIV.generate_key(bit_length=512)
    try:
        async with db.write() as session:
            found = await session.get(Sealing, INDEX)
            if found is not None:
                return keys.open_index(found.value)
            session.add(Sealing(name=INDEX, value=keys.seal_index(index)))
    except IntegrityError:  # PostgreSQL: another process inserted it meanwhile
        async with db.read() as session:
            found = await session.get(Sealing, INDEX)
        assert found is not None
        return keys.open_index(found.value)
    return index


async def pending(db: Database) -> str | None:
    """The key the database was last wholly sealed under, when that is not the current key."""
    async with db.read() as session:
        under = await session.get(Sealing, SEALED_UNDER)
    current = sealing.keyring().current.id
    return None if under is None or under.value == current else under.value


async def reseal(
    db: Database, media: Path | None, progress: Callable[[str, int], None] | None = None
) -> Resealed:
    """Seals every value in clear and reseals every value under an older key, then the files of
    the media store; records the current key when all is done."""
    keys = sealing.keyring()
    done = Resealed()
    async with db.write() as session:  # the index key first: it is read at every start
        row = await session.get(Sealing, INDEX)
        if row is not None and keys.key_of(row.value) != keys.current.id:
            row.value = keys.seal(keys.open(row.value))
            session.add(row)
    for name, (plain, matched) in sealed_columns().items():
        table = SQLModel.metadata.tables[name]
        done.rows[name] = await _reseal_table(db, table, plain, matched, keys, progress)
    if media is not None:
        done.files = await asyncio.to_thread(_reseal_files, media, keys)
    async with db.write() as session:
        marker = await session.get(Sealing, SEALED_UNDER) or Sealing(name=SEALED_UNDER, value="")
        marker.value = keys.current.id
        session.add(marker)
    return done


async def _reseal_table(
    db: Database,
    table: Table,
    plain: list[str],
    matched: list[str],
    keys: Keyring,
    progress: Callable[[str, int], None] | None,
) -> int:
    current = f"{SEALED}{keys.current.id}~"
    raw = {name: type_coerce(table.c[name], Text) for name in (*plain, *matched)}
    stale = or_(
        *(func.substr(raw[n], 1, len(current)) != current for n in plain),
        *(func.substr(raw[n], 1, len(MATCHED)) != MATCHED for n in matched),
    )
    key = table.c.id
    change = (
        update(table)
        .where(key == bindparam("_id"))
        .values({n: bindparam(n, type_=Text) for n in (*plain, *matched)})
    )
    last, count = 0, 0
    while True:
        async with db.write() as session:
            conn = await session.connection()
            query = select(key, *raw.values()).where(key > last, stale).order_by(key).limit(BATCH)
            if not db.is_sqlite:
                query = query.with_for_update()
            rows = (await conn.execute(query)).all()
            if not rows:
                return count
            changes: list[dict[str, Any]] = []
            for row in rows:
                values = dict(zip(raw, row[1:], strict=True))
                for n in plain:
                    value = values[n]
                    if value is not None and not value.startswith(current):
                        values[n] = keys.seal(
                            keys.open(value) if value.startswith(SEALED) else value
                        )
                for n in matched:
                    value = values[n]
                    if value is not None and not value.startswith(MATCHED):
                        values[n] = keys.match(value)
                changes.append({"_id": row[0], **values})
            await conn.execute(change, changes)
            last = rows[-1][0]
            count += len(rows)
        if progress is not None:
            progress(table.name, count)


def _reseal_files(root: Path, keys: Keyring) -> int:
    count = 0
    if not root.is_dir():
        return 0
    for folder, _, names in os.walk(root):
        for name in names:
            if name.startswith("."):
                continue
            path = Path(folder) / name
            blob = path.read_bytes()
            if blob.startswith(FILE_MAGIC) and file_key(blob)[0] == keys.current.id:
                continue
            write_file(path, keys.seal_bytes(keys.open_bytes(blob)), replace=True)
            count += 1
    return count


def _opened(keys: Keyring, value: str) -> str:
    """A stored value's text: opened when sealed, as it is when in clear."""
    return keys.open(value) if value.startswith(SEALED) else value
