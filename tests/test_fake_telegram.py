"""The fake Telegram server answers python-telegram-bot's real HTTP client like Telegram."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from tests.fakes.telegram import QUERY_TOO_OLD, FakeTelegram

CHAT = 4242


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = Bot(FakeTelegram.TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)
    async with client:
        yield client


async def test_get_me(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "SigapTestBot"
    assert fake.called("getMe")


async def test_send_message_records_text_and_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ya", callback_data="yes")]])
    first = await bot.send_message(CHAT, "123", reply_markup=keyboard)
    second = await bot.send_message(CHAT, "Halo")

    assert (first.message_id, second.message_id) == (1000, 1001)
    assert first.chat.id == CHAT
    assert first.chat.type == "private"
    assert first.reply_markup == keyboard
    assert fake.texts(CHAT) == ["123", "Halo"]
    call = fake.sent(CHAT)[0]
    assert call.params["chat_id"] == CHAT
    assert isinstance(call.params["reply_markup"], dict)
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"


async def test_edit_message_and_callback(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Pilih")
    edited = await bot.edit_message_text("Dipilih", chat_id=CHAT, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "Dipilih"
    assert edited.message_id == sent.message_id

    update = Update.de_json(fake.callback(CHAT, "yes", message_id=sent.message_id), bot)
    assert update.callback_query is not None
    assert update.callback_query.data == "yes"
    assert update.callback_query.message is not None
    assert update.callback_query.message.chat.id == CHAT
    assert await update.callback_query.answer()


async def test_get_updates_waits_for_a_pushed_update(fake: FakeTelegram, bot: Bot) -> None:
    fake.push_update(fake.message(CHAT, "/start"))
    first = await bot.get_updates(timeout=2)
    assert [u.message.text for u in first if u.message] == ["/start"]
    assert first[0].message is not None
    assert first[0].message.entities[0].type == "bot_command"

    async def push_later() -> None:
        await asyncio.sleep(0.2)
        fake.push_update(fake.message(CHAT, "halo"))

    pusher = asyncio.create_task(push_later())
    second = await bot.get_updates(offset=first[-1].update_id + 1, timeout=2)
    await pusher
    assert [u.message.text for u in second if u.message] == ["halo"]

    empty = await bot.get_updates(offset=second[-1].update_id + 1, timeout=0)
    assert empty == ()


async def test_get_file_and_download(fake: FakeTelegram, bot: Bot) -> None:
    file_id = fake.add_file(b"\x89PNG fake photo")
    file = await bot.get_file(file_id)
    assert file.file_size == len(b"\x89PNG fake photo")
    assert bytes(await file.download_as_bytearray()) == b"\x89PNG fake photo"


async def test_refused_file_raises_bad_request(fake: FakeTelegram, bot: Bot) -> None:
    file_id = fake.add_file(b"x", file_size=30 * 1024 * 1024)
    fake.refuse_file(file_id)
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(file_id)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_scripted_flood_wait_raises_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail(
        "sendMessage", status=429, description="Too Many Requests: retry after 3", retry_after=3
    )
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "Halo")
    retry_after = caught.value.retry_after
    assert retry_after in (3, timedelta(seconds=3))
    assert (await bot.send_message(CHAT, "Halo")).text == "Halo"  # only once


async def test_blocked_chat_raises_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.block(CHAT)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(CHAT, "Halo")
    assert (await bot.send_message(CHAT + 1, "Halo")).chat.id == CHAT + 1


async def test_delete_messages_skips_undeletable(fake: FakeTelegram, bot: Bot) -> None:
    fake.undeletable(CHAT, 2)
    assert await bot.delete_messages(CHAT, [1, 2, 3])
    assert fake.deleted[CHAT] == {1, 3}
    assert fake.called("deleteMessages")[0].params["message_ids"] == [1, 2, 3]
    with pytest.raises(BadRequest, match="can't be deleted"):
        await bot.delete_message(CHAT, 2)
    assert await bot.delete_message(CHAT, 4)
    assert fake.deleted[CHAT] == {1, 3, 4}


async def test_set_my_commands_by_language(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await bot.set_my_commands([BotCommand("mulai", "Mulai")])
    assert fake.commands == {
        "en": [{"command": "start", "description": "Start"}],
        "": [{"command": "mulai", "description": "Mulai"}],
    }
    commands = await bot.get_my_commands(language_code="en")
    assert [c.command for c in commands] == ["start"]


async def test_webhook_is_recorded(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_webhook("https://example.test/hook", allowed_updates=["message"])
    assert fake.webhook is not None
    assert fake.webhook["allowed_updates"] == ["message"]
    assert (await bot.get_webhook_info()).url == "https://example.test/hook"
    await bot.delete_webhook()
    assert fake.webhook is None


def application(fake: FakeTelegram) -> Application[Any, Any, Any, Any, Any, Any]:
    """python-telegram-bot's Application on the fake, with no updater."""
    return (
        ApplicationBuilder()
        .token(FakeTelegram.TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .updater(None)
        .build()
    )


async def test_application_replies_through_the_fake(fake: FakeTelegram) -> None:
    app = application(fake)

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"Kamu bilang: {update.effective_message.text}")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.process_update(Update.de_json(fake.message(CHAT, "tolong"), app.bot))

    assert fake.texts(CHAT) == ["Kamu bilang: tolong"]


async def test_latency_is_slept_concurrently(fake: FakeTelegram) -> None:
    fake.latency = 0.5
    app = application(fake)
    async with app:
        started = time.monotonic()
        await asyncio.gather(*(app.bot.send_message(chat, "x") for chat in range(1, 101)))
        elapsed = time.monotonic() - started
    assert len(fake.called("sendMessage")) == 100
    assert elapsed < 5  # one after another would take 50 s


async def test_unknown_method_and_wrong_token(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendCarrierPigeon", api_kwargs={"chat_id": CHAT})
    assert fake.called("sendCarrierPigeon")[0].params == {"chat_id": CHAT}

    stranger = Bot("654321:WRONG", base_url=fake.base_url, base_file_url=fake.base_file_url)
    with pytest.raises(InvalidToken):
        await stranger.get_me()


async def test_json_get_and_multipart_requests(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{FakeTelegram.TOKEN}"
    async with aiohttp.ClientSession() as session:
        body = {"chat_id": CHAT, "text": "42", "reply_markup": {"remove_keyboard": True}}
        async with session.post(f"{url}/sendMessage", json=body) as response:
            assert (await response.json())["result"]["text"] == "42"
        async with session.get(f"{url}/sendMessage?chat_id={CHAT}&text=7") as response:
            assert (await response.json())["result"]["message_id"] == 1001
        form = aiohttp.FormData()
        form.add_field("chat_id", str(CHAT))
        form.add_field("text", "true")
        form.add_field("upload", b"\x00bytes", filename="a.bin")
        async with session.post(f"{url}/sendMessage", data=form) as response:
            assert response.status == 200
        async with session.post(f"{url}/getMe", data={"x": "1"}) as response:
            assert (await response.json())["result"]["username"] == "SigapTestBot"
    assert fake.texts(CHAT) == ["42", "7", "true"]
    assert fake.sent(CHAT)[0].params["reply_markup"] == {"remove_keyboard": True}
    assert fake.sent(CHAT)[2].params["upload"] == b"\x00bytes"


async def test_stop_ends_a_waiting_get_updates() -> None:
    fake = FakeTelegram()
    await fake.start()
    bot = Bot(FakeTelegram.TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)
    async with bot:
        polling = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await fake.stop()
        assert await polling == ()
        assert time.monotonic() - started < 2


async def test_a_callback_query_can_be_answered_only_while_it_is_fresh() -> None:
    async with FakeTelegram(query_timeout=0.2) as fake:
        bot = Bot(FakeTelegram.TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)
        async with bot:
            sent = await bot.send_message(CHAT, "Pilih")
            fresh = Update.de_json(fake.callback(CHAT, "yes", message_id=sent.message_id), bot)
            stale = Update.de_json(fake.callback(CHAT, "no", message_id=sent.message_id), bot)
            assert fresh.callback_query is not None and stale.callback_query is not None
            assert await fresh.callback_query.answer()
            await asyncio.sleep(0.3)
            with pytest.raises(BadRequest, match=r"(?i)query is too old"):
                await stale.callback_query.answer()
            with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
                await bot.answer_callback_query("cbq-never-issued")
    assert len(fake.called("answerCallbackQuery")) == 3


async def test_an_unknown_callback_query_gets_telegrams_own_answer(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{FakeTelegram.TOKEN}/answerCallbackQuery"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"callback_query_id": "4242"}) as response,
    ):
        assert response.status == 400
        assert await response.json() == {
            "ok": False,
            "error_code": 400,
            "description": QUERY_TOO_OLD,
        }
    assert QUERY_TOO_OLD == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )


async def test_an_outage_answers_bad_gateway_and_changes_nothing(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.push_update(fake.message(CHAT, "halo"))
    before = len(fake.calls)
    fake.outage()
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(CHAT, "lost")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_updates(timeout=0)
    file_id = fake.add_file(b"photo")
    async with aiohttp.ClientSession() as session:
        url = f"{fake.base_url}{FakeTelegram.TOKEN}/getMe"
        async with session.get(url) as response:
            assert response.status == 502
            assert await response.json() == {
                "ok": False,
                "error_code": 502,
                "description": "Bad Gateway",
            }
        async with session.get(f"{fake.base_file_url}{FakeTelegram.TOKEN}/files/{file_id}") as got:
            assert got.status == 502
    assert [c.method for c in fake.calls[before:]] == ["sendMessage", "getUpdates", "getMe"]

    fake.end_outage()
    sent = await bot.send_message(CHAT, "after")
    assert sent.message_id == 1000  # the refused message took no id and left no message
    assert fake.texts(CHAT) == ["after"]  # what was sent: the refused one is only a call
    assert [c.params["text"] for c in fake.called("sendMessage")] == ["lost", "after"]
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["halo"]  # nothing was confirmed


async def test_an_outage_ends_a_waiting_poll_and_ends_by_itself(
    fake: FakeTelegram, bot: Bot
) -> None:
    polling = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_for("getUpdates")
    started = time.monotonic()
    fake.outage(0.3)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await polling
    assert time.monotonic() - started < 2 and fake.in_outage
    await asyncio.sleep(0.4)
    assert not fake.in_outage
    assert (await bot.send_message(CHAT, "back")).text == "back"


async def test_a_stopped_fake_starts_again_on_its_port_with_its_state() -> None:
    fake = FakeTelegram()
    await fake.start()
    base_url = fake.base_url
    bot = Bot(FakeTelegram.TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)
    async with bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ya", callback_data="yes")]])
        first = await bot.send_message(CHAT, "Pilih", reply_markup=keyboard)
        fake.push_update(fake.message(CHAT, "pending"))
        await fake.stop()
        with pytest.raises(NetworkError):
            await bot.send_message(CHAT, "down")
        await fake.start()
        try:
            assert fake.base_url == base_url
            second = await bot.send_message(CHAT, "again")
            assert second.message_id == first.message_id + 1
            assert fake.keyboard(CHAT)[0] == first.message_id
            updates = await bot.get_updates(timeout=0)
            assert [u.message.text for u in updates if u.message] == ["pending"]
        finally:
            await fake.stop()
    assert fake.texts(CHAT) == ["Pilih", "again"]  # the refused connection never arrived
