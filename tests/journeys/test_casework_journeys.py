"""Journeys of a case after its acknowledgement, through `sigap run`: on Telegram a member
works it from the alert to closed with buttons, the reporter hears there is news and reads
the outcome, a coordinator reopens it; on WhatsApp a member does the same by words; the CLI
lists the open cases per member; a forgotten case reminds its assignee, then the
coordinators."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.journeys.conftest import Start
from tests.journeys.harness import (
    ANDI,
    CITRA,
    RESIDENT,
    TelegramUser,
    WhatsAppUser,
    report_with_buttons,
    task_force,
)
from tests.journeys.test_whatsapp_journeys import report_by_typing


async def test_on_telegram_a_member_takes_a_case_from_alert_to_closed_and_a_coordinator_reopens(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT)
    andi, citra = TelegramUser(telegram, ANDI), TelegramUser(telegram, CITRA)
    reference = await report_with_buttons(resident)

    await andi.sees(f"New report {reference}")
    await andi.press("Acknowledge")
    await andi.sees(f"report {reference} is yours")
    await resident.sees("There is news for you")
    await andi.press("In progress")
    await andi.sees(f"Case {reference} is in progress")
    await andi.press("Note")
    await andi.sees("Write the note")
    await andi.answer("The agent's office in Tanjung Uban is closed.", "Saved in the note")
    await andi.press("Done")
    await andi.sees("Note saved")
    listing = await sigap.cli("reports", "list", "--state", "in_progress", "--assignee", "Andi")
    assert reference in listing and "Andi" in listing and "in_progress" in listing
    await andi.press("Close")
    await andi.sees(f"How did case {reference} end?")
    await andi.press("Not trafficking")
    await andi.sees(f"Case {reference} is closed: Not trafficking")

    news = await resident.sees("There is news for you. Type STATUS to read it.")
    assert reference not in news  # neutral on a lock screen
    status = await resident.answer("/status", reference)
    assert "closed: the task force looked into it and found no sign of trafficking" in status
    assert "Tanjung Uban is closed" not in status  # the note stays with the task force

    case = await citra.answer(f"/kasus {reference}", f"Case {reference} — closed")
    assert "The agent's office in Tanjung Uban is closed." in case
    await citra.press("Reopen")
    await citra.sees(f"Case {reference} is open again, in progress")
    timeline = await sigap.cli("reports", "show", reference)
    for seen in ("state_changed", "note", "reopened", "Citra", "not_trafficking"):
        assert seen in timeline, seen
    open_cases = await sigap.cli("reports", "list", "--state", "open")
    assert reference in open_cases and "per member: Andi 1" in open_cases


async def test_on_whatsapp_a_member_works_a_case_by_words_and_the_cli_reassigns_it(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    await sigap.cli("members", "add", "--name", "Eko", "--whatsapp", "0813-7777-0000")
    resident = WhatsAppUser(sigap, twilio, "+6281234567890")
    eko = WhatsAppUser(sigap, twilio, "+6281377770000")
    reference = await report_by_typing(resident)

    await eko.answer(f"TERIMA {reference}", "1. In progress")
    await eko.answer(f"PROSES {reference}", "is in progress")
    await eko.answer(f"CATAT {reference} Keluarga sudah dihubungi.", "Note saved")
    await eko.answer("KASUS", "Your open cases (1)")
    await eko.answer(f"TUTUP {reference}", "Scam or fraud")
    await eko.answer("2", f"Case {reference} is closed: Scam or fraud")
    await resident.sees("There is news for you")  # acknowledged
    await resident.sees("There is news for you")  # closed
    await resident.answer("STATUS", "closed: the task force found it was a scam")
    refused = await eko.answer(f"BUKA LAGI {reference}", "Only a coordinator")
    assert "reopen" in refused

    await sigap.cli("reports", "reopen", reference)
    moved = await sigap.cli("reports", "assign", reference, "Andi")
    assert "is now Andi's" in moved
    await TelegramUser(telegram, ANDI).sees(f"Case {reference} is now yours, assigned by operator")
    await sigap.cli("reports", "note", reference, "Handed over at the office.", "--as", "Eko")
    listing = await sigap.cli("reports", "list", "--state", "open", "--assignee", "Andi")
    assert reference in listing and "per member: Andi 1" in listing
    timeline = await sigap.cli("reports", "show", reference)
    assert "by operator" in timeline


async def test_a_forgotten_case_reminds_the_assignee_then_the_coordinators(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    # A case untouched for 3.6 seconds is stale.
    sigap = await start_sigap(
        "[casework]\nstale_after_hours = { urgent = 0.001, high = 0.001, normal = 0.001 }\n"
    )
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT)
    andi, citra = TelegramUser(telegram, ANDI), TelegramUser(telegram, CITRA)
    reference = await report_with_buttons(resident)
    await andi.sees(f"New report {reference}")
    await andi.press("Acknowledge")
    await andi.sees("is yours")
    reminder = await andi.sees(f"Reminder: case {reference}")
    assert "no update for 0.001 hours" in reminder
    await citra.sees(f"Case {reference} (acknowledged), assigned to Andi")
    await andi.press("Close")  # from the menu still shown
    await andi.press("Withdrawn")
    await andi.sees("is closed")
    timeline = await sigap.cli("reports", "show", reference)
    assert "reminded" in timeline
