"""Starting and stopping `sigap` as an operator does, as another process: a start-up failure the
operator can fix is one line that says what to fix, never a traceback; Ctrl-C ends quietly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.telegram import FakeTelegram
from tests.support.cli import run_sigap, start_sigap_run, without_settings
from tests.support.database import pg_url

ROOT = Path(__file__).resolve().parent.parent
WHATSAPP = """
[whatsapp]
account_sid = "AC00000000000000000000000000000000"
auth_token = "twilio-secret"
from = "whatsapp:+14155238886"
public_url = "https://sigap.example.org"
"""


def environment(tmp_path: Path, url: str | None = None) -> dict[str, str]:
    env = without_settings()
    env["SIGAP_STORAGE_URL"] = url or f"sqlite:///{tmp_path / 'sigap.db'}"
    env["SIGAP_MEDIA_DIR"] = str(tmp_path / "media")
    return env


def sigap(tmp_path: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_sigap(args, tmp_path, environment(tmp_path, url))


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
        process = await start_sigap_run(
            config, tmp_path, environment(tmp_path), stdout=subprocess.PIPE
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    done = subprocess.CompletedProcess(
        ["sigap", "run"], process.returncode or 0, stdout.decode(), stderr.decode()
    )
    assert one_line(done) == (
        "Error: Telegram refused the bot token: check [telegram] token or SIGAP_TELEGRAM_TOKEN"
    )


def read_until(fd: int, text: str, seen: bytearray, timeout: float = 60) -> None:
    """Reads what the process writes until `text` shows (the process is ready for what the
    test does next)."""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} never came; got {bytes(seen)!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"the process ended before {text!r}; got {bytes(seen)!r}"
            seen += chunk


@contextlib.contextmanager
def started(
    tmp_path: Path, command: list[str], *, terminal: int | None = None, group: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """The command running as another process (stdin held open, or a terminal), killed at
    the end if it is still running."""
    process = subprocess.Popen(
        command,
        stdin=terminal if terminal is not None else subprocess.PIPE,
        stdout=terminal if terminal is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=environment(tmp_path),
        start_new_session=group,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            if group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        process.communicate()


def ctrl_c(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    """Ctrl-C while the chat waits for the next line (a terminal signals its whole foreground
    process group). The moment before lets the chat get into its read: that is when Ctrl-C
    used to wait for a line that never came."""
    time.sleep(0.5)
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)


def ended_quietly(process: subprocess.Popen[bytes], seen: bytes = b"") -> str:
    """Asserts the process ended with status 130 and no complaint; returns its stderr."""
    process.wait(timeout=30)
    assert process.stderr is not None
    stderr = (seen + process.stderr.read()).decode()
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert process.returncode == 130
    return stderr


SIGAP = [sys.executable, "-m", "bot.cli"]
DEV = [sys.executable, str(ROOT / "dev.py")]


def test_ctrl_c_ends_the_terminal_chat_quietly(tmp_path: Path) -> None:
    with started(tmp_path, [*SIGAP, "chat"]) as chat:
        assert chat.stdin is not None and chat.stdout is not None
        chat.stdin.write(b"bantuan\n")
        chat.stdin.flush()
        read_until(chat.stdout.fileno(), "110", bytearray())
        ctrl_c(chat)
        ended_quietly(chat)


def test_ctrl_c_ends_the_chat_in_a_terminal_quietly(tmp_path: Path) -> None:
    terminal, chat_side = pty.openpty()
    with started(tmp_path, [*SIGAP, "chat"], terminal=chat_side) as chat:
        os.close(chat_side)
        seen = bytearray()
        read_until(terminal, "Bahasa / Language", seen)
        os.write(terminal, b"bantuan\n")
        read_until(terminal, "110", seen)
        ctrl_c(chat)
        ended_quietly(chat)
    os.close(terminal)


def test_ctrl_c_ends_dev_py_chat_quietly(tmp_path: Path) -> None:
    with started(tmp_path, [*DEV, "chat"], group=True) as chat:
        assert chat.stdout is not None
        read_until(chat.stdout.fileno(), "Bahasa / Language", bytearray())
        ctrl_c(chat, group=True)
        ended_quietly(chat)


def test_ctrl_c_ends_dev_py_run_quietly(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(f"[server]\nport = 0\n{WHATSAPP}", encoding="utf-8")
    with started(tmp_path, [*DEV, "run"], group=True) as service:
        assert service.stderr is not None
        seen = bytearray()
        read_until(service.stderr.fileno(), "web server on http://", seen)
        os.killpg(service.pid, signal.SIGINT)
        assert "INFO bot.service: stopping" in ended_quietly(service, bytes(seen))
