"""Journeys of the data key (storage/sealing.py): an operator gives the service a new key and
reseals everything with `sigap keys rotate` while residents and members go on; the old key is
then removed, and nothing that was stored is lost. Every journey also checks that a copy of the
database and the media folder names nobody (tests/journeys/conftest.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage.sealing import DataKey
from tests.fakes.telegram import FakeTelegram
from tests.journeys.conftest import Start
from tests.journeys.harness import (
    ANDI,
    RESIDENT,
    STORY,
    TelegramUser,
    report_with_buttons,
    task_force,
)
from tests.support.keys import TEST_KEY


async def test_a_new_data_key_reseals_everything_while_the_service_runs(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT)
    andi = TelegramUser(telegram, ANDI)
    reference = await report_with_buttons(resident)
    await andi.sees(f"New report {reference}")

    # The operator's steps (docs/DEPLOY.md): the new key current, the old one kept, a restart.
    new = DataKey.new()
    sigap.configure(f'[privacy]\ndata_key = "{new}"\nold_data_keys = ["{TEST_KEY}"]\n')
    await sigap.stop()
    await sigap.start()
    warned = "some values are still sealed with data key ktest: run `sigap keys rotate`"
    assert warned in sigap.log()

    # `sigap keys rotate` runs beside the service while the member reads the report.
    rotating = asyncio.create_task(sigap.cli("keys", "rotate"))
    await andi.press("Details")
    details = await andi.sees("What happened:")
    said = await rotating
    assert STORY in details
    assert f"everything is sealed with data key {new.id}" in said and "report" in said

    # The old key goes; the report, the chat and the case are all still there.
    sigap.configure(f'[privacy]\ndata_key = "{new}"\n')
    await sigap.stop()
    await sigap.start()
    shown = await sigap.cli("reports", "show", reference)
    assert STORY in shown
    await resident.send("status")
    status = await resident.sees(reference)
    assert "received" in status.lower() or "new" in status.lower()
    await andi.press("Acknowledge")
    await andi.sees(f"Thank you, Andi: report {reference} is yours")


async def test_the_service_does_not_start_without_the_key_the_database_needs(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap(with_whatsapp=False)
    await report_with_buttons(TelegramUser(telegram, RESIDENT))
    await sigap.stop()
    other = DataKey.new()
    sigap.configure(f'[privacy]\ndata_key = "{other}"\n')  # the old key lost
    refused = await sigap.cli("reports", "list", check=False)
    assert refused.strip().splitlines() == [
        "Error: the database is sealed with data key ktest, which is not configured: give it "
        "as [privacy] data_key (or in old_data_keys until `sigap keys rotate` has finished)"
    ]
    sigap.configure(f'[privacy]\ndata_key = "{TEST_KEY}"\n')
    await sigap.start()  # the right key back: all is there
    listed = await sigap.cli("reports", "list")
    assert "BTN-" in listed
