"""Starting `sigap` as an operator does, as another process: a start-up failure the operator can
fix is one line that says what to fix, never a traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import pg_url
from tests.fakes.telegram import FakeTelegram

WHATSAPP = """
[whatsapp]
account_sid = "AC00000000000000000000000000000000"
auth_token = "twilio-secret"
from = "whatsapp:+14155238886"
public_url = "https://sigap.example.org"
"""


def environment(tmp_path: Path, url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGAP_")}
    env["SIGAP_STORAGE_URL"] = url or f"sqlite:///{tmp_path / 'sigap.db'}"
    env["SIGAP_MEDIA_DIR"] = str(tmp_path / "media")
    return env


def sigap(tmp_path: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment(tmp_path, url),
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The line a failed start-up ends with; nothing else on stderr but log lines."""
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("Error")] == lines[-1:], done.stderr
    return lines[-1]


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_port_in_use_names_the_port_and_its_config_key(
    tmp_path: Path, occupied_port: int
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[server]\nport = {occupied_port}\n{WHATSAPP}", encoding="utf-8")
    done = sigap(tmp_path, "run", "--config", str(config))
    assert one_line(done) == (
        f"Error: the web server cannot start: port {occupied_port} is in use "
        "(another sigap run?): change [server] port"
    )


COMMANDS = [["reports", "list"], ["db", "upgrade"], ["chat"], ["run"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_postgresql_down_is_named_without_the_password(tmp_path: Path, command: list[str]) -> None:
    done = sigap(tmp_path, *command, url="postgresql://sigap:s3cret@127.0.0.1:1/sigap")
    assert one_line(done) == (
        "Error: cannot open the database postgresql+psycopg://sigap:***@127.0.0.1:1/sigap: "
        "connection refused (is the server running?)"
    )
    assert "s3cret" not in done.stderr + done.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_postgresql_database_is_named(tmp_path: Path, command: list[str]) -> None:
    line = one_line(sigap(tmp_path, *command, url=pg_url("sigap_no_such_database")))
    assert line.startswith("Error: cannot open the database postgresql+psycopg://")
    assert line.endswith(
        '/sigap_no_such_database: database "sigap_no_such_database" does not exist'
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_sqlite_file_in_a_missing_folder_is_named(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "missing" / "sigap.db"
    done = sigap(tmp_path, *command, url=f"sqlite:///{path}")
    assert one_line(done) == (
        f"Error: cannot open the database sqlite+aiosqlite:///{path}: "
        f"the folder {path.parent} does not exist"
    )
    assert not path.parent.exists()


async def test_a_token_telegram_refuses_is_one_line(tmp_path: Path) -> None:
    async with FakeTelegram() as fake:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[server]\nport = 0\n[telegram]\ntoken = "123456:WRONG"\n'
            f'base_url = "{fake.base_url}"\n',
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(config),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env=environment(tmp_path),
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    done = subprocess.CompletedProcess(
        ["sigap", "run"], process.returncode or 0, stdout.decode(), stderr.decode()
    )
    assert one_line(done) == (
        "Error: Telegram refused the bot token: check [telegram] token or SIGAP_TELEGRAM_TOKEN"
    )
