"""Awareness broadcasts through `sigap run`: residents subscribe on Telegram and WhatsApp, a
broadcast made with the CLI from another process and one made with /siaran in the bot reach
each of them once, BERHENTI ends it, and `sigap broadcast status` never hangs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.journeys.conftest import Start
from tests.journeys.harness import Sigap, TelegramUser, WhatsAppUser, until

CITRA, SITI, ANI = 9003, 5101, 5102
BUDI_WA = "+6281234567891"
FIRST = "Hati-hati dengan tawaran kerja ke luar negeri yang meminta uang di muka."
SECOND = "Paspor adalah milik Anda: jangan serahkan kepada agen atau calo mana pun."


async def subscribed_residents(
    sigap: Sigap, telegram: FakeTelegram, twilio: FakeTwilio
) -> tuple[TelegramUser, TelegramUser, WhatsAppUser]:
    siti, ani = TelegramUser(telegram, SITI), TelegramUser(telegram, ANI)
    for resident in (siti, ani):
        await resident.answer("/langganan", "For which area do you want them?")
        await resident.press("All areas")
        await resident.sees("In which language")
        await resident.press("English")
        await resident.sees("You are subscribed")
    budi = WhatsAppUser(sigap, twilio, BUDI_WA)
    await budi.answer("LANGGANAN", "For which area do you want them?")
    await budi.answer("1", "In which language")
    await budi.answer("2", "You are subscribed")
    return siti, ani, budi


def received(texts: list[str], message: str) -> int:
    return sum(message in text for text in texts)


async def test_broadcasts_from_the_cli_and_from_the_bot_reach_each_subscriber_once(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await sigap.cli(
        "members", "add", "--name", "Citra", "--role", "coordinator", "--telegram-id", str(CITRA)
    )
    siti, ani, budi = await subscribed_residents(sigap, telegram, twilio)

    text = tmp_path / "message.txt"
    text.write_text(FIRST)
    made = await sigap.cli("broadcast", "send", "--text", str(text), "--yes")
    assert "3 subscriber(s)" in made, made
    number = re.search(r"#(\d+)", made)
    assert number, made
    for person in (siti, ani, budi):
        await person.sees(FIRST)
    status = await sigap.cli("broadcast", "status", number[1])
    assert "3 sent" in status or "done" in status

    # Ani stops; a coordinator broadcasts from the bot.
    await ani.answer("berhenti", "no more messages from us")
    citra = TelegramUser(telegram, CITRA)
    await citra.answer("/siaran", "choose one from the library")
    await citra.answer(SECOND, "For which areas?")
    await citra.press("Done")
    await citra.sees("For subscribers of which language?")
    await citra.press("Every language")
    preview = await citra.sees("It will reach 2 subscriber(s)")
    assert "Send it?" in preview
    await citra.press("Send now")
    await citra.sees("is being sent")
    await siti.sees(SECOND)
    await budi.sees(SECOND)
    await citra.sees("is done in")  # the summary
    for person, first, second in ((siti, 1, 1), (ani, 1, 0)):
        texts = person.texts()
        assert (received(texts, FIRST), received(texts, SECOND)) == (first, second)
    assert (received(budi.bodies(), FIRST), received(budi.bodies(), SECOND)) == (1, 1)


async def test_broadcast_status_says_when_nothing_is_sending(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await subscribed_residents(sigap, telegram, twilio)
    text = tmp_path / "message.txt"
    text.write_text(FIRST)
    later = await sigap.cli(
        "broadcast", "send", "--text", str(text), "--at", "2099-01-01 08:00", "--yes"
    )
    number = re.search(r"#(\d+)", later)
    assert number, later
    assert "scheduled for 2099-01-01 08:00" in await sigap.cli("broadcast", "status", number[1])
    assert await sigap.stop() == 0
    now = await sigap.cli("broadcast", "send", "--text", str(text), "--yes")
    number = re.search(r"#(\d+)", now)
    assert number, now
    status = await sigap.cli("broadcast", "status", number[1])
    assert "sigap run" in status and "not running" in status
    await sigap.start()
    await until("the broadcast sent", lambda: received(telegram.texts(SITI), FIRST) == 1)


async def test_a_scheduled_broadcast_goes_out_when_it_is_due(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    siti, _ani, budi = await subscribed_residents(sigap, telegram, twilio)
    text = tmp_path / "message.txt"
    text.write_text(SECOND)
    soon = datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(seconds=8)
    made = await sigap.cli(
        "broadcast",
        "send",
        "--text",
        str(text),
        "--at",
        soon.strftime("%Y-%m-%d %H:%M:%S"),
        "--yes",
    )
    assert "3 subscriber(s)" in made
    assert received(siti.texts(), SECOND) == 0  # not before its time
    await siti.sees(SECOND, within=20)
    await budi.sees(SECOND, within=20)
