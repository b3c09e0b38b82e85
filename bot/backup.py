"""`sigap backup FILE` and `sigap restore FILE`: the whole deployment's data in one .tar.gz,
a manifest, the database and the media folder (evidence, broadcast images).

- SQLite: a consistent snapshot by SQLite's online backup, safe while `sigap run` writes.
- PostgreSQL: `pg_dump` (one transaction: consistent while the service runs), restored with
  `psql` into an empty database of the same or a newer PostgreSQL.

A restore goes onto an empty deployment only (no table in the database, nothing in the media
folder), with the service stopped; it never merges into or overwrites live data. The backup
holds every reporter's identity and words: keep it as safe as the database."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from bot.config import Settings
from handlers.usecases import Refused
from storage.db import Database
from storage.migrate import revisions

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite"
SQL_FILE = "database.sql"
MEDIA = "media"


def kind_of(url: URL) -> str:
    return "sqlite" if url.get_backend_name() == "sqlite" else "postgresql"


async def backup(settings: Settings, target: Path) -> str:
    url = make_url(settings.storage.url)
    db = Database(settings.storage.url)
    try:
        current, _ = await revisions(db)
    finally:
        await db.close()
    with tempfile.TemporaryDirectory(prefix="sigap-backup-") as work:
        folder = Path(work)
        if kind_of(url) == "sqlite":
            await asyncio.to_thread(snapshot_sqlite, Path(url.database or ""), folder / SQLITE_FILE)
            data = SQLITE_FILE
        else:
            await asyncio.to_thread(
                run,
                [
                    "pg_dump",
                    *pg_args(url),
                    "--no-owner",
                    "--no-privileges",
                    "-f",
                    str(folder / SQL_FILE),
                ],
                url,
            )
            data = SQL_FILE
        manifest = {
            "format": FORMAT,
            "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": kind_of(url),
            "migration": current,
        }
        media = settings.storage.media_dir
        files = await asyncio.to_thread(pack, target, folder / data, data, manifest, media)
    return f"backup {target}: the {kind_of(url)} database ({current}) and {files} media file(s)"


def snapshot_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while another process writes."""
    if not source.exists():
        raise Refused(f"{source}: no such database")
    live, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        live.backup(copy)
    finally:
        copy.close()
        live.close()


def pack(target: Path, data: Path, name: str, manifest: dict[str, Any], media: Path) -> int:
    """Writes the archive beside the target, then renames it: a crash leaves no half file
    under the name."""
    partial = target.with_name(f".{target.name}.partial")
    files = 0
    with tarfile.open(partial, "w:gz") as archive:
        encoded = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(encoded)
        archive.addfile(info, io.BytesIO(encoded))
        archive.add(data, arcname=name)
        if media.is_dir():
            for path in sorted(media.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    archive.add(path, arcname=f"{MEDIA}/{path.relative_to(media)}")
                    files += 1
    os.replace(partial, target)
    return files


async def restore(settings: Settings, source: Path) -> str:
    url = make_url(settings.storage.url)
    media = settings.storage.media_dir
    with tempfile.TemporaryDirectory(prefix="sigap-restore-") as work:
        folder = Path(work)
        manifest = await asyncio.to_thread(unpack, source, folder)
        if manifest.get("format") != FORMAT:
            raise Refused(f"{source}: not a Sigap backup of format {FORMAT}")
        if manifest["database"] != kind_of(url):
            raise Refused(
                f"{source} holds a {manifest['database']} database; this deployment uses "
                f"{kind_of(url)} ([storage] url): restore onto the same kind"
            )
        await refuse_unless_empty(settings)
        if media.exists() and any(media.iterdir()):
            raise Refused(f"{media} is not empty: restore onto an empty media folder")
        if kind_of(url) == "sqlite":
            target = Path(url.database or "")
            target.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(shutil.copyfile, folder / SQLITE_FILE, target)
        else:
            await asyncio.to_thread(
                run,
                [
                    "psql",
                    *pg_args(url),
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-f",
                    str(folder / SQL_FILE),
                ],
                url,
            )
        files = await asyncio.to_thread(move_media, folder / MEDIA, media)
    return (
        f"restored {source} (made {manifest['made_at']}, migration {manifest['migration']}): "
        f"the database and {files} media file(s); start `sigap run` (it upgrades the "
        "database if the code is newer)"
    )


def unpack(source: Path, folder: Path) -> dict[str, Any]:
    try:
        with tarfile.open(source, "r:gz") as archive:
            archive.extractall(folder, filter="data")
    except (OSError, tarfile.TarError) as error:
        raise Refused(f"{source}: cannot be read as a backup ({error})") from None
    try:
        found: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        raise Refused(f"{source}: not a Sigap backup (no manifest)") from None
    return found


async def refuse_unless_empty(settings: Settings) -> None:
    url = make_url(settings.storage.url)
    new = kind_of(url) == "sqlite" and not await asyncio.to_thread(Path(url.database or "").exists)
    if new:
        return  # a new path: made by the restore
    db = Database(settings.storage.url)
    try:
        await db.check()
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await db.close()
    if tables:
        raise Refused(
            "the database already has tables: restore onto an empty database (a new SQLite "
            "path, or a PostgreSQL database just created), with `sigap run` stopped"
        )


def move_media(unpacked: Path, media: Path) -> int:
    media.mkdir(parents=True, exist_ok=True)
    if not unpacked.is_dir():
        return 0
    files = 0
    for path in unpacked.rglob("*"):
        if path.is_file():
            destination = media / path.relative_to(unpacked)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, destination)
            files += 1
    return files


def pg_args(url: URL) -> list[str]:
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-d", url.database or ""]
    if url.username:
        args += ["-U", url.username]
    return args


def run(command: list[str], url: URL) -> None:
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise Refused(f"{command[0]} is not installed (postgresql-client)") from None
    if done.returncode != 0:
        raise Refused(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
