"""Journey fixtures: the fake servers, and `sigap run` against them on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.journeys.harness import Sigap

Start = Callable[..., Awaitable[Sigap]]


@pytest.fixture
def telegram(fake: FakeTelegram) -> FakeTelegram:
    """The fake Bot API server (tests/conftest.py's `fake`)."""
    return fake


@pytest.fixture
async def twilio(twilio: FakeTwilio) -> AsyncIterator[FakeTwilio]:
    """The fake Twilio server; a journey never sends what Twilio's contract refuses."""
    yield twilio
    assert twilio.contract_violations == []


@pytest.fixture
async def start_sigap(
    database_url: str, tmp_path: Path, telegram: FakeTelegram, twilio: FakeTwilio
) -> AsyncIterator[Start]:
    """Starts `sigap run` with Telegram and WhatsApp (or only those asked for) and `extra`
    config; the process is stopped at the end, its log shown if the test failed, and the
    journey fails if its log, its database or its media folder names anyone who wrote to the
    service (Sigap.leaks, Sigap.stored_leaks)."""
    started: list[Sigap] = []

    async def start(
        extra: str = "", *, with_telegram: bool = True, with_whatsapp: bool = True
    ) -> Sigap:
        sigap = Sigap(
            tmp_path,
            database_url,
            telegram if with_telegram else None,
            twilio if with_whatsapp else None,
            extra,
        )
        started.append(sigap)
        await sigap.start()
        return sigap

    yield start
    for sigap in started:
        await sigap.close()
        print(sigap.log())  # shown by pytest when the test failed
    for sigap in started:
        assert sigap.leaks() == [], "the log names someone who wrote to the service"
        stored = await sigap.stored_leaks()
        assert stored == [], "a copy of the database or media names someone who wrote"
