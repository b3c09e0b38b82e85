"""The operator's checks, each another process beside the running `sigap run`: `sigap check`
(a task force without an admin is a problem, exit status 1; with one, every part is ok but the
port, which the service itself holds) and `sigap members test` (a test alert on each channel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.journeys.conftest import Start
from tests.journeys.harness import task_force

NOTICE = "HX" + "c3" * 16


async def test_the_operator_checks_the_set_up_of_a_running_service(
    start_sigap: Start, tmp_path: Path
) -> None:
    sigap = await start_sigap(with_whatsapp=False)
    await task_force(sigap, tmp_path)
    said = await sigap.cli("check", check=False)
    assert "PROBLEM  members: no admin, so nobody can add members" in said, said
    with pytest.raises(AssertionError, match="sigap check failed"):
        await sigap.cli("check")

    await sigap.cli("members", "add", "--name", "Dewi", "--role", "admin", "--telegram-id", "9004")
    said = await sigap.cli("check")
    assert "PROBLEM" not in said, said
    for line in (
        "ok       database: reachable, migrated",
        "ok       members: 1 admin(s), 1 coordinator(s)",
        "ok       roster: someone is on duty now and over the next 24 hours",
        "ok       telegram: the token is @SigapTestBot's",
        "ok       telegram: polling (no webhook set)",
        "ok       clock: within",
        "ok       whatsapp: not configured",
    ):
        assert line in said, said
    assert "is in use: fine if it is `sigap run` itself" in said, said


async def test_the_operator_sends_a_member_a_test_alert_on_each_channel(
    start_sigap: Start, telegram: FakeTelegram, twilio: FakeTwilio
) -> None:
    """Telegram takes it; on WhatsApp the notice template goes out, and Twilio's report of
    delivery is waited for. A number Twilio could not deliver to says so."""
    sigap = await start_sigap(f'[whatsapp.templates]\nnotice = "{NOTICE}"\n')
    await sigap.cli(
        "members", "add", "--name", "Eka", "--telegram-id", "9005", "--whatsapp", "+6281200000005"
    )
    twilio.later_status["whatsapp:+6281200000005"] = "delivered"
    said = await sigap.cli("members", "test", "Eka", "--wait", "5")
    assert "telegram 9005: delivered" in said, said
    assert "whatsapp +6281200000005: delivered" in said, said
    [alert] = telegram.texts(9005)
    assert alert.startswith("Sigap test alert for Eka")
    [sent] = twilio.to("whatsapp:+6281200000005")
    assert sent.params["ContentSid"] == NOTICE

    twilio.later_status["whatsapp:+6281200000005"] = "undelivered"
    said = await sigap.cli("members", "test", "Eka", "--wait", "5")
    assert "whatsapp +6281200000005: NOT delivered (Twilio: undelivered)" in said, said
