"""The log of `sigap run`: the libraries that log requests stay quiet, and a line that quotes a
token, a secret, an auth header or a phone number anyway has them replaced."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot import logs, web

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """The log as `sigap run` sets it up (here in memory); the root logger restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logs.QUIET}
    written = io.StringIO()
    logs.setup(verbose=False, secrets_in_config=["s3cret-auth-token", "", "short"], stream=written)
    yield written
    root.handlers[:], root.level = handlers, level
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_httpx_and_twilio_requests_are_not_logged(service_log: io.StringIO) -> None:
    logging.getLogger("httpx").info(
        f'HTTP Request: POST https://api.telegram.org/bot{TOKEN}/x "200"'
    )
    logging.getLogger("twilio.http_client").info("Data: To=whatsapp:+6281211112222")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /dasbor/masuk/abc HTTP/1.1" 200')
    logging.getLogger("bot.web").info("web server on http://127.0.0.1:8443")
    err = service_log.getvalue()
    assert err.splitlines()[-1].endswith("INFO bot.web: web server on http://127.0.0.1:8443"), err
    assert "api.telegram.org" not in err and "whatsapp" not in err and "masuk" not in err


def test_what_a_library_quotes_anyway_is_redacted(service_log: io.StringIO) -> None:
    log = logging.getLogger("bot.telegram")
    log.warning("sending failed (https://api.telegram.org/bot%s/sendMessage)", TOKEN)
    log.warning("Twilio said: The 'To' number whatsapp:+6281211112222 is not valid")
    log.warning("typed 081211112222; headers {'Authorization': 'Basic QUM6c2VjcmV0'}")
    log.warning("SMTP refused s3cret-auth-token at 2026-11-29 18:12:34 on port 58725")
    try:
        raise ValueError("bad number +6281211112222")
    except ValueError:
        log.exception("update 41 failed")
    err = service_log.getvalue()
    for secret in (TOKEN, "6281211112222", "81211112222", "QUM6c2VjcmV0", "s3cret-auth-token"):
        assert secret not in err
    assert "bot[token]/sendMessage" in err and "whatsapp:[phone] is not valid" in err
    assert "'Authorization': [redacted]" in err and "at 2026-11-29 18:12:34 on port 58725" in err
    assert "ValueError: bad number [phone]" in err  # the traceback too


def test_a_tag_tells_chats_apart_without_naming_them() -> None:
    assert logs.tag(628121111) == logs.tag("628121111") != logs.tag(628121112)
    # a number as long as a chat's: a short one turns up in the random hash now and then
    assert "628121111" not in logs.tag(628121111) and logs.tag(628121111).startswith("chat#")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    written = io.StringIO()
    logs.setup(verbose=False, secrets_in_config=[], stream=written, form="json")
    yield written
    root.handlers[:], root.level = handlers, level


def test_json_lines_carry_utc_time_the_report_and_no_number(json_log: io.StringIO) -> None:
    logging.getLogger("bot.test").info(
        "alert for %s sent to +6281234567890", "BTN-2026-00042", extra={"report": "BTN-2026-00042"}
    )
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("bot.test").exception("failed")
    first, second = (json.loads(line) for line in json_log.getvalue().splitlines())
    assert first["time"].endswith("+00:00") and first["level"] == "INFO"
    assert first["logger"] == "bot.test" and first["report"] == "BTN-2026-00042"
    assert first["message"] == "alert for BTN-2026-00042 sent to [phone]"
    assert "request" not in first
    assert second["level"] == "ERROR" and "ValueError: boom" in second["error"]


async def test_each_web_request_has_an_id_on_its_log_lines_and_its_answer(
    json_log: io.StringIO,
) -> None:
    async def page(_request: Request) -> Response:
        logging.getLogger("bot.test").warning("handling")
        return PlainTextResponse("ok")

    async def healthy() -> tuple[bool, dict[str, object]]:
        return True, {}

    site = web.create([Route("/x", page)], healthy)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site), base_url="http://sigap.test"
    ) as client:
        mine = await client.get("/x")
        given = await client.get("/x", headers={"X-Request-ID": "proxy-7f3a"})
        forged = await client.get("/x", headers={"X-Request-ID": "a\nb"})
    ids = [json.loads(line)["request"] for line in json_log.getvalue().splitlines()]
    assert ids[0] == mine.headers["x-request-id"] and len(ids[0]) == 12
    assert ids[1] == given.headers["x-request-id"] == "proxy-7f3a"
    assert ids[2] == forged.headers["x-request-id"] != "a\nb"
    assert len(set(ids)) == 3


def test_text_lines_say_utc_and_the_context(service_log: io.StringIO) -> None:
    logging.getLogger("bot.test").warning("late", extra={"report": "BTN-2026-00001"})
    line = service_log.getvalue().strip()
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 WARNING bot\.test: late", line)
    assert line.endswith("[report=BTN-2026-00001]")
