"""Journeys of the anonymous relay, through `sigap run`, the fake Telegram and the fake Twilio:
a member on Telegram writes to a reporter on WhatsApp, who reads it with BUKA and answers with
text and a photo; a member on WhatsApp writes to a reporter on Telegram, the message waits
through a restart, and the reporter stops replies. A reporter who did not consent cannot be
written to, and neither side ever sees the other's number, chat id or name."""

from __future__ import annotations

import re

import httpx

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
    until,
)

REPORTER, OTHER, EKO = "+6281234567890", "+6281298765432", "+6281377770000"
NOTICE_TEMPLATE = "HX" + "b2" * 16
NOTICE = "There is a message for you. Type BUKA to read it."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
STORY = "Calo menjanjikan kerja di pabrik Johor, berangkat malam lewat pelabuhan kecil."
# No urgency; yes, they may contact me; to no agency ("0"); this number; me, no child, work
# abroad, the first destination, no warning sign, nothing about the recruiter.
CONSENTING = ["4", "2", "0", "1", "1", "2", "1", "1", "0", "skip"]
ANONYMOUS = ["4", "1", "1", "2", "1", "1", "0", "skip"]


async def report_by_typing(resident: WhatsAppUser, answers: list[str]) -> str:
    await resident.answer("REPORT", "is any of these happening?")
    for body in answers:
        await resident.send(body)
    await resident.answer(STORY, "Please check your report")
    thanks = await resident.answer("1", "Your reference number")
    found = re.search(r"BTN-\d{4}-\d{5}", thanks)
    assert found, thanks
    return found[0]


async def test_a_member_on_telegram_and_a_reporter_on_whatsapp_write_to_each_other(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio
) -> None:
    sigap = await start_sigap(f'[whatsapp.templates]\nrelay_notice = "{NOTICE_TEMPLATE}"\n')
    await task_force(sigap, sigap.folder)
    andi = TelegramUser(telegram, ANDI)
    reporter = WhatsAppUser(sigap, twilio, REPORTER)
    reference = await report_by_typing(reporter, CONSENTING)

    await andi.sees(f"New report {reference}")
    await andi.press("Acknowledge")
    await andi.sees(f"report {reference} is yours")
    await andi.press("Reply to reporter")  # on the acknowledged alert
    await andi.sees(f"Write your message to the reporter of {reference}")
    await andi.answer("Where did you meet the agent?", f"Sent to the reporter of {reference}")

    notice = await reporter.sees(NOTICE)
    assert notice.strip() == NOTICE  # nothing of the report on a lock screen
    opened = await reporter.answer("BUKA", "Where did you meet the agent?")
    assert f"Message from the task force ({reference}):" in opened
    assert "Write your answer here" in opened and "Type DONE when you are done" in opened
    assert "STOP REPLIES" in opened
    await reporter.answer("At the coffee shop by the ferry port", "Sent. You can write more.")
    await andi.sees(f"Reply from the reporter of {reference}: At the coffee shop by the ferry")
    photo = twilio.add_media(PNG, "image/png")
    await reporter.send("", NumMedia="1", MediaUrl0=photo, MediaContentType0="image/png")
    await reporter.sees("Sent. You can write more.")
    await andi.sees(f"Reply from the reporter of {reference}: (+1 file(s))")
    (sent_photo,) = await telegram.wait_for("sendPhoto", chat_id=ANDI)
    assert sent_photo.params["caption"] == reference
    await reporter.answer("SELESAI", "Thank you")

    # Neither learns who the other is.
    told_andi = [str(c.params) for c in telegram.calls if c.params.get("chat_id") == ANDI]
    for secret in (REPORTER, REPORTER.lstrip("+"), "0812-3456-7890", "81234567890"):
        assert not any(secret in text for text in told_andi)
    assert not any("Andi" in body or str(ANDI) in body for body in reporter.bodies())

    timeline = await sigap.cli("reports", "show", reference)
    assert timeline.count("relayed") == 3
    assert "Where did you meet the agent?" in timeline and "At the coffee shop" in timeline

    # A reporter who stayed anonymous cannot be written to.
    other = WhatsAppUser(sigap, twilio, OTHER)
    second = await report_by_typing(other, ANONYMOUS)
    await andi.sees(f"New report {second}")
    await andi.answer(f"/ack {second}", f"report {second} is yours")
    await andi.answer(f"/balas {second} hello", "did not agree to be contacted")
    assert "relayed" not in await sigap.cli("reports", "show", second)
    assert not any(NOTICE in body for body in other.bodies())
    assert twilio.contract_violations == []


async def test_a_member_on_whatsapp_writes_to_a_reporter_on_telegram_who_then_stops_it(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio
) -> None:
    sigap = await start_sigap()
    await sigap.cli("members", "add", "--name", "Eko", "--whatsapp", "0813-7777-0000")
    eko = WhatsAppUser(sigap, twilio, EKO)
    reporter = TelegramUser(telegram, RESIDENT)
    await consenting_report(reporter)
    reference = await reference_of(reporter)

    await eko.answer(f"ACK {reference}", f"Thank you, Eko: report {reference} is yours")
    await eko.answer(f"BALAS {reference}", f"Write your message to the reporter of {reference}")
    await eko.answer("Is the agent still in Tanjung Uban?", "Sent to the reporter")
    await reporter.sees(NOTICE)

    # The message waits in the database, not in a process: it survives a restart.
    assert await sigap.stop() == 0
    await sigap.start()
    await reporter.answer("buka", "Is the agent still in Tanjung Uban?")
    await reporter.send("Yes, he is there every evening")
    await eko.sees(f"Reply from the reporter of {reference}: Yes, he is there every evening")
    photo = telegram.add_file(PNG)
    sizes = [{"file_id": photo, "file_unique_id": "p", "width": 9, "height": 9}]
    telegram.push_update(telegram.message(RESIDENT, language_code="en", photo=sizes))
    await eko.sees(f"Reply from the reporter of {reference}: (+1 file(s))")
    # The photo goes to Eko through Twilio, which fetches it from the service (signed URL).
    message = await until("the photo to Eko", lambda: [m for m in twilio.to(EKO) if m.media_urls])
    async with httpx.AsyncClient() as client:
        fetched = await client.get(message[0].media_urls[0])
    assert fetched.status_code == 200 and fetched.content == PNG
    assert not any(str(RESIDENT) in body for body in eko.bodies())
    assert not any("Eko" in text or "7777" in text for text in reporter.texts())

    await reporter.answer("berhenti balas", "can no longer send you messages")
    await eko.answer(f"BALAS {reference} one more thing", "has stopped replies")
    timeline = await sigap.cli("reports", "show", reference)
    assert "relay_stopped" in timeline and timeline.count("relayed") == 3


async def consenting_report(resident: TelegramUser) -> None:
    """A report made with buttons by a reporter who may be contacted (at a number typed)."""
    await resident.answer("/start", "What would you like to do?")
    await resident.press("Report a suspicious job offer")
    await resident.sees("is any of these happening?")
    for label, next_question in [
        ("None of these", "May they contact you"),
        ("Yes, they may contact me", "Who may the task force give your number to"),
        ("Done", "Which phone number"),  # to no agency
    ]:
        await resident.press(label)
        await resident.sees(next_question)
    await resident.answer("0812-1111-2222", "Who received this offer")
    for label, next_question in [
        ("My family", "Is a child"),
        ("No", "What kind of job"),
        ("Work abroad", "Where is the job supposed to be?"),
        ("Malaysia", "Which of these happened?"),
        ("Done", "identifies the recruiter"),
        ("Skip", "Tell us what happened"),
    ]:
        await resident.press(label)
        await resident.sees(next_question)
    await resident.answer(STORY, "Please check your report")
    await resident.press("Send the report")
