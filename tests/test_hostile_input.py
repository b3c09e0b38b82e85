"""Hostile bodies: what only a holder of the webhook secret, or of a valid Twilio signature,
can send never crashes a handler. The service runs as `sigap run` runs it; each request gets
a 4xx or a clear message, and nothing reaches the log as an error."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import select
from twilio.request_validator import RequestValidator

from bot.app import App
from bot.config import ServerSettings
from bot.service import Service
from bot.telegram import TelegramLimiter
from storage import conversations
from storage.models import Channel, Conversation, Media, Report
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import AUTH_TOKEN, FakeTwilio
from tests.support.answers import ANONYMOUS_TO_STORY, Turns, check_reply
from tests.support.clock import no_wait
from tests.support.telegram import webhook_service
from tests.support.whatsapp import (
    PUBLIC,
    RESIDENT,
    STORY,
    WhatsApp,
    whatsapp_settings,
)

CHAT = 5001
SECRET = {"X-Telegram-Bot-Api-Secret-Token": "s3cret", "Content-Type": "application/json"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FIRST_QUESTION = "is any of these happening?"


def up_to_evidence(start: str, story: str) -> Turns:
    """An English report answered from `start` up to the files, asked for from the summary
    ("Add details")."""
    return [
        (start, FIRST_QUESTION),
        *ANONYMOUS_TO_STORY,
        (story, "Please check your report"),
        ("2", "How did the offer come?"),
        ("1", "photos, screenshots or documents"),
    ]


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A crash shows as an error in the log (a traceback), even when the answer is 200."""
    caplog.set_level(logging.WARNING)
    yield
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    errors = [r for r in records if r.levelno >= logging.ERROR]
    assert not errors, "\n".join(r.getMessage() for r in errors)


# --- Telegram ---------------------------------------------------------------------------------


class Webhook:
    """Posts bodies to the Telegram webhook of a running service, with the secret."""

    def __init__(self, service: Service, fake: FakeTelegram) -> None:
        self.service = service
        self.fake = fake
        self.url = service.web.url + "/telegram/webhook"
        self.http = httpx.AsyncClient(timeout=30)

    async def post(self, body: bytes | Any, headers: dict[str, str] = SECRET) -> httpx.Response:
        """Posts the bytes, or anything else as JSON; then runs the delivery job, so that an
        answer waiting in the outbox has gone out too."""
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = await self.http.post(self.url, content=content, headers=headers)
        await self.service.delivery.run()
        return response

    async def dialog(self, turns: Turns) -> None:
        """Posts each answer as an update from an English client; each is taken (200) and
        the bot's reply contains the expected text."""
        for sent, expected in turns:
            before = len(self.fake.texts(CHAT))
            response = await self.post(self.fake.message(CHAT, sent, language_code="en"))
            assert response.status_code == 200
            check_reply(sent, expected, "\n".join(self.fake.texts(CHAT)[before:]))

    async def reports(self) -> list[str]:
        async with self.service.app.db.read() as session:
            return [r.reference for r in (await session.exec(select(Report))).all()]

    async def conversation_exists(self) -> bool:
        async with self.service.app.db.read() as session:
            found = await conversations.find(session, Channel.TELEGRAM, str(CHAT))
        return found is not None


@pytest.fixture
async def telegram(app: App) -> AsyncIterator[Webhook]:
    async with FakeTelegram() as fake:
        service = await webhook_service(app, fake)
        assert service.telegram is not None
        limiter = service.telegram.bot.rate_limiter
        assert isinstance(limiter, TelegramLimiter)
        limiter.sleep = no_wait  # the tests send faster than one message a second to a chat
        hook = Webhook(service, fake)
        yield hook
        await hook.http.aclose()
        await service.stop()


async def test_a_telegram_body_over_a_megabyte_is_refused_with_413(telegram: Webhook) -> None:
    update = telegram.fake.message(CHAT, "/lapor")
    padded = json.dumps(update).encode()[:-1] + b" " * (1024 * 1024) + b"}"
    assert (await telegram.post(padded)).status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # sent chunked: no Content-Length to trust
        yield padded[:-1]
        yield b"}"

    response = await telegram.http.post(telegram.url, content=chunks(), headers=SECRET)
    assert response.status_code == 413
    assert telegram.fake.sent(CHAT) == [] and not await telegram.conversation_exists()
    assert (await telegram.post(update)).status_code == 200  # the server is still well
    assert "apakah salah satu dari ini sedang terjadi?" in telegram.fake.texts(CHAT)[-1]


NOT_UPDATES = [
    b"",
    b"{",
    b"\xff\xfe\x00",
    b'{"update_id": 1, "message": ',
    b"[" * 100_000 + b"]" * 100_000,  # RecursionError in json.loads
    b'{"update_id": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b"[]",
    b"null",
    b"3",
    b'"an update"',
    b"{}",
    b'{"update_id": "1"}',
    b'{"update_id": true}',
    b'{"update_id": 1.5}',
    b'{"update_id": NaN}',
    b'{"update_id": ' + b"9" * 5000 + b"}",  # more digits than int() reads
]


async def test_what_is_not_an_update_is_refused_with_400(telegram: Webhook) -> None:
    for body in NOT_UPDATES:
        response = await telegram.post(body)
        assert (response.status_code, response.text) == (400, "not an update"), body[:40]
    assert telegram.fake.sent(CHAT) == []


def wrong_types(fake: FakeTelegram) -> Iterator[tuple[str, dict[str, Any]]]:
    """Updates from CHAT with one field of a type the Bot API never sends."""

    def message(**changes: Any) -> dict[str, Any]:
        update = fake.message(CHAT, "halo")
        update["message"] = {**update["message"], **changes}
        return update

    press = fake.callback(CHAT, "0:1", message_id=1000)
    yield "text is a number", message(text=5)
    yield "text is a list", message(text=["halo"])
    yield "text has a lone surrogate", message(text="halo \ud800")
    yield "caption is an object", message(caption={"a": 1})
    yield "chat is a string", message(chat="5001")
    yield "chat id is a string", message(chat={"id": "5001", "type": "private"})
    yield "chat id is too large", message(chat={"id": 2**70, "type": "private"})
    yield "from is a list", message(**{"from": []})
    yield "language_code is a number", message(**{"from": {"id": CHAT, "language_code": 1}})
    yield "photo is a string", message(photo="big")
    yield "photo holds numbers", message(photo=[1, 2])
    yield "document file_id is a number", message(document={"file_id": 7})
    yield "document file_name is null", message(document={"file_id": "d", "file_name": None})
    yield "location is text", message(location="Tanjung Uban")
    yield "latitude is text", message(location={"latitude": "north", "longitude": 104.4})
    yield "latitude is true", message(location={"latitude": True, "longitude": 104.4})
    yield "contact phone is a number", message(contact={"phone_number": 6281234567890})
    yield "message is a string", {"update_id": 90, "message": "halo"}
    yield "message is a list", {"update_id": 91, "message": ["halo"]}
    yield "message is null", {"update_id": 92, "message": None}
    yield "callback_query is a string", {"update_id": 93, "callback_query": "0:1"}
    yield (
        "callback data is a number",
        {**press, "callback_query": {**press["callback_query"], "data": 1}},
    )
    yield "edited_message is a string", {"update_id": 94, "edited_message": "halo"}
    yield "update_id is too large", {**message(), "update_id": 2**64}


async def test_an_update_with_fields_of_the_wrong_type_never_reaches_the_conversation(
    telegram: Webhook,
) -> None:
    for name, update in wrong_types(telegram.fake):
        response = await telegram.post(update)
        assert response.status_code == 400, name
    assert telegram.fake.sent(CHAT) == []
    assert not await telegram.conversation_exists()


async def test_an_update_of_a_kind_sigap_does_not_read_is_taken_with_200(
    telegram: Webhook,
) -> None:
    message = telegram.fake.message(CHAT, "halo")["message"]
    edited = {"update_id": 95, "edited_message": {**message, "edit_date": message["date"]}}
    assert (await telegram.post(edited)).status_code == 200
    assert telegram.fake.sent(CHAT) == []


async def test_a_five_thousand_digit_answer_on_telegram_asks_for_an_option(
    telegram: Webhook,
) -> None:
    assert (
        await telegram.post(telegram.fake.message(CHAT, "/lapor", language_code="en"))
    ).status_code == 200
    update = telegram.fake.message(CHAT, "9" * 5000, language_code="en")
    assert (await telegram.post(update)).status_code == 200
    answer = "\n".join(telegram.fake.texts(CHAT)[-2:])
    assert "Please answer with the number of an option." in answer
    assert FIRST_QUESTION in answer.lower()


async def test_a_file_name_too_long_to_keep_is_shortened_to_its_extension(
    telegram: Webhook,
) -> None:
    fake = telegram.fake
    await telegram.dialog(up_to_evidence("/lapor", "The agent kept my passport and wants money."))
    file_id = fake.add_file(b"%PDF-1.4 contract")
    document = {"file_id": file_id, "file_unique_id": "u1", "file_name": "k" * 1000 + ".pdf"}
    update = fake.message(CHAT, None, document=document, language_code="en")
    assert (await telegram.post(update)).status_code == 200
    assert "1 file(s) received" in fake.texts(CHAT)[-1]
    async with telegram.service.app.db.read() as session:
        (media,) = (await session.exec(select(Media))).all()
    assert media.original_name is not None
    assert len(media.original_name) == 255 and media.original_name.endswith("k.pdf")


async def test_a_telegram_post_without_the_webhook_secret_is_refused_with_403(
    telegram: Webhook,
) -> None:
    update = telegram.fake.message(CHAT, "/lapor")
    for secret in [None, "", "S3CRET", "s3cre", "s3crets3cret", "another-bots-secret"]:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        assert (await telegram.post(update, headers)).status_code == 403, secret
    assert telegram.fake.sent(CHAT) == [] and not await telegram.conversation_exists()


async def test_what_telegram_would_not_post_as_json_is_refused_with_415(telegram: Webhook) -> None:
    update = telegram.fake.message(CHAT, "/lapor")
    as_json = json.dumps(update).encode()
    as_form = str(httpx.QueryParams({k: json.dumps(v) for k, v in update.items()})).encode()
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    for content_type, body in [
        ("application/x-www-form-urlencoded", as_form),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\n" + as_json + b"\r\n--x--\r\n"),
        ("text/plain", as_json),
        ("application/jsonp", as_json),
        (None, as_json),
    ]:
        headers = secret if content_type is None else {**secret, "Content-Type": content_type}
        assert (await telegram.post(body, headers)).status_code == 415, content_type
    assert telegram.fake.sent(CHAT) == [] and not await telegram.conversation_exists()
    charset = {**secret, "Content-Type": "application/json; charset=utf-8"}
    assert (await telegram.post(as_json, charset)).status_code == 200


async def test_a_replayed_telegram_update_is_handled_once(telegram: Webhook) -> None:
    fake = telegram.fake
    await telegram.dialog(up_to_evidence("/lapor", "The agent kept my passport.")[:-2])
    answer = fake.message(CHAT, "1", language_code="en")  # Send, on the summary
    before = len(fake.texts(CHAT))
    assert (await telegram.post(answer)).status_code == 200
    assert "reference number" in "\n".join(fake.texts(CHAT)[before:])
    told = len(fake.texts(CHAT))
    again = {**fake.message(CHAT, "/lapor", language_code="en"), "update_id": answer["update_id"]}
    for replayed in [answer, answer, again]:  # the same update, and another under its id
        assert (await telegram.post(replayed)).status_code == 200
    assert len(fake.texts(CHAT)) == told
    assert await telegram.reports() == ["BTN-2026-00001"]


# --- WhatsApp ---------------------------------------------------------------------------------


@pytest.fixture
async def whatsapp(app: App) -> AsyncIterator[WhatsApp]:
    async with FakeTwilio() as twilio:
        app.settings = app.settings.model_copy(
            update={
                "whatsapp": whatsapp_settings(twilio),
                "server": ServerSettings(port=0, public_url=PUBLIC),
            }
        )
        service = Service(app)
        await service.start()
        service.jobs.scheduler.pause()
        phone = WhatsApp(service, twilio)
        yield phone
        await phone.http.aclose()
        await service.stop()
        assert twilio.contract_violations == []


async def nobody_answered(phone: WhatsApp) -> None:
    assert phone.twilio.messages == []
    async with phone.service.app.db.read() as session:
        assert await conversations.find(session, Channel.WHATSAPP, RESIDENT) is None


async def test_a_whatsapp_form_over_64_kb_is_refused_with_413(whatsapp: WhatsApp) -> None:
    params = whatsapp.message("x" * 70_000)
    assert (await whatsapp.post("/whatsapp/inbound", params)).status_code == 413
    unsigned = await whatsapp.post("/whatsapp/inbound", params, signature=None)
    assert unsigned.status_code == 413  # the size is checked before the form is even read
    body = str(httpx.QueryParams(params)).encode()

    async def chunks() -> AsyncIterator[bytes]:  # sent chunked: no Content-Length to trust
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = await whatsapp.http.post(
        whatsapp.service.web.url + "/whatsapp/inbound",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    status = await whatsapp.post("/whatsapp/status", {"MessageSid": "SM1", "x": "y" * 70_000})
    assert status.status_code == 413
    await nobody_answered(whatsapp)
    assert "Selamat datang" in await whatsapp.send("halo")  # the server is still well


async def test_a_num_media_twilio_would_not_send_is_refused_with_400(whatsapp: WhatsApp) -> None:
    for count in ["x", "-1", "11", "1.0", "1e1", "\u0663", " 1", "9" * 5000]:
        params = whatsapp.message("halo", NumMedia=count)
        response = await whatsapp.post("/whatsapp/inbound", params)
        assert response.status_code == 400, count
        forged = RequestValidator("someone-else").compute_signature(
            PUBLIC + "/whatsapp/inbound", params
        )
        response = await whatsapp.post("/whatsapp/inbound", params, signature=forged)
        assert response.status_code == 403, count
    await nobody_answered(whatsapp)


async def test_what_twilio_never_sends_in_a_signed_form_is_refused_or_ignored(
    whatsapp: WhatsApp,
) -> None:
    for sid in ["SM1", "SM" + "a" * 300, "sm" + "0" * 32, "SM" + "g" * 32]:
        params = whatsapp.message("halo", MessageSid=sid)
        assert (await whatsapp.post("/whatsapp/inbound", params)).status_code == 400, sid
    status = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed", "ErrorCode": "9" * 300}
    assert (await whatsapp.post("/whatsapp/status", status)).status_code == 400
    for sender in ["whatsapp:+" + "6" * 300, "whatsapp:+62 812", "whatsapp:+0812345678"]:
        params = {**whatsapp.message("halo"), "From": sender}
        response = await whatsapp.post("/whatsapp/inbound", params)
        assert response.status_code == 200, sender  # understood, and not for us
    await nobody_answered(whatsapp)
    async with whatsapp.service.app.db.read() as session:
        assert (await session.exec(select(Conversation))).all() == []


async def at_evidence(phone: WhatsApp) -> None:
    await phone.send("LANGUAGE en")
    await phone.dialog(up_to_evidence("REPORT", STORY))


async def test_media_that_drips_is_cut_off_and_the_resident_told(whatsapp: WhatsApp) -> None:
    channel = whatsapp.service.whatsapp
    assert channel is not None and channel.media_seconds == 10  # Twilio waits 15 s
    channel.media_seconds = 1.0
    await at_evidence(whatsapp)
    slow = [whatsapp.twilio.add_media(PNG, "image/png", bytes_per_second=4) for _ in range(2)]
    started = time.monotonic()
    answer = await whatsapp.send(
        NumMedia="2",
        MediaUrl0=slow[0],
        MediaContentType0="image/png",
        MediaUrl1=slow[1],
        MediaContentType1="image/png",
    )
    assert time.monotonic() - started < 4  # one second for both, not 18 each
    assert answer.count("I could not read that file.") == 2
    fast = whatsapp.twilio.add_media(PNG, "image/png")
    answer = await whatsapp.send(NumMedia="1", MediaUrl0=fast, MediaContentType0="image/png")
    assert "1 file(s) received" in answer


async def test_a_media_url_that_is_not_one_is_a_file_that_could_not_be_read(
    whatsapp: WhatsApp,
) -> None:
    await at_evidence(whatsapp)
    for url in ["http://[::1", "", "ftp://example.org/a.png", "http://127.0.0.1:1/x.png"]:
        answer = await whatsapp.send(NumMedia="1", MediaUrl0=url)
        assert "I could not read that file." in answer, url


async def test_a_five_thousand_digit_answer_on_whatsapp_asks_for_an_option(
    whatsapp: WhatsApp,
) -> None:
    await whatsapp.send("LANGUAGE en")
    await whatsapp.send("REPORT")
    answer = await whatsapp.send("9" * 5000)
    assert "Please answer with the number of an option." in answer
    assert FIRST_QUESTION in answer.lower()


async def test_coordinates_that_are_not_numbers_are_not_a_location(whatsapp: WhatsApp) -> None:
    await at_evidence(whatsapp)
    await whatsapp.send("done")
    for latitude, longitude in [("nan", "nan"), ("inf", "104.4"), ("1e999", "-1e999")]:
        answer = await whatsapp.send(Latitude=latitude, Longitude=longitude)
        assert "Please check your report" not in answer
        assert "Where did this happen" in answer


async def test_a_replayed_twilio_request_makes_no_second_message_or_report(
    whatsapp: WhatsApp,
) -> None:
    await whatsapp.send("LANGUAGE en")
    await whatsapp.dialog(up_to_evidence("REPORT", STORY)[:-2])
    send = whatsapp.message("1")  # Send, on the summary
    before = len(whatsapp.twilio.bodies(RESIDENT))
    assert (await whatsapp.post("/whatsapp/inbound", send)).status_code == 200
    await whatsapp.service.delivery.run()
    assert "reference number" in "\n".join(whatsapp.twilio.bodies(RESIDENT)[before:])
    told = len(whatsapp.twilio.bodies(RESIDENT))
    # Twilio's retries, or someone replaying the signed request, at once and later.
    replays = [whatsapp.post("/whatsapp/inbound", send) for _ in range(3)]
    assert [r.status_code for r in await asyncio.gather(*replays)] == [200] * 3
    assert (await whatsapp.post("/whatsapp/inbound", send)).status_code == 200
    other = {**whatsapp.message("REPORT"), "MessageSid": send["MessageSid"]}
    assert (await whatsapp.post("/whatsapp/inbound", other)).status_code == 200
    await whatsapp.service.delivery.run()
    assert len(whatsapp.twilio.bodies(RESIDENT)) == told
    async with whatsapp.service.app.db.read() as session:
        assert [r.reference for r in (await session.exec(select(Report))).all()] == [
            "BTN-2026-00001"
        ]


async def test_a_twilio_form_without_a_message_sid_is_refused_with_400(
    whatsapp: WhatsApp,
) -> None:
    params = whatsapp.message("halo")
    for sid in [None, ""]:
        form = {k: v for k, v in params.items() if k != "MessageSid"}
        if sid is not None:
            form["MessageSid"] = sid
        assert (await whatsapp.post("/whatsapp/inbound", form)).status_code == 400
    await nobody_answered(whatsapp)


async def test_what_is_not_a_form_is_refused_with_415_by_the_whatsapp_webhooks(
    whatsapp: WhatsApp,
) -> None:
    params = whatsapp.message("halo")
    as_form = str(httpx.QueryParams(params)).encode()
    for path in ["/whatsapp/inbound", "/whatsapp/status"]:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path, params)
        for content_type, body in [
            ("application/json", json.dumps(params).encode()),
            ("multipart/form-data; boundary=x", b"--x\r\n\r\n" + as_form + b"\r\n--x--\r\n"),
            ("text/plain", as_form),
            (None, as_form),
        ]:
            headers = {"X-Twilio-Signature": signature}
            if content_type is not None:
                headers["Content-Type"] = content_type
            response = await whatsapp.http.post(
                whatsapp.service.web.url + path, content=body, headers=headers
            )
            assert response.status_code == 415, (path, content_type)
    await nobody_answered(whatsapp)


async def test_a_twilio_signature_made_for_another_address_is_refused_with_403(
    whatsapp: WhatsApp,
) -> None:
    params = whatsapp.message("halo")
    elsewhere = [
        PUBLIC + "/whatsapp/status",
        "https://attacker.example.org/whatsapp/inbound",
        PUBLIC.replace("https:", "http:") + "/whatsapp/inbound",
        PUBLIC + "/whatsapp/inbound?to=another",
        PUBLIC + "/whatsapp/inbound/",
    ]
    validator = RequestValidator(AUTH_TOKEN)
    for url in elsewhere:
        signature = validator.compute_signature(url, params)
        response = await whatsapp.post("/whatsapp/inbound", params, signature=signature)
        assert response.status_code == 403, url
    status = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed"}
    signature = validator.compute_signature(PUBLIC + "/whatsapp/inbound", status)
    assert (await whatsapp.post("/whatsapp/status", status, signature=signature)).status_code == 403
    await nobody_answered(whatsapp)
