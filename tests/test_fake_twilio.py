"""The fake Twilio server answers twilio's real clients like Twilio and checks the contract."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, CONTRACT_PATH, FakeTwilio

TWILIO = "https://api.twilio.com"
SANDBOX = "whatsapp:+14155238886"
NUMBER = "+6281234567890"
OTHER = "+6281111111111"
CALLBACK = "https://x.example/whatsapp/status"
CONTENT_SID = "HX" + "ab" * 16
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


class RoutedAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """twilio's aiohttp client, sending what it meant for api.twilio.com to `base_url`.

    It also sends basic auth as a header: aiohttp 3.14 deprecates BasicAuth() and auth=.
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (twilio's signature)
        allow_redirects: bool = False,
    ) -> Any:
        if url.startswith(TWILIO):
            url = self.base_url + url.removeprefix(TWILIO)
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


class RoutedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """twilio's requests client, routed the same way (for code that sends synchronously)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO):
            url = self.base_url + url.removeprefix(TWILIO)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as server:
        yield server


def make_client(fake: FakeTwilio, token: str = AUTH_TOKEN) -> tuple[Any, Any]:
    http = RoutedAsyncHttpClient(fake.base_url)
    return Client(ACCOUNT_SID, token, http_client=http), http


@pytest.fixture
async def client(fake: FakeTwilio) -> AsyncIterator[Any]:
    twilio, http = make_client(fake)
    yield twilio
    await http.close()


@pytest.fixture
async def raw(fake: FakeTwilio) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.base_url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        yield http


def message_schema() -> dict[str, Any]:
    contract = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    schema: dict[str, Any] = contract["components"]["schemas"]["api.v2010.account.message"]
    return schema


VALID = {"To": f"whatsapp:{NUMBER}", "From": SANDBOX, "Body": "halo"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# --- creating messages with the real async client ------------------------------------------


async def test_whatsapp_text_is_recorded_and_parsed(fake: FakeTwilio, client: Any) -> None:
    before = time.monotonic()
    message = await client.messages.create_async(
        from_=SANDBOX, to=f"whatsapp:{NUMBER}", body="halo", status_callback=CALLBACK
    )

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert (message.to, message.from_, message.body) == (f"whatsapp:{NUMBER}", SANDBOX, "halo")
    assert message.account_sid == ACCOUNT_SID
    assert message.date_created is not None and message.date_created.tzinfo is not None
    assert message.num_segments == "1"
    assert message.error_code is None
    assert fake.contract_violations == []
    [sent] = fake.messages
    assert sent.sid == message.sid
    assert sent.params == {
        "To": f"whatsapp:{NUMBER}",
        "From": SANDBOX,
        "Body": "halo",
        "StatusCallback": CALLBACK,
    }
    assert before <= sent.at <= time.monotonic()
    assert fake.to(NUMBER) == [sent]
    assert fake.to(f"whatsapp:{NUMBER}") == [sent]
    assert fake.bodies(NUMBER) == ["halo"]
    assert fake.to(OTHER) == []
    assert fake.attempts == [sent.params]


async def test_content_template_without_body_passes(fake: FakeTwilio, client: Any) -> None:
    message = await client.messages.create_async(
        from_=SANDBOX,
        to=f"whatsapp:{NUMBER}",
        content_sid=CONTENT_SID,
        content_variables='{"1":"BTN-2026-00001"}',
    )

    assert message.status == "queued"
    assert fake.contract_violations == []
    [sent] = fake.to(NUMBER)
    assert sent.params["ContentSid"] == CONTENT_SID
    assert json.loads(sent.params["ContentVariables"]) == {"1": "BTN-2026-00001"}
    assert "Body" not in sent.params


async def test_media_urls_are_sent_as_repeated_fields(fake: FakeTwilio, client: Any) -> None:
    urls = ["https://x.example/a.jpg", "https://x.example/b.pdf"]
    message = await client.messages.create_async(
        from_=SANDBOX, to=f"whatsapp:{NUMBER}", media_url=urls
    )

    assert message.num_media == "2"
    assert fake.contract_violations == []
    assert fake.messages[0].media_urls == urls


async def test_messaging_service_without_from_is_accepted(fake: FakeTwilio, client: Any) -> None:
    service = "MG" + "1" * 32
    message = await client.messages.create_async(
        messaging_service_sid=service, to=f"whatsapp:{NUMBER}", body="halo"
    )

    assert message.status == "accepted"
    assert message.messaging_service_sid == service
    assert fake.contract_violations == []


async def test_typed_parameters_pass_the_contract(fake: FakeTwilio, client: Any) -> None:
    await client.messages.create_async(
        from_=SANDBOX,
        to=f"whatsapp:{NUMBER}",
        body="halo",
        validity_period=600,
        provide_feedback=True,
        attempt=2,
        risk_check="disable",
    )

    assert fake.contract_violations == []
    params = fake.messages[0].params
    assert (params["ValidityPeriod"], params["ProvideFeedback"]) == ("600", "true")


async def test_fetch_returns_the_stored_message(fake: FakeTwilio, client: Any) -> None:
    created = await client.messages.create_async(from_=SANDBOX, to=NUMBER, body="sms")
    fetched = await client.messages(created.sid).fetch_async()

    assert (fetched.sid, fetched.body, fetched.to) == (created.sid, "sms", NUMBER)
    assert fake.to(NUMBER)[0].sid == created.sid


async def test_create_response_follows_the_message_schema(
    fake: FakeTwilio, raw: httpx.AsyncClient
) -> None:
    response = await raw.post(MESSAGES, data=VALID)

    assert response.status_code == 201
    body = response.json()
    schema = message_schema()
    assert set(body) <= set(schema["properties"])
    assert re.fullmatch(schema["properties"]["sid"]["pattern"], body["sid"])
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", body["date_created"])
    assert body["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{body['sid']}.json"
    assert (body["status"], body["direction"], body["from"]) == ("queued", "outbound-api", SANDBOX)
    fetched = await raw.get(body["uri"])
    assert fetched.json() == body


# --- the contract ----------------------------------------------------------------------------


async def test_unknown_parameter_is_a_violation(fake: FakeTwilio, raw: httpx.AsyncClient) -> None:
    response = await raw.post(MESSAGES, data={**VALID, "Priority": "high"})

    assert response.status_code == 400
    error = response.json()
    assert error["status"] == 400
    assert "Priority" in error["message"]
    assert error["more_info"] == f"https://www.twilio.com/docs/errors/{error['code']}"
    assert len(fake.contract_violations) == 1
    assert "Priority" in fake.contract_violations[0]
    assert fake.messages == []
    assert fake.attempts == [{**VALID, "Priority": "high"}]


@pytest.mark.parametrize(
    ("form", "field", "code"),
    [
        ({"From": SANDBOX, "Body": "halo"}, "To", 21604),
        ({"To": NUMBER, "Body": "halo"}, "From", 21603),
        ({"To": NUMBER, "From": SANDBOX}, "Body", 21619),
        ({**VALID, "Body": ""}, "Body", 21619),
        ({**VALID, "To": "whatsapp:081234567890"}, "To", 21211),
        ({**VALID, "From": "whatsapp:14155238886"}, "From", 21212),
        ({**VALID, "Body": "x" * 1601}, "Body", 21617),
        ({**VALID, "StatusCallback": "/whatsapp/status"}, "StatusCallback", 21609),
        ({**VALID, "StatusCallback": "https://my_host.example/s"}, "StatusCallback", 21609),
        ({**VALID, "ContentSid": "HX123"}, "ContentSid", 70002),
        (
            {**VALID, "ContentSid": CONTENT_SID, "ContentVariables": "1=x"},
            "ContentVariables",
            21656,
        ),
        ({**VALID, "ContentVariables": '{"1": "x"}'}, "ContentVariables", 21656),
        ({**VALID, "MessagingServiceSid": "MG1"}, "MessagingServiceSid", 70002),
        ({**VALID, "ProvideFeedback": "yes"}, "ProvideFeedback", 70002),
        ({**VALID, "ValidityPeriod": "soon"}, "ValidityPeriod", 70002),
        ({**VALID, "MaxPrice": "cheap"}, "MaxPrice", 70002),
        ({**VALID, "RiskCheck": "off"}, "RiskCheck", 70002),
        ({**VALID, "SendAt": "tomorrow"}, "SendAt", 70002),
    ],
)
async def test_contract_violations(
    fake: FakeTwilio, raw: httpx.AsyncClient, form: dict[str, str], field: str, code: int
) -> None:
    response = await raw.post(MESSAGES, data=form)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert fake.contract_violations
    assert all(field in violation for violation in fake.contract_violations)
    assert fake.messages == []


async def test_repeated_scalar_and_json_body_are_violations(
    fake: FakeTwilio, raw: httpx.AsyncClient
) -> None:
    repeated = await raw.post(
        MESSAGES, content=f"{httpx.QueryParams(VALID)}&Body=again", headers=FORM
    )
    as_json = await raw.post(MESSAGES, json=VALID)

    assert (repeated.status_code, as_json.status_code) == (400, 400)
    assert len(fake.contract_violations) == 2
    assert "Body" in fake.contract_violations[0]
    assert "Content-Type" in fake.contract_violations[1]


async def test_client_raises_on_a_violation(fake: FakeTwilio, client: Any) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(from_=SANDBOX, to="whatsapp:0812", body="halo")

    assert (caught.value.status, caught.value.code) == (400, 21211)
    assert len(fake.contract_violations) == 1


# --- scripted failures -----------------------------------------------------------------------


async def test_scripted_invalid_number(fake: FakeTwilio, client: Any) -> None:
    fake.fail(status=400, code=21211, message="The 'To' number is not a valid phone number.")

    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(from_=SANDBOX, to=f"whatsapp:{NUMBER}", body="halo")

    assert (caught.value.status, caught.value.code) == (400, 21211)
    # twilio prefixes Twilio's message with what it was doing
    assert (
        caught.value.msg == "Unable to create record: The 'To' number is not a valid phone number."
    )
    assert fake.messages == []
    assert len(fake.attempts) == 1
    await client.messages.create_async(from_=SANDBOX, to=f"whatsapp:{NUMBER}", body="again")
    assert fake.bodies(NUMBER) == ["again"]
    assert len(fake.attempts) == 2
    assert fake.contract_violations == []


async def test_scripted_rate_limit_twice(fake: FakeTwilio, client: Any) -> None:
    fake.fail(status=429, code=20429, message="Too Many Requests", times=2)

    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            await client.messages.create_async(from_=SANDBOX, to=f"whatsapp:{NUMBER}", body="a")
        assert (caught.value.status, caught.value.code) == (429, 20429)
    await client.messages.create_async(from_=SANDBOX, to=f"whatsapp:{NUMBER}", body="b")

    assert fake.bodies(NUMBER) == ["b"]
    assert len(fake.attempts) == 3


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503)])
async def test_scripted_server_error(fake: FakeTwilio, client: Any, status: int, code: int) -> None:
    fake.fail(status=status, code=code, message="Service unavailable")

    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(from_=SANDBOX, to=f"whatsapp:{NUMBER}", body="a")

    assert (caught.value.status, caught.value.code) == (status, code)


async def test_scripted_failure_for_one_recipient(fake: FakeTwilio, client: Any) -> None:
    fake.fail(
        status=400, code=21610, message="Attempt to send to unsubscribed recipient", to=NUMBER
    )

    await client.messages.create_async(from_=SANDBOX, to=f"whatsapp:{OTHER}", body="one")
    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(from_=SANDBOX, to=f"whatsapp:{NUMBER}", body="two")
    await client.messages.create_async(from_=SANDBOX, to=f"whatsapp:{NUMBER}", body="three")

    assert caught.value.code == 21610
    assert fake.bodies(OTHER) == ["one"]
    assert fake.bodies(NUMBER) == ["three"]


async def test_latency_delays_the_answer() -> None:
    async with FakeTwilio(latency=0.2) as slow:
        twilio, http = make_client(slow)
        started = time.monotonic()
        await twilio.messages.create_async(from_=SANDBOX, to=NUMBER, body="slow")
        await http.close()

    assert time.monotonic() - started >= 0.2
    assert slow.messages[0].at - started < 0.2


# --- authentication and unknown paths --------------------------------------------------------


async def test_wrong_auth_token(fake: FakeTwilio) -> None:
    twilio, http = make_client(fake, token="wrong")
    try:
        with pytest.raises(TwilioRestException) as caught:
            await twilio.messages.create_async(from_=SANDBOX, to=NUMBER, body="halo")
    finally:
        await http.close()

    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert caught.value.msg == "Unable to create record: Authenticate"
    assert fake.messages == []
    assert len(fake.attempts) == 1


async def test_missing_auth_and_other_account(fake: FakeTwilio, raw: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as anonymous:
        response = await anonymous.post(MESSAGES, data=VALID)
    other = "AC" + "1" * 32
    elsewhere = await raw.post(f"/2010-04-01/Accounts/{other}/Messages.json", data=VALID)

    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert elsewhere.status_code == 404
    assert elsewhere.json()["code"] == 20404
    assert fake.messages == []


async def test_unknown_path(raw: httpx.AsyncClient) -> None:
    response = await raw.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json")
    missing = await raw.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/SM{'0' * 32}.json")

    assert (response.status_code, response.json()["code"]) == (404, 20404)
    assert (missing.status_code, missing.json()["code"]) == (404, 20404)


# --- media -------------------------------------------------------------------------------------


async def test_media_download_needs_auth(fake: FakeTwilio) -> None:
    url = fake.add_media(b"\x89PNG fake", "image/png")

    assert re.fullmatch(
        rf"{fake.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM[0-9a-f]{{32}}"
        r"/Media/ME[0-9a-f]{32}",
        url,
    )
    async with httpx.AsyncClient() as http:
        ok = await http.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN))
        anonymous = await http.get(url)
        wrong = await http.get(url, auth=(ACCOUNT_SID, "nope"))
        fake.refuse_media(url)
        refused = await http.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN))

    assert ok.status_code == 200
    assert ok.content == b"\x89PNG fake"
    assert ok.headers["content-type"] == "image/png"
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, 20003)
    assert wrong.status_code == 401
    assert refused.status_code == 404


# --- the synchronous client ------------------------------------------------------------------


async def test_sync_client_is_routed_too(fake: FakeTwilio) -> None:
    twilio = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RoutedHttpClient(fake.base_url))

    message = await asyncio.to_thread(
        twilio.messages.create, from_=SANDBOX, to=f"whatsapp:{NUMBER}", body="sync"
    )

    assert message.status == "queued"
    assert fake.bodies(NUMBER) == ["sync"]
    assert fake.contract_violations == []


# --- outages, restarts and slow media ----------------------------------------------------------


async def test_an_outage_answers_503_to_everything_and_changes_nothing(
    fake: FakeTwilio, client: Any, raw: httpx.AsyncClient
) -> None:
    created = await client.messages.create_async(from_=SANDBOX, to=NUMBER, body="before")
    url = fake.add_media(b"\x89PNG fake", "image/png")
    fake.outage()

    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            await client.messages.create_async(from_=SANDBOX, to=NUMBER, body="during")
        assert (caught.value.status, caught.value.code) == (503, 20503)
    fetched = await raw.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{created.sid}.json")
    media = await raw.get(url)
    async with httpx.AsyncClient() as stranger:
        anonymous = await stranger.get(url)

    assert fake.in_outage
    for response in (fetched, media, anonymous):
        assert response.status_code == 503
        assert response.json() == {
            "code": 20503,
            "message": "Service Unavailable",
            "more_info": "https://www.twilio.com/docs/errors/20503",
            "status": 503,
        }
    assert fake.bodies(NUMBER) == ["before"]
    assert [a["Body"] for a in fake.attempts] == ["before", "during", "during"]
    assert [method for method, _path in fake.requests] == [
        "POST",
        "POST",
        "POST",
        "GET",
        "GET",
        "GET",
    ]
    assert fake.contract_violations == []

    fake.end_outage()
    await client.messages.create_async(from_=SANDBOX, to=NUMBER, body="after")
    assert fake.bodies(NUMBER) == ["before", "after"]
    assert (await raw.get(url)).content == b"\x89PNG fake"


async def test_an_outage_for_some_seconds_ends_by_itself(fake: FakeTwilio, client: Any) -> None:
    fake.outage(0.2)
    with pytest.raises(TwilioRestException):
        await client.messages.create_async(from_=SANDBOX, to=NUMBER, body="during")
    await asyncio.sleep(0.3)

    assert not fake.in_outage
    await client.messages.create_async(from_=SANDBOX, to=NUMBER, body="after")
    assert fake.bodies(NUMBER) == ["after"]


async def test_a_stopped_fake_starts_again_on_its_port_with_its_state() -> None:
    fake = FakeTwilio()
    await fake.start()
    twilio, http = make_client(fake)
    try:
        created = await twilio.messages.create_async(from_=SANDBOX, to=NUMBER, body="one")
        url = fake.add_media(b"%PDF-1.4", "application/pdf")
        base_url = fake.base_url
        await fake.stop()
        with pytest.raises(aiohttp.ClientConnectionError):
            await twilio.messages.create_async(from_=SANDBOX, to=NUMBER, body="lost")
        await fake.start()

        assert fake.base_url == base_url
        assert (await twilio.messages(created.sid).fetch_async()).body == "one"
        await twilio.messages.create_async(from_=SANDBOX, to=NUMBER, body="two")
        async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN)) as raw:
            assert (await raw.get(url)).content == b"%PDF-1.4"
    finally:
        await http.close()
        await fake.stop()
    assert fake.bodies(NUMBER) == ["one", "two"]
    assert len(fake.attempts) == 2  # nothing reached a stopped server


async def test_dripping_media_arrives_a_byte_at_a_time(fake: FakeTwilio) -> None:
    url = fake.add_media(b"\x89PNG", "image/png", bytes_per_second=20)
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        started = time.monotonic()
        response = await http.get(url)
        took = time.monotonic() - started
        slow = fake.add_media(b"x" * 1000, "image/png", bytes_per_second=4)
        with pytest.raises(httpx.ReadTimeout):
            await http.get(slow, timeout=httpx.Timeout(5, read=0.1))
        chunks = bytearray()
        async with http.stream("GET", slow) as stream:
            assert stream.headers["content-length"] == "1000"
            async for chunk in stream.aiter_raw():
                chunks += chunk
                if len(chunks) >= 2:
                    break

    assert response.content == b"\x89PNG" and response.headers["content-type"] == "image/png"
    assert took >= 0.15  # four bytes at 20 a second
    assert chunks[:2] == b"xx"
