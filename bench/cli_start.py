"""How soon `sigap` answers, each command run as a fresh process as an operator runs it (goal of
issue #17: `sigap --help` and `sigap reports list` under 0.5 s), beside two baselines measured
in the same run: `python -c pass` (the interpreter alone) and `python -c "import sqlalchemy"`
(the least a command that reads the database loads). `reports list` reads a SQLite database of
--reports reports that the bench makes first, through the conversation, as residents would.

    python3 dev.py bench cli_start [--runs 15] [--reports 20]

The commands take turns, one run of each per round, so that whatever else the machine does
weighs on all of them alike. Figures: the best and the median wall time of each, and the best
as a multiple of each baseline's best.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.app import build
from bot.config import PrivacySettings, Settings
from handlers.conversation.messages import Inbound
from storage.models import Channel
from storage.sealing import DataKey
from storage.settings import StorageSettings
from tests.support.answers import ENGLISH_REPORT

PYTHON = sys.executable
SIGAP = str(Path(PYTHON).with_name("sigap"))  # the console script pip installed
BASELINES = {
    "python -c pass": [PYTHON, "-c", "pass"],
    'python -c "import sqlalchemy"': [PYTHON, "-c", "import sqlalchemy"],
}
COMMANDS = {
    "sigap --help": [SIGAP, "--help"],
    "sigap reports --help": [SIGAP, "reports", "--help"],
    "sigap reports list": [SIGAP, "reports", "list"],
    "sigap --version": [SIGAP, "--version"],
}
GOAL = 0.5  # seconds, for --help and reports list


async def seed(settings: Settings, count: int) -> None:
    """`count` reports, each told by a different resident in the terminal chat's words."""
    app = await build(settings)
    try:
        for n in range(count):
            sender = f"resident-{n}"
            for answer, _question in ENGLISH_REPORT:
                await app.conversations.handle(Inbound(Channel.CONSOLE, sender, text=answer))
            await app.conversations.handle(Inbound(Channel.CONSOLE, sender, text="1"))
    finally:
        await app.close()


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command")
    parser.add_argument("--reports", type=int, default=20, help="reports in the database")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sigap-bench-") as work:
        folder = Path(work)
        key = str(DataKey.new())
        url = f"sqlite:///{folder / 'sigap.db'}"
        settings = Settings(
            privacy=PrivacySettings(data_key=key),
            storage=StorageSettings(url=url, media_dir=folder / "media"),
        )
        asyncio.run(seed(settings, arguments.reports))
        # As an operator's shell: no config file here, the database and the key in SIGAP_*.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGAP_")}
        env |= {"SIGAP_STORAGE_URL": url, "SIGAP_MEDIA_DIR": str(folder / "media")}
        env["SIGAP_DATA_KEY"] = key
        listed = subprocess.run(
            COMMANDS["sigap reports list"], cwd=folder, env=env, capture_output=True, text=True
        )
        assert listed.returncode == 0, listed.stderr
        assert len(listed.stdout.splitlines()) == arguments.reports + 1, listed.stdout

        every = {**BASELINES, **COMMANDS}
        times: dict[str, list[float]] = {name: [] for name in every}
        for _round in range(arguments.runs):
            for name, command in every.items():
                times[name].append(timed(command, folder, env))

    bare, sqlalchemy = (min(times[name]) for name in BASELINES)
    print(
        f"{arguments.runs} runs each, {arguments.reports} reports in the database "
        f"(goal: --help and reports list under {GOAL:g} s)"
    )
    print(f"{'':32} {'best':>7} {'median':>7}   best / python   best / import sqlalchemy")
    for name, found in times.items():
        best = min(found)
        print(
            f"{name:32} {best:6.3f}s {statistics.median(found):6.3f}s"
            f"   {best / bare:13.1f}   {best / sqlalchemy:24.2f}"
        )


if __name__ == "__main__":
    main()
