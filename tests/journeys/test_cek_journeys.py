"""Journeys of CEK through `sigap run`: the task force marks a recruiter's number dangerous
with `sigap intel mark ... --dangerous --case REF` (another process, confirmed at once); a
resident on WhatsApp sends CEK and forwards the advert naming that number, and gets one
message with the confirmed warning, the risk signs, where to check and the word to report it;
`sigap intel show` and `sigap intel checked` count the check without naming the resident. On
Telegram a resident checks an English advert in one message, presses "Report it", and the
report they send starts with the advert."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.journeys.conftest import Start
from tests.journeys.harness import (
    RESIDENT,
    TelegramUser,
    WhatsAppUser,
    reference_of,
    report_with_buttons,
    task_force,
)

IKLAN = """Lowongan kerja admin online di Kamboja, gaji 15 juta/bulan.
Tiket & mess ditanggung, proses cepat.
Hub WA 0813-7777-1234"""
ADVERT = (
    "URGENT hiring: customer service staff in Cambodia, salary USD 1500/month, no experience "
    "needed, free flight. Contact wa.me/6285711223344"
)


async def test_a_resident_on_whatsapp_forwards_an_advert_and_is_warned_in_one_message(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    reference = await report_with_buttons(TelegramUser(telegram, RESIDENT))
    marked = await sigap.cli("intel", "mark", "0813 7777 1234", "--dangerous", "--case", reference)
    assert "confirmed" in marked

    resident = WhatsAppUser(sigap, twilio, "+6285811112222")
    await resident.answer("CEK", "Send me the phone number, the agency's name, the link")
    before = len(resident.bodies())
    answer = await resident.answer(
        IKLAN, "+6281377771234: this number has been confirmed by the task force as used in job"
    )
    assert len(resident.bodies()) == before + 1  # one message
    assert "Warning signs in this offer:" in answer and "Cambodia" in answer
    assert "siskop2mi.bp2mi.go.id" in answer and "aduannomor.id" in answer
    assert "0800-1000" in answer and "Type LAPOR to report it." in answer
    assert reference not in answer and "BTN-" not in answer

    shown = await sigap.cli("intel", "show", "+6281377771234")
    assert "checked by residents in the last 7 days: 1 time(s), from 1 chat(s)" in shown
    checked = await sigap.cli("intel", "checked", "--days", "7")
    assert "+6281377771234" in checked
    assert "6285811112222" not in checked + shown  # never the resident


async def test_a_resident_on_telegram_checks_an_advert_and_reports_it_with_the_advert_kept(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap(with_whatsapp=False)
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, 5301)
    answer = await resident.answer("check " + ADVERT, "Warning signs in this offer:")
    assert "The task force has no confirmed warning about +6285711223344" in answer
    assert "Cambodia" in answer

    await resident.press("Report it")
    await resident.sees("I have kept what you wrote")
    for label, next_question in [
        ("None of these", "May they contact you"),
        ("No, stay anonymous", "Who received this offer"),
        ("Me", "Is a child"),
        ("No", "What kind of job"),
        ("Online job", "Where is the job supposed to be?"),
        ("Cambodia", "Which of these happened?"),
        ("Done", "identifies the recruiter"),
        ("Skip", "You wrote: “URGENT hiring"),
        ("Skip", "Please check your report"),
        ("Send the report", "Your reference number"),
    ]:
        await resident.press(label)
        await resident.sees(next_question)
    resident.read -= 1
    reference = await reference_of(resident)
    shown = await sigap.cli("reports", "show", reference)
    assert "URGENT hiring: customer service staff in Cambodia" in shown
