"""`sigap backup` and `sigap restore`, as an operator runs them (other processes): a deployment
with members, a roster and an acknowledged report with its evidence, backed up while in use and
restored onto an empty one, where everything reads the same; and the restores refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import psycopg

from storage.media import MediaStore
from tests.support.cli import run_sigap, without_settings
from tests.support.database import PG_ADMIN_URL, pg_url
from tests.support.task_force import TaskForce
from tests.test_referral import reported


def sigap(url: str, media: Path, *args: str, ok: bool = True) -> str:
    env = {**without_settings(), "SIGAP_STORAGE_URL": url, "SIGAP_MEDIA_DIR": str(media)}
    done = run_sigap(args, media.parent, env)
    if ok:
        assert done.returncode == 0, done.stderr
        return done.stdout
    assert done.returncode != 0, done.stdout
    return done.stderr


def empty_database(url: str, tmp_path: Path) -> str:
    """Where a new deployment would put its database: a new SQLite path, or a PostgreSQL
    database just created."""
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'sigap.db'}"
    name = f"sigap_restore_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


async def test_a_backup_made_in_use_restores_onto_an_empty_deployment(
    force: TaskForce, database_url: str, tmp_path: Path
) -> None:
    reference, image = await reported(force)
    await force.shifts((0, "08:00", "16:00", ["Andi"]))
    media = force.app.settings.storage.media_dir
    file = tmp_path / "sigap-backup.tar.gz"
    said = sigap(database_url, media, "backup", str(file))
    assert f"backup {file}: the " in said and "1 media file(s)" in said

    target = empty_database(database_url, tmp_path)
    restored_media = tmp_path / "restored-media"
    said = sigap(target, restored_media, "restore", str(file))
    assert "restored" in said and "1 media file(s)" in said
    shown = sigap(target, restored_media, "reports", "show", reference)
    assert reference in shown and "acknowledged" in shown and "Andi" in shown
    digest = hashlib.sha256(image).hexdigest()
    assert await MediaStore(restored_media, 10**7).read(digest) == image  # with the same key
    members = sigap(target, restored_media, "members", "list")
    for name in ("Andi", "Budi", "Citra", "Dewi"):
        assert name in members
    assert "mon 08:00-16:00  Andi" in sigap(target, restored_media, "roster", "show")

    again = sigap(target, restored_media, "restore", str(file), ok=False)
    assert "the database already has tables" in again  # never over live data
    other = tmp_path / "not-a-backup.tar.gz"
    other.write_bytes(b"hello")
    fresh = empty_database(database_url, tmp_path / "second")
    refused = sigap(fresh, tmp_path / "m2", "restore", str(other), ok=False)
    assert "cannot be read as a backup" in refused
