"""The migrations create exactly the schema the models describe, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import audit, conversations, members, reports
from storage.db import Database
from storage.media import MediaStore
from storage.migrate import MIGRATIONS, applied, downgrade, newest, upgrade
from storage.models import (
    Affected,
    Channel,
    ChildInvolved,
    OfferKind,
    OfferSource,
    Priority,
    Report,
    ReportState,
    Role,
    Urgency,
)
from storage.resealing import unlock
from storage.sealing import FILE_MAGIC, MATCHED, SEALED, keyring


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


def test_the_newest_migration_is_the_one_alembic_finds() -> None:
    """`upgrade` reads it from the files, to skip Alembic when the database is there."""
    assert newest() == ScriptDirectory(str(MIGRATIONS)).get_current_head()


async def test_a_database_knows_which_migration_it_is_at(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    assert await applied(db) == []
    await upgrade(db, "0019")
    assert await applied(db) == ["0019"]
    await upgrade(db)
    assert await applied(db) == [newest()]
    await db.close()


async def test_upgrade_builds_an_empty_sqlite_database(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    await upgrade(db)
    assert await db.ping()
    await db.close()


async def opened(db: Database, media: Path | None = None) -> None:
    """As `sigap run` starts: the schema upgraded, then what was stored in clear sealed."""
    await upgrade(db)
    await unlock(db, keyring(), media)


async def test_per_chat_state_moves_to_columns_and_drafts_keep_their_answers(
    database_url: str,
) -> None:
    """0009: a draft in progress, a language picker opened inside it, and the invitation
    throttle, stored before the upgrade, come out in the typed shape and in columns."""
    db = Database(database_url)
    await downgrade(db, "0008")
    old = {
        "report": {
            "privacy": "anonymous",
            "recruiter_name": None,  # skipped
            "_history": ["privacy", "urgency", "recruiter_name"],
            "_phones": ["+6281234567890"],
            "_join_failures": 4,
            "_join_at": "2026-11-28T03:00:00+00:00",
        },
        "language": {"privacy": "anonymous", "_return": ["report", "urgency"]},
    }
    async with db.engine.begin() as conn:
        for sender, data in old.items():
            await conn.execute(
                text(
                    "INSERT INTO conversation (channel, sender, language, flow, step, data, seq, "
                    "created_at, updated_at) VALUES ('console', :sender, 'en', :flow, 'urgency', "
                    ":data, 1, :at, :at)"
                ),
                {"sender": sender, "flow": sender, "data": json.dumps(data), "at": "2026-11-28"},
            )
    await opened(db)
    async with db.read() as session:
        draft = await conversations.find(session, Channel.CONSOLE, "report")
        picker = await conversations.find(session, Channel.CONSOLE, "language")
    await db.close()
    assert draft is not None and picker is not None
    assert draft.data == {
        "privacy": "anonymous",
        "recruiter_name": "",
        "history": ["privacy", "urgency", "recruiter_name"],
        "phones_kept": ["+6281234567890"],
    }
    assert draft.join_failures == 4
    assert draft.join_failed_at == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert picker.data == {
        "back_flow": "report",
        "back_step": "urgency",
        "kept": {"privacy": "anonymous"},
    }


def old_report(reference: str, **columns: Any) -> Any:
    """The INSERT of a report as an older schema has it: only the columns named here (a
    model would name columns added since)."""
    values: dict[str, Any] = dict(
        reference=reference,
        created_at=datetime(2025, 6, 1, tzinfo=UTC),
        state=ReportState.NEW,
        priority=Priority.NORMAL,
        channel=Channel.TELEGRAM,
        sender="5001",
        language="id",
        anonymous=True,
        consent_contact=False,
        consent_share_with_police=False,
        consent_share_with=[],
        urgency=Urgency.NONE,
        affected=Affected.ME,
        child_involved=ChildInvolved.NO,
        offer_kind=OfferKind.WORK_ABROAD,
        destination="Malaysia",
        offer_source=OfferSource.AGENT,
        red_flags=[],
        story="Ditawari kerja.",
    )
    return insert(Report).values({**values, **columns})


async def test_references_stored_in_small_letters_are_found_after_the_upgrade(
    database_url: str,
) -> None:
    """0016: a reference stored before it (with a prefix an older version let through in
    small letters) is stored in capitals, as lookups compare it now."""
    db = Database(database_url)
    await downgrade(db, "0015")
    async with db.write() as session:
        await session.exec(old_report("btn-2025-00007"))
    await upgrade(db)
    async with db.read() as session:
        found = await reports.by_reference(session, "Btn-2025-00007")
    await db.close()
    assert found is not None and found.reference == "BTN-2025-00007"


async def test_the_dashboards_audit_of_contacts_is_kept_in_the_audit_of_every_door(
    database_url: str,
) -> None:
    """0018: a contact shown on a dashboard page, recorded in contact_audit before the upgrade,
    is in view_audit after it (door dashboard, what contact, the page as where); and back."""
    db = Database(database_url)
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    async with db.write() as session:
        member = await members.add(session, "Andi", Role.ADMIN, at=at)
        report = Report(
            reference="BTN-2026-0001",
            created_at=at,
            priority=Priority.HIGH,
            channel=Channel.TELEGRAM,
            sender="4242",
            language="id",
            urgency=Urgency.LEAVING_SOON,
            affected=Affected.ME,
            child_involved=ChildInvolved.NO,
            offer_kind=OfferKind.WORK_ABROAD,
            destination="malaysia",
            offer_source=OfferSource.AGENT,
            story="-",
        )
        session.add(report)
        await session.flush()
        ids = {"member": member.id, "report": report.id, "at": at}
    await downgrade(db, "0017")
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO contact_audit (at, member_id, report_id, what) "
                "VALUES (:at, :member, :report, 'case page')"
            ),
            ids,
        )
    await upgrade(db)
    async with db.read() as session:
        [entry] = await audit.entries(session)
    assert (entry.row.at, entry.who, entry.reference) == (at, "Andi", "BTN-2026-0001")
    assert (entry.row.door, entry.row.what, entry.row.place) == (
        "dashboard",
        "contact",
        "case page",
    )
    await downgrade(db, "0017")
    async with db.engine.begin() as conn:
        kept = (await conn.execute(text("SELECT member_id, what FROM contact_audit"))).all()
    assert [tuple(row) for row in kept] == [(ids["member"], "case page")]
    await upgrade(db)
    await db.close()


async def test_what_was_stored_in_clear_is_sealed_at_the_first_start_after_the_upgrade(
    database_url: str, tmp_path: Path
) -> None:
    """0020 and the first start: a report, a conversation, a subscription and an evidence
    file stored in clear before it are sealed, read back as they were, and
    still found by their chat."""
    db = Database(database_url)
    at = "2026-11-28 03:00:00"
    statements = [
        "INSERT INTO report (reference, created_at, state, priority, channel, sender, language,"
        " anonymous, consent_contact, consent_share_with_police, consent_share_with,"
        " contact_phone, urgency, affected, child_involved, offer_kind, destination,"
        " offer_source, red_flags, story, latitude, longitude) VALUES ('BTN-2026-00001', :at,"
        " 'new', 'high', 'telegram', '777001', 'id', false, true, false, '[]', '+6281211112222',"
        " 'leaving_soon', 'me', 'no', 'work_abroad', 'malaysia', 'agent', '[]',"
        " 'Saya ditawari kerja di kapal', 1.0712, 104.4523)",
        "INSERT INTO conversation (channel, sender, language, data, seq, created_at, updated_at,"
        " join_failures, draft_expired, told_in_group, inbound_in_window) VALUES ('telegram',"
        " '777001', 'id', '{\"story\": \"masih ditulis\"}', 1, :at, :at, 0, false, false, 0)",
        "INSERT INTO subscription (channel, address, language, created_at) VALUES ('telegram',"
        " '777001', 'id', :at)",
    ]
    await downgrade(db, "0018")
    async with db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), {"at": at})
    media = tmp_path / "media"
    evidence = b"\x89PNG\r\n\x1a\n" + b"flyer" * 20
    (media / "ab").mkdir(parents=True)
    (media / "ab" / "ab12").write_bytes(evidence)

    await opened(db, media)

    async with db.engine.connect() as conn:
        stored = (
            await conn.execute(text("SELECT sender, contact_phone, story, latitude FROM report"))
        ).one()
        chat = (await conn.execute(text("SELECT sender, data FROM conversation"))).one()
        address = (await conn.execute(text("SELECT address FROM subscription"))).scalar_one()
    assert stored[0].startswith(MATCHED) and chat[0] == stored[0] == address
    assert all(value.startswith(SEALED) for value in (*stored[1:], chat[1]))
    assert (media / "ab" / "ab12").read_bytes().startswith(FILE_MAGIC)
    async with db.read() as session:
        [report] = await reports.of_sender(session, Channel.TELEGRAM, "777001")
        draft = await conversations.find(session, Channel.TELEGRAM, "777001")
    assert (report.contact_phone, report.story, report.latitude) == (
        "+6281211112222",
        "Saya ditawari kerja di kapal",
        1.0712,
    )
    assert draft is not None and draft.data == {"story": "masih ditulis"}
    assert await MediaStore(media, 10**6).read("ab12") == evidence
    await db.close()


async def test_a_case_closed_before_the_upgrade_is_closed_since_its_last_change_of_state(
    database_url: str,
) -> None:
    """0019: closed_at comes from the closing on the timeline; an open case has none."""
    db = Database(database_url)
    await downgrade(db, "0018")
    acknowledged = datetime(2025, 6, 2, tzinfo=UTC)
    closed = datetime(2025, 7, 1, 8, 30, tzinfo=UTC)
    async with db.write() as session:
        await session.exec(old_report("BTN-2025-00001", state=ReportState.CLOSED))
        await session.exec(old_report("BTN-2025-00002", state=ReportState.IN_PROGRESS))
        found = await session.exec(text("SELECT id FROM report WHERE reference = 'BTN-2025-00001'"))
        report_id = found.scalar_one()
        for at in (acknowledged, closed):
            await session.exec(
                text(
                    "INSERT INTO report_event (report_id, at, kind, actor, detail) "
                    "VALUES (:report, :at, 'state_changed', 'Andi', '{}')"
                ),
                params={"report": report_id, "at": at.replace(tzinfo=None) if db.is_sqlite else at},
            )
    await upgrade(db)
    async with db.read() as session:
        first = await reports.by_reference(session, "BTN-2025-00001")
        second = await reports.by_reference(session, "BTN-2025-00002")
    await db.close()
    assert first is not None and first.closed_at == closed
    assert second is not None and second.closed_at is None
