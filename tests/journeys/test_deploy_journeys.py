"""The deployment recipes' own commands, run as systemd and Docker would run them: the unit's
ExecStart (with this checkout's `sigap`) from its working directory, the image's HEALTHCHECK
against it, and SIGTERM, within the time the unit and compose.yaml give it to stop. (The image
itself, built and run: tests/journeys/test_container_journey.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

from tests.fakes.telegram import FakeTelegram
from tests.journeys.harness import free_port, until
from tests.support.keys import TEST_KEY
from tests.test_deploy import dockerfile, exec_start, unit


async def test_the_units_command_serves_healthz_and_stops_within_the_timeout(
    database_url: str, tmp_path: Path, telegram: FakeTelegram
) -> None:
    port = free_port()
    etc, data = tmp_path / "etc" / "sigap", tmp_path / "var" / "lib" / "sigap"
    etc.mkdir(parents=True)
    data.mkdir(parents=True)
    (etc / "config.toml").write_text(
        f'[storage]\nurl = "{database_url}"\nmedia_dir = "{data / "media"}"\n'
        f"[server]\nport = {port}\n"
        f'[telegram]\ntoken = "{telegram.TOKEN}"\nbase_url = "{telegram.base_url}"\n'
    )
    command = exec_start()
    command[0] = str(Path(sys.executable).parent / "sigap")
    command[command.index("/etc/sigap/config.toml")] = str(etc / "config.toml")
    log = (tmp_path / "sigap.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=data,  # the unit's WorkingDirectory
        stdout=log,
        stderr=log,
        # The data key comes from the unit's EnvironmentFile (/etc/sigap/sigap.env).
        env={k: v for k, v in os.environ.items() if not k.startswith("SIGAP_")}
        | {"SIGAP_DATA_KEY": TEST_KEY},
    )
    try:
        health = image_health_check(port)

        async def healthy() -> bool:
            checked = await asyncio.create_subprocess_exec(*health)
            return await checked.wait() == 0

        deadline = time.monotonic() + 60
        while not await healthy():
            assert process.returncode is None, (tmp_path / "sigap.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "sigap.log").read_text()
            await asyncio.sleep(0.2)
        await until("the bot's commands registered", lambda: telegram.called("setMyCommands"))

        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        timeout = int(unit()["Service"]["TimeoutStopSec"])
        assert await asyncio.wait_for(process.wait(), timeout) == 0
        assert time.monotonic() - started < 10  # the service's own promise
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()


def image_health_check(port: int) -> list[str]:
    """The Dockerfile's HEALTHCHECK command, on this test's port and with this Python."""
    given = dockerfile()["HEALTHCHECK"][0]
    found = re.search(r"CMD (\[.*\])$", given)
    assert found is not None, given
    argv: list[str] = json.loads(found.group(1))
    assert argv[0] == "python"
    return [sys.executable, *(a.replace(":8080/", f":{port}/") for a in argv[1:])]


def test_the_image_health_check_is_one_command() -> None:
    argv = image_health_check(8080)
    assert shlex.join(argv).count("/healthz") == 1
