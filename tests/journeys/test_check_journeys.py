"""`sigap check` as an operator runs it, another process beside the running `sigap run`: a
task force without an admin is a problem (exit status 1); with one, every part is ok but the
port, which the service itself holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.journeys.conftest import Start
from tests.journeys.harness import task_force


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
