"""Journeys of retention and erasure, through `sigap run`: a resident on Telegram asks to be
forgotten and is told what was kept, after which the CLI shows no contact and a member cannot
write to them; an admin erases a WhatsApp reporter's identity from the command line, with a
reason; and a service started on a database holding an old closed case and old drafts applies
`[retention]` by itself, recording what it removed in counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers.usecases.retention import months_before
from storage.db import Database
from storage.media import MediaStore
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.journeys.conftest import Start
from tests.journeys.harness import (
    ANDI,
    RESIDENT,
    TelegramUser,
    WhatsAppUser,
    reference_of,
    task_force,
)
from tests.journeys.test_relay_journeys import CONSENTING, consenting_report, report_by_typing
from tests.support.old_data import CONTACT, case, chat, evidence

KEPT = "What we kept, and why"


async def test_a_resident_on_telegram_asks_to_be_forgotten_and_is_told_what_was_kept(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap(with_whatsapp=False)
    await task_force(sigap, tmp_path)
    resident, andi = TelegramUser(telegram, RESIDENT), TelegramUser(telegram, ANDI)
    await consenting_report(resident)
    reference = await reference_of(resident)
    await andi.sees(f"New report {reference}")
    await andi.press("Acknowledge")
    await andi.sees(f"report {reference} is yours")
    await resident.sees("There is news for you")
    assert "may be contacted at +6281211112222" in await sigap.cli("reports", "show", reference)

    asked = await resident.answer("hapus data", "Delete your data?")
    assert "the 1 report(s) you sent from this chat" in asked
    await resident.press("Yes, delete my data")
    kept = await resident.sees(KEPT)
    assert "Done: your data is deleted. Your identity is removed from 1 report(s)" in kept
    assert "without your name, number or chat" in kept and "UU PDP, No. 27 of 2022" in kept
    assert telegram.called("deleteMessages")  # the chat's messages, as far as Telegram allows

    shown = await sigap.cli("reports", "show", reference)
    assert "reporter:       identity erased on" in shown and "(they asked to be forgotten)" in shown
    assert "1111" not in shown and str(RESIDENT) not in shown
    assert "identity_erased  by reporter" in shown

    told = len(resident.texts())
    await andi.answer(f"/balas {reference} Are you still in Tanjung Uban?", "asked to be forgotten")
    details = await andi.answer(f"/rincian {reference}", "asked to be forgotten on")
    assert "1111" not in details
    await andi.answer(f"/tutup {reference}", f"How did case {reference} end?")
    await andi.press("Not trafficking")
    await andi.sees(f"Case {reference} is closed")
    assert resident.texts()[told:] == []  # nothing reaches whoever holds the chat now
    status = await resident.answer("/status", "You have not sent any report from this chat.")
    assert reference not in status


async def test_an_admin_erases_a_whatsapp_reporters_identity_from_the_command_line(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    andi = TelegramUser(telegram, ANDI)
    reporter = WhatsAppUser(sigap, twilio, "+6281234567890")
    reference = await report_by_typing(reporter, CONSENTING)
    await andi.sees(f"New report {reference}")
    await andi.press("Acknowledge")
    await andi.sees(f"report {reference} is yours")
    await reporter.sees("There is news for you")

    done = await sigap.cli(
        "reports", "erase", reference, "--reason", "the reporter asked on the hotline"
    )
    assert f"{reference}: the reporter's identity is erased" in done
    assert "Their chat is forgotten too." in done
    shown = await sigap.cli("reports", "show", reference)
    assert "identity erased on" in shown and "(by an admin)" in shown
    assert "+6281234567890" not in shown and "6281234567890" not in shown
    audit = await sigap.cli("audit", "--report", reference)
    assert "erasure" in audit and "the reporter asked on the hotline" in audit

    heard = len(reporter.bodies())
    await andi.answer(f"/balas {reference} hello", f"The reporter's identity of {reference}")
    await andi.answer(f"/tutup {reference}", f"How did case {reference} end?")
    await andi.press("Not trafficking")
    await andi.sees(f"Case {reference} is closed")
    assert reporter.bodies()[heard:] == []
    again = await sigap.cli("reports", "erase", reference, "--reason", "twice", check=False)
    assert "was already erased" in again


async def test_a_service_started_on_old_data_applies_retention_and_records_the_counts(
    start_sigap: Start, database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    db = Database(database_url)
    media = MediaStore(tmp_path / "media", 20 * 1024 * 1024)
    try:
        old = await case(
            db,
            "BTN-2025-00001",
            sender="5001",
            created_at=months_before(now, 5),
            closed_at=months_before(now, 3),
        )
        photo = await evidence(db, media, old, months_before(now, 5))
        still_open = await case(
            db, "BTN-2025-00002", sender="5002", created_at=months_before(now, 5)
        )
        await evidence(
            db, media, still_open, months_before(now, 5), b"\x89PNG\r\n\x1a\n" + b"\x02" * 64
        )
        await chat(db, "6001", now - timedelta(days=3), flow="cek", data={"text": "Lowongan kapal"})
        await chat(db, "6002", now - timedelta(days=3), flow="report", data={"story": "calo"})
        await chat(db, "6003", now - timedelta(days=3), message_ids=("7", "8"))
        await chat(db, "6004", now - timedelta(hours=2))
    finally:
        await db.close()

    sigap = await start_sigap(
        "[retention]\ndrafts_days = 1\nclosed_identity_months = 2\nevidence_months = 2\n"
        # The unfinished report is left to [retention] here, not to the hourly expiry.
        "[intake]\ndraft_expiry_hours = 1000\nmax_messages_per_minute = 1000\n",
        with_whatsapp=False,
    )
    health = await sigap.health()
    assert health is not None and health["jobs"]["retention"]["last_ok"]
    assert health["jobs"]["retention"]["error"] is None

    kept = await sigap.cli("retention")
    assert "drafts and chat bookkeeping: 1 days" in kept
    header, row = kept.splitlines()[-2:]
    assert header.split()[-5:] == ["DRAFTS", "CHATS", "IDENTITIES", "EVIDENCE", "FILES"]
    assert row.split()[-4:] == ["2", "3", "1", "1"] and "unfinished" not in row
    shown = await sigap.cli("reports", "show", "BTN-2025-00001")
    assert "identity erased on" in shown and "(by the retention rules)" in shown
    assert "evidence (0):" in shown and "evidence_removed" in shown
    assert not media.path(photo.sha256).exists()
    assert CONTACT in await sigap.cli("reports", "show", "BTN-2025-00002")  # open: kept
    assert re.search(
        r"retention of \S+: removed 2 draft\(s\), 3 chat\(s\), 1 reporter identity\(ies\), "
        r"1 evidence file\(s\)",
        sigap.log(),
    )
