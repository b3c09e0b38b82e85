"""The terminal channel: the resident's conversation in a terminal, choices as numbered options,
files attached by typing their path. Works with piped input for scripted demos."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.app import ChannelServices
from bot.delivery import CAPABILITIES
from bot.numbered import render
from handlers.conversation.messages import Attachment, Expect, Inbound, Prompt
from handlers.conversation.text import word
from handlers.taskforce.alert_texts import alert_text
from storage import reports
from storage.media import MediaProblem
from storage.models import Channel


class Console:
    capabilities = CAPABILITIES[Channel.CONSOLE]

    def __init__(
        self,
        services: ChannelServices,
        *,
        group: bool = False,
        sender: str = "terminal",
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
    ) -> None:
        self.services = services
        self.group = group  # the task force's Telegram group gets the alerts too
        self.sender = sender
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = stdin.isatty()
        self.expects_file = False
        services.conversations.on_submit.append(self.print_alert)

    async def run(self) -> None:
        """Greets (or resumes a conversation in progress), then answers line by line until
        end of input."""
        await self.send("mulai")
        while True:
            line = await self._next_line()
            if line is None:
                break
            await self.send(line)

    async def _next_line(self) -> str | None:
        """The next line, read in a daemon thread: Ctrl-C ends the chat at once, where a
        thread of asyncio.to_thread would be waited for until the next line is typed."""
        line: concurrent.futures.Future[str | None] = concurrent.futures.Future()

        def read() -> None:
            try:
                line.set_result(self._read())
            except BaseException as error:
                line.set_exception(error)

        threading.Thread(target=read, name="console-input", daemon=True).start()
        return await asyncio.wrap_future(line)

    def _read(self) -> str | None:
        if self.interactive:
            try:
                return input("> ")
            except EOFError:
                return None
        line = self.stdin.readline()
        if not line:
            return None
        line = line.rstrip("\n")
        self._write(f"> {line}")
        return line

    async def send(self, line: str) -> None:
        outcome = await self.services.conversations.handle(self.inbound(line))
        for reply in outcome.replies:
            self._write(render(reply))
        last = outcome.replies[-1] if outcome.replies else None
        self.expects_file = isinstance(last, Prompt) and last.expects is Expect.MEDIA

    def inbound(self, line: str) -> Inbound:
        """The line as a message: a file when a file is asked for and the line names an
        existing one, else text (a story or an addition typed at that step)."""
        if self.expects_file and word(line) is None and names_file(line):
            return Inbound(Channel.CONSOLE, self.sender, media=(self.attachment(line.strip()),))
        return Inbound(Channel.CONSOLE, self.sender, text=line)

    def attachment(self, typed: str) -> Attachment:
        path = Path(typed.strip("'\"")).expanduser()
        try:
            if path.stat().st_size > self.services.media.max_bytes:
                return Attachment(None, path.name, problem=MediaProblem.TOO_LARGE)
            return Attachment(path.read_bytes(), path.name)
        except OSError:
            return Attachment(None, path.name, problem=MediaProblem.UNREADABLE)

    async def print_alert(self, report_id: int) -> None:
        """The alert the task force gets (sent by `sigap run`), and who gets it."""
        async with self.services.db.read() as session:
            report = await reports.get(session, report_id)
            assert report is not None
            text = await alert_text(session, report, self.services.conversations.services)
            names = await reports.alerted_names(session, report_id)
        if self.group:
            names.append("the task force's Telegram group")
        who = (
            f"[alert to {', '.join(names)}]"
            if names
            else "[nobody gets this alert: the task force has no member yet; add the first "
            "with `sigap members add --name NAME --role admin --telegram-id ID`]"
        )
        rule = "─" * 60
        self._write(f"{rule}\n{who}\n{text}\n{rule}")

    def _write(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)


def names_file(typed: str) -> bool:
    """Whether a typed line is the path of an existing file (quoted, or with ~, is fine)."""
    try:
        return Path(typed.strip().strip("'\"")).expanduser().is_file()
    except (OSError, ValueError, RuntimeError):  # a name too long, a NUL, an unknown ~user
        return False
