"""The Telegram channel through python-telegram-bot's real HTTP stack, against a fake Bot API
server started by the test (no network)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.app import App
from bot.config import ServerSettings, Settings
from bot.delivery import Gone, split
from bot.outbox import Delivery
from bot.service import Service
from bot.telegram import TelegramChannel, TelegramLimiter, callback_data, classify
from handlers.conversation.messages import Press, button_data, read_button
from storage import conversations
from storage.models import Channel, Media, Report
from tests.fakes.telegram import FakeTelegram
from tests.support.answers import ANONYMOUS_TO_STORY, CONTACTABLE_TO_STORY, Turns, check_reply
from tests.support.cli import run_sigap, start_sigap_run, without_settings
from tests.support.clock import Clock
from tests.support.telegram import telegram_settings, webhook_service

CHAT = 5001
FIRST_QUESTION = "is any of these happening?"
STORY = "Agen menahan paspor kakak saya dan meminta uang 7 juta untuk visa kerja."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4 contract"


class Sleeps:
    """Stands in for asyncio.sleep in the rate limiter: records the waits, skips them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Channel_(TelegramChannel):
    """The channel with what a test looks at: the limiter's waits, and the delivery job that
    sends its answers."""

    sleeps: Sleeps
    delivery: Delivery


@pytest.fixture
async def tg(app: App, fake: FakeTelegram) -> AsyncIterator[Channel_]:
    sleeps = Sleeps()
    channel = Channel_(app.for_channels, telegram_settings(fake), ServerSettings(), sleep=sleeps)
    channel.sleeps = sleeps
    channel.delivery = Delivery(app.services, {Channel.TELEGRAM: channel})
    app.conversations.answered_by_outbox = {Channel.TELEGRAM}
    await channel.bot.initialize()
    channel.username = channel.bot.username
    yield channel
    await channel.bot.shutdown()


async def send(tg: Channel_, update: dict[str, Any]) -> None:
    """The update as Telegram delivers it, then its answer delivered from the outbox."""
    await tg.handle_update(Update.de_json(update, tg.bot))
    await tg.delivery.run()


async def press(tg: Channel_, fake: FakeTelegram, label: str, chat: int = CHAT) -> None:
    message_id, rows = fake.keyboard(chat)
    buttons = [b for row in rows for b in row if label.lower() in b["text"].lower()]
    assert buttons, f"no button {label!r} in {rows}"
    await send(tg, fake.callback(chat, buttons[0]["callback_data"], message_id=message_id))


async def dialog(tg: Channel_, fake: FakeTelegram, turns: Turns, language_code: str = "id") -> None:
    """Types each answer and checks that the bot's reply contains the expected text."""
    for sent, expected in turns:
        before = len(fake.texts(CHAT))
        await send(tg, fake.message(CHAT, sent, language_code=language_code))
        check_reply(sent, expected, "\n".join(fake.texts(CHAT)[before:]))


def said(fake: FakeTelegram, chat: int = CHAT) -> str:
    return "\n".join(fake.texts(chat))


async def test_a_resident_reports_with_buttons_in_english(
    tg: Channel_, fake: FakeTelegram, app: App
) -> None:
    await send(tg, fake.message(CHAT, "/start lapor", language_code="en"))
    assert FIRST_QUESTION in fake.texts(CHAT)[-1].lower()
    for label in [
        "None of these",
        "Stay anonymous",
        "My family",
        "No",
        "Work abroad",
        "Malaysia",
    ]:
        await press(tg, fake, label)
    await press(tg, fake, "Fees demanded")
    edits = fake.called("editMessageReplyMarkup")
    assert edits and "✅ Fees demanded up front" in str(edits[-1].params["reply_markup"])
    await press(tg, fake, "Done")
    await press(tg, fake, "Skip")  # the recruiter
    await send(
        tg, fake.message(CHAT, "They want 5 million rupiah before I can leave.", language_code="en")
    )
    assert "Please check your report" in fake.texts(CHAT)[-1]
    await press(tg, fake, "Add details")
    await press(tg, fake, "A chat message")
    await press(tg, fake, "Skip")  # no files
    await press(tg, fake, "Toapaya")
    assert "Please check your report" in fake.texts(CHAT)[-1]
    await press(tg, fake, "Send the report")
    assert re.search(r"Your reference number: BTN-2026-00001", said(fake))
    async with app.db.read() as session:
        (report,) = (await session.exec(select(Report))).all()
    assert report.channel is Channel.TELEGRAM and report.sender == str(CHAT)
    assert report.language == "en" and report.area == "Toapaya"
    assert report.red_flags == ["upfront_fees"]


async def test_a_resident_reports_by_typing_in_indonesian(
    tg: Channel_, fake: FakeTelegram, app: App
) -> None:
    await send(tg, fake.message(CHAT, "/lapor"))
    await dialog(
        tg,
        fake,
        [
            ("4", "Bolehkah mereka menghubungi Anda"),
            ("1", "Siapa yang menerima tawaran ini"),
            ("1", "Apakah ada anak (di bawah 18 tahun) yang terlibat?"),
            ("2", "Apa jenis pekerjaan atau tawarannya?"),
            ("1", "Katanya tempat kerjanya di mana?"),
            ("1", "Mana saja yang terjadi?"),
            ("1,2", "mengenali perekrutnya"),
            ("Pak Budi", "Sudah dicatat"),
            ("0812 3456 7890", "Nomor HP: +6281234567890"),
            ("selesai", "Ceritakan apa yang terjadi"),
            (STORY, "Mohon periksa laporan Anda"),
            ("2", "Lewat apa tawaran ini datang?"),
            ("1", "foto, tangkapan layar, atau dokumen"),
            ("selesai", "Di mana ini terjadi"),
            ("3", "Mohon periksa laporan Anda"),
        ],
    )
    assert "Mohon periksa laporan Anda" in fake.texts(CHAT)[-1]
    await send(tg, fake.message(CHAT, "1"))
    assert "BTN-2026-00001" in said(fake)
    async with app.db.read() as session:
        (report,) = (await session.exec(select(Report))).all()
    assert report.language == "id" and report.story == STORY
    assert report.red_flags == ["upfront_fees", "documents_held"]
    assert report.recruiter_name == "Pak Budi" and report.area == "Bintan Pesisir"


async def test_answered_questions_lose_their_buttons(tg: Channel_, fake: FakeTelegram) -> None:
    await send(tg, fake.message(CHAT, "/lapor", language_code="en"))
    first, _rows = fake.keyboard(CHAT)
    await press(tg, fake, "None of these")
    removed = [c for c in fake.called("editMessageReplyMarkup") if c.params["message_id"] == first]
    assert removed and "reply_markup" not in removed[-1].params
    # Typing the answer instead of pressing removes the buttons too.
    second, _rows = fake.keyboard(CHAT)
    await send(tg, fake.message(CHAT, "1", language_code="en"))  # stay anonymous
    assert any(c.params["message_id"] == second for c in fake.called("editMessageReplyMarkup"))


async def test_a_stale_button_is_answered_and_changes_nothing(
    tg: Channel_, fake: FakeTelegram, app: App
) -> None:
    await send(tg, fake.message(CHAT, "/lapor", language_code="en"))
    old_message, old_rows = fake.keyboard(CHAT)
    await press(tg, fake, "None of these")
    danger_now = old_rows[0][0]["callback_data"]
    await send(tg, fake.callback(CHAT, danger_now, message_id=old_message))
    assert len(fake.called("answerCallbackQuery")) == 2
    assert "This question has expired" in said(fake)
    assert "May they contact you" in fake.texts(CHAT)[-1]
    await send(tg, fake.callback(CHAT, "garbage", message_id=old_message))
    assert len(fake.called("answerCallbackQuery")) == 3
    async with app.db.read() as session:
        conv = await conversations.find(session, Channel.TELEGRAM, str(CHAT))
    assert conv is not None and conv.data["urgency"] == "none"


async def test_photos_and_documents_are_fetched_as_evidence(
    tg: Channel_, fake: FakeTelegram, app: App
) -> None:
    await send(tg, fake.message(CHAT, "/lapor", language_code="en"))
    await dialog(
        tg,
        fake,
        [
            *ANONYMOUS_TO_STORY,
            (
                "The agency keeps everyone's passports in a locked room.",
                "Please check your report",
            ),
            ("2", "How did the offer come?"),  # add details
            ("1", "photos, screenshots or documents"),
        ],
        language_code="en",
    )
    photo = fake.add_file(PNG)
    await send(
        tg,
        fake.message(
            CHAT,
            language_code="en",
            photo=[
                {
                    "file_id": "small",
                    "file_unique_id": "s",
                    "width": 90,
                    "height": 90,
                    "file_size": 10,
                },
                {
                    "file_id": photo,
                    "file_unique_id": "p",
                    "width": 800,
                    "height": 800,
                    "file_size": len(PNG),
                },
            ],
        ),
    )
    document = fake.add_file(PDF)
    await send(
        tg,
        fake.message(
            CHAT,
            language_code="en",
            document={
                "file_id": document,
                "file_unique_id": "d",
                "file_name": "contract.pdf",
                "file_size": len(PDF),
            },
        ),
    )
    assert "2 file(s) received" in fake.texts(CHAT)[-1]
    refused = fake.add_file(PDF, file_id="huge")
    fake.refuse_file(refused)
    await send(
        tg,
        fake.message(
            CHAT,
            language_code="en",
            document={"file_id": refused, "file_unique_id": "h", "file_name": "video.pdf"},
        ),
    )
    assert "That file is too large" in said(fake)
    big = fake.add_file(b"x", file_size=50 * 1024 * 1024)
    await send(
        tg,
        fake.message(
            CHAT,
            language_code="en",
            document={
                "file_id": big,
                "file_unique_id": "b",
                "file_name": "big.pdf",
                "file_size": 50 * 1024 * 1024,
            },
        ),
    )
    assert said(fake).count("That file is too large") == 2
    async with app.db.read() as session:
        files = (await session.exec(select(Media))).all()
    assert sorted(f.content_type for f in files) == ["application/pdf", "image/png"]
    assert [c.params["file_id"] for c in fake.called("getFile")] == [photo, document, refused]


async def test_a_location_and_a_shared_contact_fill_their_steps(
    tg: Channel_, fake: FakeTelegram, app: App
) -> None:
    await send(tg, fake.message(CHAT, "/lapor", language_code="en"))
    # Up to the contact number, which is shared with the button instead of typed.
    await dialog(tg, fake, CONTACTABLE_TO_STORY[:3], language_code="en")
    markup = fake.sent(CHAT)[-1].params["reply_markup"]
    assert markup["keyboard"][0][0]["request_contact"] is True
    await send(tg, fake.message(CHAT, language_code="en", contact_phone="6281234567890"))
    assert "Who received this offer" in fake.texts(CHAT)[-1]
    await dialog(
        tg,
        fake,
        [
            *ANONYMOUS_TO_STORY[2:],
            (
                "The recruiter said the boat leaves from a small jetty at night.",
                "Please check your report",
            ),
            ("2", "How did the offer come?"),  # add details
            ("1", "photos, screenshots or documents"),
            ("done", "Where did this happen"),
        ],
        language_code="en",
    )
    await send(tg, fake.message(CHAT, language_code="en", location=(1.0587, 104.4845)))
    summary = fake.texts(CHAT)[-1]
    assert "Please check your report" in summary
    assert "+6281234567890" in summary and "1.05870, 104.48450" in summary
    await send(tg, fake.message(CHAT, "1", language_code="en"))
    async with app.db.read() as session:
        (report,) = (await session.exec(select(Report))).all()
    assert report.contact_phone == "+6281234567890"
    assert (report.latitude, report.longitude) == (1.0587, 104.4845)


async def test_the_same_update_twice_is_handled_once(tg: Channel_, fake: FakeTelegram) -> None:
    update = fake.message(CHAT, "/lapor", language_code="en")
    await send(tg, update)
    await send(tg, update)
    await send(tg, fake.message(CHAT, "4", language_code="en"))
    texts = fake.texts(CHAT)
    assert sum(FIRST_QUESTION in t.lower() for t in texts) == 1
    assert "May they contact you" in texts[-1]


async def test_a_user_who_blocked_the_bot_is_marked_unreachable(
    tg: Channel_, fake: FakeTelegram, app: App
) -> None:
    fake.block(CHAT)
    await send(tg, fake.message(CHAT, "/start"))
    async with app.db.read() as session:
        conv = await conversations.find(session, Channel.TELEGRAM, str(CHAT))
    assert conv is not None and conv.unreachable_at is not None
    assert len(fake.called("sendMessage")) == 1  # tried once, not retried: 403 is permanent


async def test_a_429_waits_retry_after_then_sends(tg: Channel_, fake: FakeTelegram) -> None:
    fake.fail(
        "sendMessage", status=429, description="Too Many Requests: retry after 3", retry_after=3
    )
    await send(tg, fake.message(CHAT, "/bantuan", language_code="en"))
    assert "110" in said(fake)
    assert max(tg.sleeps.waits) == pytest.approx(3, abs=0.1)


async def test_time_outs_and_server_errors_are_retried(tg: Channel_, fake: FakeTelegram) -> None:
    fake.fail("sendMessage", status=502, description="Bad Gateway", times=2)
    await send(tg, fake.message(CHAT, "/bantuan", language_code="en"))
    assert "110" in said(fake)
    assert len(tg.sleeps.waits) >= 2


def test_the_limiter_keeps_one_chat_to_one_message_a_second() -> None:
    limiter = TelegramLimiter()
    waits = [limiter._chat(42).reserve() for _ in range(6)]
    assert waits[:3] == [0, 0, 0]  # a short burst goes at once
    assert waits[3:] == pytest.approx([1, 2, 3], abs=0.05)
    group = [limiter._chat(-100).reserve() for _ in range(4)]
    assert group[3] == pytest.approx(3.0, abs=0.05)  # 20 a minute


async def test_the_limiter_sends_30_at_once_and_never_more_than_30_in_any_second() -> None:
    """An alert to every member on duty goes out together (a token bucket with a burst of 5
    spaced the 10th 170 ms after the first), and Telegram's 30 a second holds."""
    now = 0.0

    async def sleep(seconds: float) -> None:  # time passes for whoever waits
        nonlocal now
        now = max(now, started + seconds)

    sent: list[float] = []

    async def send() -> bool:
        sent.append(now)
        return True

    limiter = TelegramLimiter(sleep=sleep, clock=lambda: now)
    for chat in range(100):  # one message to each of 100 chats, as fast as they come
        started = now
        await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": chat}, None)
    assert sent[:30] == [0.0] * 30
    assert all(later - earlier >= 1.0 for earlier, later in zip(sent, sent[30:], strict=False))
    assert sent[-1] == pytest.approx(3.0)  # 100 in a little over 3 seconds: the limit, no less


async def test_hapus_deletes_the_conversation_from_the_chat(
    tg: Channel_, fake: FakeTelegram, clock: Clock, app: App
) -> None:
    await send(tg, fake.message(CHAT, "/bantuan", language_code="en", message_id=10))
    clock.advance(hours=49)
    await send(tg, fake.message(CHAT, "/lapor", language_code="en", message_id=11))
    await send(tg, fake.message(CHAT, "1", language_code="en", message_id=12))  # danger now
    await send(tg, fake.message(CHAT, "/hapus", language_code="en", message_id=13))
    (call,) = fake.called("deleteMessages")
    deleted = set(call.params["message_ids"])
    # Both sides of the last 48 hours: the introduction and the first question (1002, 1003),
    # the emergency contacts and the next question (1004, 1005). The help and menu (1000,
    # 1001) and /bantuan are older.
    assert deleted == {11, 12, 13, 1002, 1003, 1004, 1005}
    assert "3 message(s) could not be deleted" in fake.texts(CHAT)[-1]
    async with app.db.read() as session:
        assert (await session.exec(select(Report))).all() == []


async def test_a_group_is_told_once_to_report_in_private(tg: Channel_, fake: FakeTelegram) -> None:
    group = -100123
    await send(tg, fake.message(group, "/lapor", chat_type="supergroup", user_id=77))
    await send(tg, fake.message(group, "/lapor", chat_type="supergroup", user_id=78))
    (answer,) = fake.texts(group)
    assert "https://t.me/SigapTestBot?start=lapor" in answer
    assert "grup" in answer


async def test_callback_data_stays_within_64_bytes() -> None:
    assert callback_data(Press(123456, "abroad_needs_help"))
    with pytest.raises(ValueError):
        callback_data(Press(1, "x" * 64))


def test_every_kind_of_button_reads_back_as_it_was_made() -> None:
    for press in [
        Press(7, "anonymous"),
        Press(12, "done"),
        Press(None, "ack:BTN-2026-00001"),
        Press(None, "detail:BTN-2026-00001"),
    ]:
        assert read_button(button_data(press)) == press
    assert read_button("garbage:") == Press(None, "garbage:")  # no open question: stale
    assert read_button("") == Press(-1, "")


def test_long_text_is_split_at_paragraphs() -> None:
    text = ("a" * 3000) + "\n\n" + ("b" * 3000)
    assert split(text, 4096) == ["a" * 3000, "b" * 3000]
    assert all(len(p) <= 4096 for p in split("c" * 10_000, 4096))


async def test_commands_are_registered_in_both_languages(
    app: App, fake: FakeTelegram, settings: Settings
) -> None:
    channel = TelegramChannel(app.for_channels, telegram_settings(fake), ServerSettings())
    await channel.start()
    await channel.stop()
    await channel.close()
    assert [c["command"] for c in fake.commands["id"]] == [
        "start",
        "lapor",
        "cek",
        "status",
        "tambah",
        "bahasa",
        "bantuan",
        "info",
        "batal",
        "hapus",
        "hapusdata",
        "langganan",
        "berhenti",
    ]
    assert fake.commands["en"][1]["description"] == "Report a suspicious job offer"
    assert fake.commands["id"][1]["description"] == "Laporkan tawaran kerja yang mencurigakan"
    assert fake.commands[""] == fake.commands["id"]


async def test_polling_answers_and_stops_cleanly(app: App, fake: FakeTelegram) -> None:
    app.settings = app.settings.model_copy(update={"telegram": telegram_settings(fake)})
    service = Service(app)
    await service.start()
    fake.push_update(fake.message(CHAT, "/lapor", language_code="en"))
    await fake.wait_for("sendMessage", chat_id=CHAT)
    await service.stop()
    assert FIRST_QUESTION in fake.texts(CHAT)[-1].lower()
    assert fake.called("deleteWebhook")


async def test_telegram_unreachable_at_start_is_retried(app: App, fake: FakeTelegram) -> None:
    fake.fail("getMe", status=502, description="Bad Gateway", times=3)
    channel = TelegramChannel(app.for_channels, telegram_settings(fake), ServerSettings())
    channel.retry_delay = 0.01
    await channel.start()
    assert channel.health.failing_since is None and len(fake.called("getMe")) == 4
    await channel.stop()
    await channel.close()


async def test_the_webhook_takes_only_requests_with_the_secret(
    app: App, fake: FakeTelegram
) -> None:
    service = await webhook_service(app, fake)
    try:
        assert fake.webhook is not None
        assert fake.webhook["url"] == "https://sigap.example.org/telegram/webhook"
        assert fake.webhook["secret_token"] == "s3cret"
        url = service.web.url + "/telegram/webhook"
        update = fake.message(CHAT, "/lapor", language_code="en")
        async with httpx.AsyncClient() as client:
            missing = await client.post(url, json=update)
            wrong = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
            )
            assert (missing.status_code, wrong.status_code) == (403, 403)
            assert fake.sent(CHAT) == []
            right = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
            )
            assert right.status_code == 200
            await fake.wait_for("sendMessage", chat_id=CHAT)
            assert FIRST_QUESTION in fake.texts(CHAT)[-1].lower()
            health = await client.get(service.web.url + "/healthz")
            assert health.status_code == 200
            body = health.json()
            assert body["status"] == "up" and body["database"] == {"state": "up"}
            assert body["telegram"]["state"] == "up" and body["telegram"]["error"] is None
    finally:
        await service.stop()


async def test_sigap_run_answers_on_telegram_and_stops_cleanly_on_sigterm(
    fake: FakeTelegram, database_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "SIGAP_STORAGE_URL": database_url,
        "SIGAP_MEDIA_DIR": str(tmp_path / "media"),
        "SIGAP_TELEGRAM_TOKEN": FakeTelegram.TOKEN,
    }
    config = tmp_path / "config.toml"
    config.write_text(f'[telegram]\nbase_url = "{fake.base_url}"\n\n[server]\nport = 0\n')
    process = await start_sigap_run(config, tmp_path, env)
    assert process.stderr is not None
    log = b""
    while b"polling as @SigapTestBot" not in log:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        assert line, log.decode()
        log += line
    assert b"the task force has no member yet: reports will reach nobody" in log
    fake.push_update(fake.message(CHAT, "/lapor", language_code="en"))
    await fake.wait_for("sendMessage", chat_id=CHAT, within=60)
    process.send_signal(signal.SIGTERM)
    rest = await asyncio.wait_for(process.stderr.read(), 60)
    assert await process.wait() == 0, (log + rest).decode()
    assert FIRST_QUESTION in fake.texts(CHAT)[-1].lower()
    assert b"stopping" in rest and b"Traceback" not in rest


def test_sigap_run_without_a_channel_says_how_to_configure_one(tmp_path: Path) -> None:
    done = run_sigap(["run"], tmp_path, without_settings())
    assert done.returncode == 1
    assert "No channel is configured" in done.stderr and "[telegram]" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("error", "code", "permanent", "gone", "retry_after"),
    [
        (
            Forbidden("Forbidden: bot was blocked by the user"),
            "blocked",
            True,
            Gone.UNREACHABLE,
            None,
        ),
        (BadRequest("Bad Request: message is too long"), "bad_request", True, None, None),
        (RetryAfter(7), "transient", False, None, 7.0),
        (TimedOut(), "transient", False, None, None),
        (NetworkError("Bad Gateway"), "transient", False, None, None),
    ],
)
def test_bot_api_errors_are_classified_for_the_delivery_job(
    error: TelegramError, code: str, permanent: bool, gone: Gone | None, retry_after: float | None
) -> None:
    failure = classify(error)
    assert (failure.code, failure.permanent, failure.gone) == (code, permanent, gone)
    assert failure.retry_after == retry_after
