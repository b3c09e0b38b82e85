"""Journeys of hostile or overwhelming input through `sigap run`: a resident who floods the
bot is told to slow down, once, and the report they were writing is intact."""

from __future__ import annotations

import asyncio
import time

from tests.fakes.telegram import FakeTelegram
from tests.journeys.conftest import Start
from tests.journeys.harness import (
    RESIDENT,
    STORY,
    TelegramUser,
    reference_of,
    until,
    up_to_the_summary,
)

LIMIT = 20
SETUP = 16  # the messages up_to_the_summary sends
SLOW_DOWN = "at most 20 a minute"


async def test_a_resident_sending_30_messages_at_once_is_told_once_and_the_report_is_intact(
    start_sigap: Start, telegram: FakeTelegram
) -> None:
    sigap = await start_sigap(f"[intake]\nmax_messages_per_minute = {LIMIT}\n")
    resident = TelegramUser(telegram, RESIDENT)
    started = time.monotonic()  # the chat's minute begins with its first message
    await up_to_the_summary(resident)
    assert time.monotonic() - started < 45, "too slow to count within one minute"
    before = len(resident.texts())
    for _ in range(30):
        await resident.send("hello")
    await resident.sees(SLOW_DOWN)
    await until("all 30 taken from Telegram", lambda: telegram.pending == 0)
    await asyncio.sleep(1)  # any answer to them would have been sent by now
    flood = resident.texts()[before:]
    assert sum("Hello!" in text for text in flood) == LIMIT - SETUP  # all under the limit
    (notice,) = [i for i, text in enumerate(flood) if SLOW_DOWN in text]
    # Then only the summary again, with its buttons for after the minute; nothing after it.
    assert [text.split(":")[0] for text in flood[notice + 1 :]] == ["Please check your report"]

    # As told: wait out the minute, then go on where the report stood.
    await asyncio.sleep(max(0.0, started + 61 - time.monotonic()))
    await resident.press("Send the report")
    reference = await reference_of(resident)
    shown = await sigap.cli("reports", "show", reference)
    assert STORY in shown and "Toapaya" in shown and "Malaysia" in shown
    assert "hello" not in shown.lower()
