"""What journey tests share: `sigap run` started as an operator starts it (another process, a
config file), the fake Telegram and Twilio servers behind it, and people who can only do what
a person can do from outside: send a message, press a button the fake Bot API received, post
a signed webhook, run the `sigap` CLI."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import text
from sqlmodel import SQLModel
from twilio.request_validator import RequestValidator

from storage.db import Database
from storage.sealing import FILE_MAGIC
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support.answers import CONTACT_NUMBER, ENGLISH_STORY, INDONESIAN_STORY
from tests.support.keys import TEST_KEY
from tests.support.task_force import DEWI

SANDBOX = "whatsapp:+14155238886"
REFERENCE = re.compile(r"\b[A-Za-z]{2,8}-\d{4}-\d{3,}\b")
PHONE = re.compile(r"\+?\d[\d -]{6,}\d")  # as people type numbers: 0812-1111-2222
WAIT = 30.0  # seconds anything a person waits for may take, at most
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def phone_forms(number: str) -> set[str]:
    """The ways a number may be written in a log: as typed, its digits, in E.164."""
    digits = re.sub(r"\D", "", number)
    forms = {number.strip(), digits}
    if digits.startswith("0"):
        forms |= {"62" + digits[1:], "+62" + digits[1:]}
    else:
        forms.add("+" + digits)
    return {f for f in forms if len(re.sub(r"\D", "", f)) >= 7}


async def until(what: str, check: Callable[[], T | None], within: float = WAIT) -> T:
    """Polls `check` until it gives something; fails saying what was awaited."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within:.0f}s for {what}")
        await asyncio.sleep(0.05)


class Sigap:
    """`sigap run --config FILE` in a process of its own, and the `sigap` CLI beside it."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        telegram: FakeTelegram | None,
        twilio: FakeTwilio | None,
        extra: str = "",
        *,
        public_url: str = "",
        media: Path | None = None,
    ) -> None:
        """`public_url`: where Telegram and Twilio reach it (a proxy in front of several
        processes), its own address by default; `media`: the media folder (shared by several
        processes), `folder`/media by default."""
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.public_url = public_url or self.url
        self.media = media or folder / "media"
        self.config = folder / "config.toml"
        self.log_path = folder / "sigap.log"
        self.database_url = database_url
        self.telegram = telegram
        self.twilio = twilio
        self.configure(extra)
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0
        self.said_on_whatsapp: list[tuple[str, str]] = []  # (number, body) people sent

    def configure(self, extra: str = "", **server: float) -> None:
        """Writes the config file: the fakes, the database, `[server]` keys and `extra`
        (whole tables); the next start reads it."""
        telegram, twilio = self.telegram, self.twilio
        server_keys = "".join(f"{key} = {value}\n" for key, value in server.items())
        parts = [
            f'[storage]\nurl = "{self.database_url}"\nmedia_dir = "{self.media}"\n',
            f'[server]\nport = {self.port}\npublic_url = "{self.public_url}"\n{server_keys}',
            '[bot]\ndefault_language = "en"\n',
        ]
        if "[privacy]" not in extra:
            parts.append(f'[privacy]\ndata_key = "{TEST_KEY}"\n')
        if telegram is not None and "[telegram]" not in extra:
            # People here answer faster than Telegram lets a bot write to one chat (once a
            # second): the limits are lifted, as they are not what these journeys are about.
            parts.append(
                f'[telegram]\ntoken = "{telegram.TOKEN}"\nbase_url = "{telegram.base_url}"\n'
                "chat_messages_per_second = 30\ngroup_messages_per_minute = 60\n"
            )
        if "[intake]" not in extra:
            # Journeys go as fast as the fakes answer: a resident here reports again and again
            # within a minute (the limit has its own journey, test_hostile_journeys.py).
            parts.append("[intake]\nmax_messages_per_minute = 1000\n")
        if twilio is not None:
            parts.append(
                f'[whatsapp]\naccount_sid = "{ACCOUNT_SID}"\nauth_token = "{AUTH_TOKEN}"\n'
                f'from = "{SANDBOX}"\napi_base_url = "{twilio.base_url}"\n'
            )
        parts.append(extra)
        self.config.write_text("\n".join(parts))

    def telegram_table(self, **settings: float) -> str:
        """A `[telegram]` table for `configure`, with these settings besides the fake's."""
        assert self.telegram is not None
        lines = [f'token = "{self.telegram.TOKEN}"', f'base_url = "{self.telegram.base_url}"']
        lines += [f"{key} = {value}" for key, value in settings.items()]
        return "[telegram]\n" + "\n".join(lines) + "\n"

    async def start(self) -> None:
        """Starts the service and waits until it answers /healthz with its jobs run once."""
        self.runs += 1
        log = self.log_path.open("ab")
        log.write(f"\n--- start {self.runs} ---\n".encode())
        log.flush()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(self.config),
            cwd=self.folder,
            stdout=log,
            stderr=log,
            env={k: v for k, v in os.environ.items() if not k.startswith("SIGAP_")},
        )
        log.close()

        async def ready() -> bool:
            health = await self.health()
            return health is not None and all(j["last_ok"] for j in health["jobs"].values())

        deadline = time.monotonic() + 60
        while not await ready():
            if self.process.returncode is not None:
                raise AssertionError(f"sigap run exited at start:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"sigap run did not get ready:\n{self.log()}")
            await asyncio.sleep(0.1)

    async def health(self) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient() as client:
                response = await client.get(self.url + "/healthz", timeout=5)
        except httpx.HTTPError:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def stop(self) -> int:
        """SIGTERM, as systemd or Ctrl-C stops it; its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 60)

    async def kill(self) -> None:
        """SIGKILL: the process dies wherever it is."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def leaks(self) -> list[str]:
        """The lines of the service's log that name someone who wrote to it (`naming`)."""
        leaking = self.naming()
        if leaking is None:
            return []
        return [line for line in self.log().splitlines() if leaking.search(line)]

    async def stored_leaks(self) -> list[str]:
        """What a copy of the database and the media folder shows of someone who wrote to the
        service (`naming`): each value in clear that names them, as table.column; and each
        file of the media store that is not sealed."""
        leaking = self.naming(residents_only=True)
        found = []
        if leaking is not None:
            db = Database(self.database_url)
            try:
                async with db.engine.connect() as conn:
                    for table in SQLModel.metadata.sorted_tables:
                        rows = await conn.execute(text(f'SELECT * FROM "{table.name}"'))
                        for row in rows:
                            for column, value in row._mapping.items():
                                if value is not None and leaking.search(str(value)):
                                    found.append(f"{table.name}.{column}: {str(value)[:100]}")
            finally:
                await db.close()
        media = self.media
        files = [p for p in media.rglob("*") if p.is_file()] if media.is_dir() else []
        found += [f"{p}: not sealed" for p in files if not p.read_bytes().startswith(FILE_MAGIC)]
        return found

    def naming(self, *, residents_only: bool = False) -> re.Pattern[str] | None:
        """What names someone who wrote to the service: a chat id of theirs, a phone number
        (theirs, or one they typed), or five words in a row of what they wrote (a story, a
        note, a message). Whole tokens: a port or a timestamp that holds the digits of a chat
        id does not count. `residents_only`: not what the task force's members wrote (a broadcast
        is meant to be read by anyone)."""
        chats, numbers, texts = set(), set(), [STORY, ENGLISH_STORY, INDONESIAN_STORY]
        numbers.add(CONTACT_NUMBER)
        if self.telegram is not None:
            for update in self.telegram.made:
                found = update.get("message") or update["callback_query"]
                if residents_only and found["from"]["id"] in MEMBERS:
                    continue
                chats.add(str(found["from"]["id"]))
                contact = found.get("contact")
                if contact:
                    numbers.add(contact["phone_number"])
                texts.append(found.get("text") or found.get("caption") or "")
        for number, body in self.said_on_whatsapp:
            numbers.add(number)
            texts.append(body)
        if self.twilio is not None:
            numbers.update(
                m.params.get("To", "").removeprefix("whatsapp:") for m in self.twilio.messages
            )
        for said in texts:  # a reference (BTN-2026-00001) is not a number that names anyone
            numbers.update(PHONE.findall(REFERENCE.sub(" ", said)))
        patterns = [rf"(?<![\w.:/#-]){chat}(?![\w]|[.:/-]\w)" for chat in chats]
        for number in filter(None, numbers):
            patterns += [rf"(?<!\d){re.escape(form)}(?!\d)" for form in phone_forms(number)]
        for said in texts:
            words = said.split()
            patterns += [re.escape(" ".join(words[i : i + 5])) for i in range(len(words) - 4)]
        return re.compile("|".join(patterns)) if patterns else None

    async def cli(self, *arguments: str, input: str | None = None, check: bool = True) -> str:
        """`sigap ARGUMENTS --config FILE` as another process; its output."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            *arguments,
            "--config",
            str(self.config),
            cwd=self.folder,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("SIGAP_")},
        )
        out, _ = await asyncio.wait_for(
            process.communicate(None if input is None else input.encode()), 120
        )
        text = out.decode()
        if check and process.returncode != 0:
            raise AssertionError(f"sigap {' '.join(arguments)} failed:\n{text}")
        return text

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.kill()


class TelegramUser:
    """Someone on Telegram: writes to the bot, presses buttons on what it sent, reads."""

    def __init__(self, fake: FakeTelegram, chat: int, *, language: str = "en") -> None:
        self.fake = fake
        self.chat = chat
        self.language = language
        self.read = 0  # messages of this chat read so far

    def texts(self) -> list[str]:
        return self.fake.texts(self.chat)

    async def send(self, text: str) -> None:
        self.fake.push_update(self.fake.message(self.chat, text, language_code=self.language))

    async def press(self, label: str, *, user: int | None = None) -> None:
        """Presses the newest button so labelled, with the callback data it was sent with."""
        message_id, data = await until(
            f"a button {label!r} in chat {self.chat}", lambda: self.button(label)
        )
        self.fake.push_update(
            self.fake.callback(
                self.chat, data, message_id=message_id, user_id=user, language_code=self.language
            )
        )

    def button(self, label: str) -> tuple[int, str] | None:
        for message_id, rows in reversed(self.fake.keyboards(self.chat)):
            for row in rows:
                for button in row:
                    if label.lower() in button["text"].lower():
                        return message_id, str(button["callback_data"])
        return None

    async def sees(self, text: str, within: float = WAIT) -> str:
        """Waits for a new message containing `text`; returns it (later ones stay unread)."""

        def found() -> str | None:
            texts = self.texts()
            for index in range(self.read, len(texts)):
                if text.lower() in texts[index].lower():
                    self.read = index + 1
                    return texts[index]
            return None

        return await until(
            f"{text!r} in chat {self.chat}:\n{self.texts()[self.read :]}", found, within
        )

    async def answer(self, text: str, expect: str) -> str:
        await self.send(text)
        return await self.sees(expect)


MESSAGE_SIDS = itertools.count(1)


class WhatsAppUser:
    """Someone on WhatsApp: Twilio posts their messages, signed, to the service's webhook;
    what the bot sends them is what the fake Twilio was asked to send."""

    def __init__(self, sigap: Sigap, twilio: FakeTwilio, number: str) -> None:
        self.sigap = sigap
        self.twilio = twilio
        self.number = number
        self.read = 0

    def bodies(self) -> list[str]:
        return self.twilio.bodies(self.number)

    async def send(self, body: str, **fields: str) -> httpx.Response:
        """Posts the message; `fields` are more of Twilio's (NumMedia, MediaUrl0...)."""
        self.sigap.said_on_whatsapp.append((self.number, body))
        params = {
            "MessageSid": f"SM{next(MESSAGE_SIDS):032x}",
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{self.number}",
            "To": SANDBOX,
            "Body": body,
            "NumMedia": "0",
            "WaId": self.number.lstrip("+"),
            **fields,
        }
        url = self.sigap.public_url + "/whatsapp/inbound"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        async with httpx.AsyncClient() as client:
            response = await client.post(
                url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30
            )
        assert response.status_code == 200, response.text
        return response

    async def sees(self, text: str, within: float = WAIT) -> str:
        def found() -> str | None:
            bodies = self.bodies()
            for index in range(self.read, len(bodies)):
                if text.lower() in bodies[index].lower():
                    self.read = index + 1
                    return bodies[index]
            return None

        return await until(
            f"{text!r} to {self.number}:\n{self.bodies()[self.read :]}", found, within
        )

    async def answer(self, text: str, expect: str) -> str:
        await self.send(text)
        return await self.sees(expect)


# The task force and a resident's report, as the journeys on Telegram make them.

GROUP = -1009999
RESIDENT, ANDI, BUDI, CITRA = 5001, 9001, 9002, 9003
MEMBERS = {ANDI, BUDI, CITRA, DEWI}  # the task force's chat ids in every journey
STORY = "An agent in Tanjung Uban offers kitchen work in Johor and wants 5 million first."
# Everyone on duty all week: a shift whose end is its start lasts 24 hours.
ALL_WEEK = "day,start,end,members\n" + "".join(
    f"{day},00:00,00:00,{{members}}\n" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)


async def task_force(sigap: Sigap, folder: Path, on_duty: str = "Andi") -> None:
    """What an operator does first: members with their Telegram ids, a roster."""
    await sigap.cli("members", "add", "--name", "Andi", "--telegram-id", str(ANDI))
    await sigap.cli("members", "add", "--name", "Budi", "--telegram-id", str(BUDI))
    await sigap.cli(
        "members", "add", "--name", "Citra", "--role", "coordinator", "--telegram-id", str(CITRA)
    )
    roster = folder / "roster.csv"
    roster.write_text(ALL_WEEK.format(members=on_duty))
    await sigap.cli("roster", "import", str(roster))


async def report_with_buttons(resident: TelegramUser) -> str:
    """A whole report made by pressing buttons (and typing the story); its reference."""
    await up_to_the_summary(resident)
    await resident.press("Send the report")
    return await reference_of(resident)


async def reference_of(resident: TelegramUser) -> str:
    thanks = await resident.sees("Your reference number")
    found = re.search(r"BTN-\d{4}-\d{5}", thanks)
    assert found, thanks
    return found[0]


async def up_to_the_summary(resident: TelegramUser) -> None:
    await up_to_the_recruiter(resident)
    await resident.press("Skip")
    await resident.sees("Tell us what happened")
    await resident.answer(STORY, "Please check your report")
    await details_to_the_summary(resident)


async def up_to_the_recruiter(resident: TelegramUser) -> None:
    """An anonymous report with buttons, up to the recruiter question."""
    await resident.answer("/start", "What would you like to do?")
    await resident.press("Report a suspicious job offer")
    await resident.sees("is any of these happening?")
    await resident.press("None of these")
    await resident.sees("May they contact you")
    await resident.press("No, stay anonymous")
    await resident.sees("Who received this offer")
    await the_offer(resident)


async def up_to_the_warning_signs(resident: TelegramUser) -> None:
    """From "who received this offer" to the warning signs: family, no child, work in
    Malaysia."""
    for label, next_question in [
        ("My family", "Is a child"),
        ("No", "What kind of job"),
        ("Work abroad", "Where is the job supposed to be?"),
        ("Malaysia", "Which of these happened?"),
    ]:
        await resident.press(label)
        await resident.sees(next_question)


async def the_offer(resident: TelegramUser) -> None:
    """From "who received this offer" to the recruiter question: family, no child, work in
    Malaysia, fees demanded up front."""
    await up_to_the_warning_signs(resident)
    await resident.press("Fees demanded up front")  # ticked in place
    await until("the tick", lambda: resident.button("✅ Fees demanded up front"))
    await resident.press("Done")
    await resident.sees("identifies the recruiter")


async def details_to_the_summary(resident: TelegramUser) -> None:
    """From the summary, the details: a chat message, no files, Toapaya; back at it."""
    for label, next_question in [
        ("Add details", "How did the offer come?"),
        ("A chat message", "photos, screenshots or documents"),
        ("Skip", "Where did this happen"),
    ]:
        await resident.press(label)
        await resident.sees(next_question)
    await resident.press("Toapaya")
    await resident.sees("Please check your report")
