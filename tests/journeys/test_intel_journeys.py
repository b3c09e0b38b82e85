"""Journeys of recruiter intelligence through `sigap run`: two residents, one on Telegram and
one on WhatsApp, report the same recruiter's number written differently; the second alert
names the first report and what they share; a member marks the number dangerous from the
chat, a coordinator confirms it there, and `sigap intel show` (another process) shows it
confirmed."""

from __future__ import annotations

import re
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
    reference_of,
    task_force,
    up_to_the_recruiter,
)

STORY = "Pak Rudi offers kitchen work in Johor and wants 5 million before leaving."
CERITA = "Pak Rudi menawarkan kerja dapur di Johor, minta 5 juta sebelum berangkat."


async def report_on_telegram(resident: TelegramUser, recruiter: str) -> str:
    await up_to_the_recruiter(resident)
    await resident.answer(recruiter, "+6281377771234")  # shown back
    await resident.press("Done")
    await resident.sees("Tell us what happened")
    await resident.answer(STORY, "Please check your report")
    await resident.press("Send the report")
    return await reference_of(resident)


async def report_on_whatsapp(resident: WhatsAppUser, recruiter: str) -> str:
    await resident.answer("LAPOR", "is any of these happening?")
    # No urgency, anonymous, me, no child, work abroad, the first destination, no sign.
    for body in ["4", "1", "1", "2", "1", "1", "0"]:
        await resident.send(body)
    await resident.answer(recruiter, "+6281377771234")
    await resident.send("selesai")
    await resident.answer(CERITA, "1")
    thanks = await resident.answer("1", "BTN-")
    found = re.search(r"BTN-\d{4}-\d{5}", thanks)
    assert found, thanks
    return found[0]


async def test_the_same_recruiter_reported_twice_is_linked_marked_and_confirmed(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    andi, citra = TelegramUser(telegram, ANDI), TelegramUser(telegram, CITRA)
    first = await report_on_telegram(TelegramUser(telegram, RESIDENT), "Pak Rudi, 0813-7777-1234")
    await andi.sees(f"New report {first}")

    second = await report_on_whatsapp(
        WhatsAppUser(sigap, twilio, "+6285711223344"), "Pak Rudi wa.me/6281377771234"
    )
    alert = await andi.sees(f"New report {second}")
    assert f"Linked reports: same phone (+6281377771234) as {first}" in alert

    await andi.answer(
        f"TANDAI {first} 0813 7777 1234 bahaya", "A coordinator confirms it before residents"
    )
    told = await citra.sees("Andi marked +6281377771234 as dangerous")
    mark_id = re.search(r"KONFIRMASI (\d+)", told)
    assert mark_id, told
    waiting = await citra.answer("KONFIRMASI", "Marks waiting for confirmation (1)")
    assert f"citing {first}" in waiting
    await citra.answer(f"KONFIRMASI {mark_id[1]}", f"Mark {mark_id[1]} confirmed")

    shown = await sigap.cli("intel", "show", "+62 813-7777-1234")
    assert "+6281377771234  (phone" in shown
    assert first in shown and second in shown
    assert "dangerous  by Andi" in shown and "confirmed by Citra" in shown
    assert "no marks waiting" in await sigap.cli("intel", "pending")
    timeline = await sigap.cli("reports", "show", first)
    assert "marked" in timeline and "mark_confirmed" in timeline
    linked = await sigap.cli("reports", "show", second)
    assert f"same phone +6281377771234 as {first}" in linked
