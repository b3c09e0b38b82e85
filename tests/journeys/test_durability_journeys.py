"""Nothing a resident sends or taps is lost: `sigap run` killed with SIGKILL between storing an
answer and sending it, in the middle of conversations and of a broadcast, stopped while
Telegram is down; presses made while it was down; Telegram answering 429 to every poll;
Twilio down for a while. Against fakes that behave like the real servers (unconfirmed
updates come again, a press older than the query timeout cannot be answered)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

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
    up_to_the_summary,
)

JOBS = [
    "heartbeat",
    "outbox",
    "followups",
    "reminders",
    "broadcasts",
    "housekeeping",
    "retention",
]


def count(texts: list[str], text: str) -> int:
    return sum(text in t for t in texts)


async def test_the_running_service_has_every_job_and_each_one_runs(start_sigap: Start) -> None:
    sigap = await start_sigap()
    health = await sigap.health()
    assert health is not None and health["status"] == "up"
    assert list(health["jobs"]) == JOBS
    assert all(job["last_ok"] and job["error"] is None for job in health["jobs"].values())


async def test_killed_between_storing_an_answer_and_sending_it_the_answer_comes_once(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    resident, andi = TelegramUser(telegram, RESIDENT), TelegramUser(telegram, ANDI)
    await up_to_the_summary(resident)
    # Telegram takes updates but sends nothing: the answer to "Send" is stored, not sent.
    for method in ("sendMessage", "editMessageReplyMarkup"):
        telegram.fail(method, status=502, description="Bad Gateway", times=10_000)
    tried = len(telegram.called("sendMessage"))
    await resident.press("Send the report")
    await until("a try to answer", lambda: len(telegram.called("sendMessage")) > tried)
    await sigap.kill()
    telegram.clear_failures()
    await sigap.start()
    reference = await reference_of(resident)
    await andi.sees(f"New report {reference}")
    await asyncio.sleep(2)  # anything sent twice would be here by now
    assert count(resident.texts(), "Your reference number") == 1
    assert count(andi.texts(), "New report") == 1
    assert (await sigap.cli("reports", "list")).count("BTN-") == 1


async def test_a_press_made_while_the_service_was_down_still_counts(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    telegram.query_timeout = 1.0  # Telegram forgets a press this old (15 s for the real one)
    sigap = await start_sigap()
    resident = TelegramUser(telegram, RESIDENT)
    await resident.answer("/lapor", "is any of these happening?")
    assert await sigap.stop() == 0
    await resident.press("None of these")
    await asyncio.sleep(1.5)
    await sigap.start()
    await resident.sees("May they contact you")
    assert telegram.called("answerCallbackQuery")  # refused as too old; the press counted


async def test_polling_survives_a_storm_of_429s_and_health_tells_the_truth(
    start_sigap: Start, telegram: FakeTelegram
) -> None:
    sigap = await start_sigap()
    await sigap.stop()
    sigap.configure(channel_down_after_seconds=2)
    await sigap.start()
    resident = TelegramUser(telegram, RESIDENT)
    await resident.answer("/start", "What would you like to do?")
    telegram.fail(
        "getUpdates",
        status=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        times=6,
    )
    # Ends the poll under way, if one is (else the next poll meets the 429s at once): the
    # answer comes after the storm, so it is not waited for here.
    await resident.send("/start")

    async def down() -> bool:
        health = await sigap.health()
        return health is not None and health["status"] == "down"

    deadline = time.monotonic() + 20
    while not await down():
        assert time.monotonic() < deadline, "/healthz never said Telegram was down"
        await asyncio.sleep(0.2)
    telegram.fail("sendMessage", status=429, description="Too Many Requests", retry_after=1)
    await resident.send("/bantuan")
    health = await sigap.health()
    assert health is not None and "429" in health["telegram"]["error"]
    await resident.sees("110", within=30)  # answered once the storm is over
    health = await sigap.health()
    assert health is not None and health["status"] == "up"


async def test_a_stop_while_telegram_is_down_is_quick_and_keeps_the_answer(
    start_sigap: Start, telegram: FakeTelegram
) -> None:
    sigap = await start_sigap()
    resident = TelegramUser(telegram, RESIDENT)
    await resident.answer("/start", "What would you like to do?")
    for method in ("sendMessage", "editMessageReplyMarkup"):
        telegram.fail(method, status=502, description="Bad Gateway", times=10_000)
    tried = len(telegram.calls)
    await resident.send("/bantuan")
    await until(
        "a try to answer",
        lambda: telegram.calls[tried:] and telegram.calls[-1].method != "getUpdates",
    )
    began = time.monotonic()
    assert await sigap.stop() == 0
    assert time.monotonic() - began < 10
    assert "no failed messages" in await sigap.cli("outbox", "failed")  # pending, not failed
    telegram.clear_failures()
    await sigap.start()
    await resident.sees("110")


async def test_killed_during_conversations_and_a_broadcast_nothing_is_lost(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    subscribers = [TelegramUser(telegram, 6000 + i) for i in range(12)]
    for person in subscribers:
        await person.answer("/langganan", "For which area")
        await person.press("All areas")
        await person.sees("In which language")
        await person.press("English")
        await person.sees("You are subscribed")
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT)
    await up_to_the_summary(resident)
    # Slowly now (2 messages a second): the broadcast is under way when the process dies.
    await sigap.stop()
    sigap.configure(sigap.telegram_table(messages_per_second=2, chat_messages_per_second=30))
    await sigap.start()
    message = tmp_path / "message.txt"
    message.write_text("Jangan pernah menyerahkan paspor Anda kepada agen atau calo.")
    made = await sigap.cli("broadcast", "send", "--text", str(message), "--yes")
    assert "12 subscriber(s)" in made
    await until("a few sent", lambda: sum(len(p.texts()) > 3 for p in subscribers) >= 3)
    await resident.press("Send the report")
    await sigap.kill()
    await sigap.start()
    reference = await reference_of(resident)
    for person in subscribers:
        await person.sees("menyerahkan paspor", within=60)
    await asyncio.sleep(1)
    got = [count(p.texts(), "menyerahkan paspor") for p in subscribers]
    assert all(1 <= n <= 2 for n in got), got  # at least once; at most once more, per crash
    assert sum(n - 1 for n in got) <= 2, got
    assert count(resident.texts(), reference) == 1
    number = re.search(r"#(\d+)", made)
    assert number
    status = await sigap.cli("broadcast", "status", number[1])  # follows it to the end
    assert "done: 12 sent" in status


async def test_twilio_down_for_a_while_every_resident_still_gets_an_answer(
    start_sigap: Start, twilio: FakeTwilio
) -> None:
    sigap = await start_sigap(with_telegram=False)
    residents = [WhatsAppUser(sigap, twilio, f"+62812345678{i:02d}") for i in range(3)]
    twilio.outage(20)
    for resident in residents:
        began = time.monotonic()
        await resident.send("BANTUAN")
        assert time.monotonic() - began < 3  # the webhook does not wait for Twilio
    for resident in residents:
        await resident.sees("110", within=90)
    assert twilio.contract_violations == []
