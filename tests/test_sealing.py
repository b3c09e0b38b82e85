"""Encryption at rest (storage/sealing.py, storage/resealing.py): what a copy of the database
shows, a tampered value, a missing key, a new key resealing everything while values stay
readable, and the key on a fresh machine."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import config
from storage import conversations, reports, sealing
from storage.db import Database
from storage.media import MediaStore
from storage.models import (
    Affected,
    Channel,
    ChildInvolved,
    OfferKind,
    OfferSource,
    Priority,
    Report,
    Urgency,
)
from storage.resealing import pending, reseal, unlock
from storage.sealing import FILE_MAGIC, MATCHED, SEALED, DataKey, KeyProblem, Keyring
from tests.support.cli import run_sigap, without_settings
from tests.support.keys import INDEX_KEY, TEST_KEY

OLD, NEW = DataKey.parse(TEST_KEY), DataKey.new()
STORY = "Saya ditawari kerja di kapal oleh tetangga saya"
NUMBER = "+6281299990000"
NOW = datetime(2026, 11, 2, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def tests_keyring() -> Iterator[None]:
    """Puts the tests' keyring back after a test that installs another."""
    yield
    sealing.install(Keyring(OLD, index=INDEX_KEY))


def test_a_sealed_value_reads_back_and_differs_each_time_and_a_matched_one_does_not() -> None:
    keys = Keyring(OLD, index=INDEX_KEY)
    first, second = keys.seal(STORY), keys.seal(STORY)
    assert first != second and first.startswith(f"{SEALED}{OLD.id}~")
    assert STORY not in first and keys.open(first) == keys.open(second) == STORY
    assert keys.match(NUMBER) == keys.match(NUMBER) != keys.match("+6281299990001")
    assert keys.unmatch(keys.match(NUMBER)) == NUMBER and NUMBER not in keys.match(NUMBER)
    blob = keys.seal_bytes(PNG)
    assert blob.startswith(FILE_MAGIC) and PNG not in blob and keys.open_bytes(blob) == PNG
    assert keys.open_bytes(PNG) == PNG  # a file from before sealing, or the library's


def test_a_changed_value_or_an_unknown_key_is_refused_with_what_to_do() -> None:
    keys = Keyring(OLD, index=INDEX_KEY)
    sealed = keys.seal(STORY)
    tampered = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    with pytest.raises(KeyProblem, match=f"sealed with data key {OLD.id} fails its check"):
        keys.open(tampered)
    with pytest.raises(KeyProblem, match=rf"data key {OLD.id}, which is not configured.*old_data"):
        Keyring(NEW).open(sealed)


def test_a_data_key_is_checked_when_the_config_is_read_and_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(KeyProblem, match="<id>:<key>"):
        DataKey.parse("no-colon-here")
    with pytest.raises(KeyProblem, match="must be 32 bytes, not 3"):
        DataKey.parse("k1:YWJj")
    assert DataKey.parse(str(NEW)) == NEW
    file = tmp_path / "config.toml"
    file.write_text('[privacy]\ndata_key = "k1:c2VjcmV0LXNob3J0"\n', encoding="utf-8")
    with pytest.raises(config.ConfigError) as error:
        config.load(file, environ={})
    assert "privacy.data_key" in str(error.value) and "c2VjcmV0" not in str(error.value)
    both = config.load(file, environ={"SIGAP_DATA_KEY": str(NEW), "SIGAP_OLD_DATA_KEYS": TEST_KEY})
    keys = both.privacy.keys()
    assert keys is not None and keys.current == NEW and keys.old == (OLD,)
    assert str(NEW).split(":")[1] in both.secrets  # redacted from every log line


async def a_report(db: Database, sender: str) -> str:
    """A report of the chat, with a recruiter's number, as the conversation stores it."""
    async with db.write() as session:
        chat = await conversations.load(session, Channel.TELEGRAM, sender, language="id", now=NOW)
        assert chat.id is not None
        report = await reports.submit(
            session,
            Report(
                reference=await reports.next_reference(session, "BTN", 2026),
                created_at=NOW,
                priority=Priority.HIGH,
                channel=Channel.TELEGRAM,
                sender=sender,
                language="id",
                contact_phone=NUMBER,
                urgency=Urgency.LEAVING_SOON,
                affected=Affected.ME,
                child_involved=ChildInvolved.NO,
                offer_kind=OfferKind.WORK_ABROAD,
                destination="malaysia",
                offer_source=OfferSource.AGENT,
                story=STORY,
                latitude=1.0712,
                longitude=104.4523,
            ),
            phones=["+6281377778888"],
            conversation_id=chat.id,
            channel=Channel.TELEGRAM,
        )
        return report.reference


async def raw(db: Database, query: str) -> list[str]:
    async with db.engine.connect() as conn:
        return [str(value) for value in (await conn.execute(text(query))).scalars()]


async def test_a_copy_of_the_database_shows_no_reporter(database_url: str) -> None:
    db = Database(database_url)
    reference = await a_report(db, "777002")
    stored = await raw(db, "SELECT sender || ' ' || contact_phone || ' ' || story FROM report")
    chats = await raw(db, "SELECT sender FROM conversation")
    phones = await raw(db, "SELECT phone FROM recruiter_phone")
    await db.close()
    assert all(part.startswith((SEALED, MATCHED)) for part in stored[0].split(" "))
    assert "777002" not in stored[0] + chats[0] and NUMBER not in stored[0]
    assert phones[0].startswith(MATCHED) and "77778888" not in phones[0]
    # the story's longer words: a two-letter one like "di" turns up in ciphertext by chance
    assert not any(word in stored[0] for word in ("ditawari", "kapal", "tetangga"))
    assert chats[0] == stored[0].split(" ")[0]  # the same chat, found by the same sealed value
    assert reference


async def test_a_new_key_reseals_everything_in_batches_and_the_old_one_can_go(
    database_url: str, tmp_path: Path, tests_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rotation: under the new key (the old one still configured) what is stored reads back
    and a chat is still found; `reseal` (`sigap keys rotate`), cut short and run again,
    leaves nothing under the old key, files included; then the old key is not needed."""
    db = Database(database_url)
    media = MediaStore(tmp_path / "media", 10**6)
    reference = await a_report(db, "777003")
    stored = await media.put(PNG)
    await db.close()

    db = Database(database_url)
    await unlock(db, Keyring(NEW, (OLD,)), media.root)
    assert await pending(db) == OLD.id  # said at start: run `sigap keys rotate`
    async with db.read() as session:
        [found] = await reports.of_sender(session, Channel.TELEGRAM, "777003")
    assert (found.reference, found.story, found.contact_phone) == (reference, STORY, NUMBER)

    monkeypatch.setattr("storage.resealing.BATCH", 1)
    seen: list[tuple[str, int]] = []
    done = await reseal(db, media.root, lambda table, count: seen.append((table, count)))
    assert done.rows["report"] == 1 and done.files == 1 and ("report", 1) in seen
    stories = await raw(db, "SELECT story FROM report")
    assert stories[0].startswith(f"{SEALED}{NEW.id}~")
    assert (
        (media.path(stored.sha256)).read_bytes()[len(FILE_MAGIC) + 1 :].startswith(NEW.id.encode())
    )
    assert await pending(db) is None
    again = await reseal(db, media.root)
    assert str(again) == "nothing"
    await db.close()

    db = Database(database_url)
    await unlock(db, Keyring(NEW), media.root)  # the old key removed
    async with db.read() as session:
        [found] = await reports.of_sender(session, Channel.TELEGRAM, "777003")
    assert (found.story, found.latitude) == (STORY, 1.0712)
    assert await media.read(stored.sha256) == PNG
    await db.close()


async def test_a_database_still_partly_under_a_key_not_configured_does_not_open(
    database_url: str, tests_keyring: None
) -> None:
    db = Database(database_url)
    await a_report(db, "777004")
    await db.close()
    db = Database(database_url)
    try:
        await unlock(db, Keyring(NEW, (OLD,)), None)  # a new key, rotation not run
        with pytest.raises(
            KeyProblem, match=f"the database is sealed with data key {OLD.id}, which is not"
        ):
            await unlock(db, Keyring(NEW), None)
    finally:
        await db.close()


def test_the_terminal_chat_makes_a_key_on_a_fresh_machine_and_run_needs_one(
    tmp_path: Path,
) -> None:
    fresh = {k: v for k, v in without_settings().items() if k != "SIGAP_DATA_KEY"}
    refused = run_sigap(["run"], tmp_path, fresh)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "Error: no data key: set SIGAP_DATA_KEY or [privacy] data_key (`sigap keys new` makes one)"
    ]
    first = run_sigap(["chat"], tmp_path, fresh, "lapor\n")
    key = tmp_path / "sigap.key"
    assert first.returncode == 0, first.stderr
    assert f"Made a data key in {key}" in first.stderr
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    DataKey.parse(key.read_text(encoding="utf-8"))
    second = run_sigap(["chat"], tmp_path, fresh, "lapor\n")
    assert second.returncode == 0 and "Made a data key" not in second.stderr
    # The draft of the first run, sealed with the key made then, is read back.
    assert "Anda punya laporan yang belum selesai" in second.stdout
    printed = run_sigap(["keys", "new"], tmp_path, fresh)
    assert DataKey.parse(printed.stdout).id.startswith("k")
