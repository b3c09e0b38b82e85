"""The `sigap` command run as another process, as an operator runs it, and the terminal chat
fed a script of answers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.answers import Turns, check_reply


def without_settings() -> dict[str, str]:
    """This environment without a SIGAP_ variable, as where Sigap was never configured, but
    for the tests' data key (SIGAP_DATA_KEY): without a key, nothing starts."""
    kept = {"SIGAP_DATA_KEY"}
    return {k: v for k, v in os.environ.items() if not k.startswith("SIGAP_") or k in kept}


def run_sigap(
    args: Sequence[str], cwd: Path, env: Mapping[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`sigap ARGS` as another process, as an operator runs it: its exit status, what it
    printed and what it complained about. It reads `stdin`, or nothing."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


async def start_sigap_run(
    config: Path, cwd: Path, env: Mapping[str, str], *, stdout: int | None = None
) -> asyncio.subprocess.Process:
    """`sigap run --config CONFIG` started as another process, reading nothing, its log
    (stderr) piped to the test."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
    )


def sigap(args: list[str], cwd: Path, url: str, stdin: str = "") -> str:
    """Runs `sigap ARGS` on the database at `url`; it must succeed; returns what it printed."""
    env = {**os.environ, "SIGAP_STORAGE_URL": url, "SIGAP_MEDIA_DIR": str(cwd / "media")}
    done = run_sigap(args, cwd, env, stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def terminal_chat(turns: Turns, cwd: Path, url: str, *options: str) -> str:
    """Types the answers into `sigap chat OPTIONS`, checks that the bot's reply to each
    contains the expected text, and returns the whole transcript."""
    transcript = sigap(["chat", *options], cwd, url, stdin="".join(f"{s}\n" for s, _ in turns))
    # The chat echoes each line it reads as "> line"; what follows up to the next is the reply.
    replies = transcript.split("\n> ")[1:]
    assert len(replies) == len(turns), transcript
    for (sent, expected), reply in zip(turns, replies, strict=True):
        echoed, _, answer = reply.partition("\n")
        assert echoed == sent, f"the chat read {echoed!r} for {sent!r}"
        check_reply(sent, expected, answer)
    return transcript
