"""A fake Twilio REST API server on 127.0.0.1 that checks Messages creates against the contract."""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import BasicAuth, hdrs, web
from aiohttp.typedefs import Handler
from multidict import MultiDict, MultiDictProxy

from tests.fakes.server import FakeServer

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"

API_VERSION = "2010-04-01"
MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
# Twilio's contract for sending a message, kept in the repository (extract_twilio_contract.py
# says where it comes from and how to renew it); SIGAP_TWILIO_CONTRACT may name another copy,
# such as Twilio's whole description of the API.
CONTRACT_PATH = Path(
    os.environ.get("SIGAP_TWILIO_CONTRACT", Path(__file__).with_name("twilio_messages_v2010.json"))
)

Json = dict[str, Any]

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_CHANNEL_ADDRESS = re.compile(r"^[a-z]+:\+[1-9]\d{1,14}$")  # whatsapp:+6281234567890
_SENDER_ID = re.compile(r"^[A-Za-z0-9]{1,11}$")  # alphanumeric sender ID or short code
_MESSAGES_ROUTE = re.compile(r"^/2010-04-01/Accounts/([^/]*)/Messages\.json$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_BOOLEANS = frozenset({"true", "false"})
_BODY_MAX = 1600  # documented in the description of Body

# Twilio's error code for the first violation about a field; anything else is 70002 "Bad request".
_MISSING_CODES = {"To": 21604, "From": 21603, "Body": 21619}
_INVALID_CODES = {
    "To": 21211,
    "From": 21212,
    "Body": 21617,
    "StatusCallback": 21609,
    "ContentVariables": 21656,
}


@dataclass
class SentMessage:
    """One message Twilio accepted: its SID and the form fields as sent."""

    sid: str
    params: dict[str, str]  # a repeated field (MediaUrl) keeps its first value; see media_urls
    at: float
    media_urls: list[str] = field(default_factory=list)


@dataclass
class _Failure:
    status: int
    code: int
    message: str
    to: str | None


@dataclass
class _Media:
    data: bytes
    content_type: str
    message_sid: str
    sid: str
    refused: int | None = None
    bytes_per_second: float | None = None  # sent a byte at a time at this rate


@dataclass
class _Violation:
    text: str
    name: str
    missing: bool = False

    @property
    def code(self) -> int:
        table = _MISSING_CODES if self.missing else _INVALID_CODES
        return table.get(self.name, 70002)


@dataclass
class _Create:
    """A Messages.json POST as read and checked before its handler runs."""

    form: MultiDictProxy[str]
    problems: list[_Violation]
    at: float


_CREATE = web.RequestKey("twilio_create", _Create)


@functools.cache
def _contract() -> Json:
    with CONTRACT_PATH.open(encoding="utf-8") as file:
        document: Json = json.load(file)
    return document


def _resolve(schema: Json) -> Json:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    node: Any = _contract()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    resolved: Json = node
    return resolved


@functools.cache
def _create_schema() -> Json:
    operation = _contract()["paths"][MESSAGES_PATH]["post"]
    content = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]
    return _resolve(content["schema"])


@functools.cache
def _account_sid_schema() -> Json:
    parameters = _contract()["paths"][MESSAGES_PATH]["post"]["parameters"]
    schema: Json = next(p["schema"] for p in parameters if p["name"] == "AccountSid")
    return schema


def _error(status: int, code: int, message: str) -> web.Response:
    body: Json = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


def _not_found(path: str) -> web.Response:
    return _error(404, 20404, f"The requested resource {path} was not found")


def _is_uri(value: str) -> bool:
    parts = urlsplit(value)
    host = parts.hostname or ""
    return parts.scheme in {"http", "https"} and bool(host) and "_" not in host


def _is_phone_number(value: str) -> bool:
    return bool(_E164.match(value) or _CHANNEL_ADDRESS.match(value) or _SENDER_ID.match(value))


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_value(name: str, value: str, schema: Json) -> list[_Violation]:
    """Simple checks of one string value against a property's (resolved) schema."""
    schema = _resolve(schema)
    kind = schema.get("type")
    shown = value if len(value) <= 80 else value[:77] + "..."
    bad: list[_Violation] = []

    def fail(reason: str) -> None:
        bad.append(_Violation(f"{name}={shown!r}: {reason}", name))

    if kind == "integer" and not _INTEGER.match(value):
        fail("not an integer")
    elif kind == "number":
        try:
            float(value)
        except ValueError:
            fail("not a number")
    elif kind == "boolean" and value.lower() not in _BOOLEANS:
        fail("not a boolean (true or false)")
    if "enum" in schema and value not in schema["enum"]:
        fail(f"not one of {schema['enum']}")
    if "minLength" in schema and len(value) < int(schema["minLength"]):
        fail(f"shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > int(schema["maxLength"]):
        fail(f"longer than {schema['maxLength']} characters")
    if "pattern" in schema and not re.search(str(schema["pattern"]), value):
        fail(f"does not match {schema['pattern']}")
    ignore_format = bool(schema.get("x-twilio", {}).get("ignoreFormat"))
    fmt = None if ignore_format else schema.get("format")
    if fmt == "uri" and not _is_uri(value):
        fail("not an absolute http(s) URL with a valid hostname")
    elif fmt == "phone-number" and not _is_phone_number(value):
        fail("not an E.164 number, channel address (whatsapp:+...) or sender ID")
    elif fmt == "date-time" and not _is_datetime(value):
        fail("not an ISO 8601 date-time")
    return bad


def _check_create(form: MultiDictProxy[str]) -> list[_Violation]:
    """The violations of CreateMessageRequest (and Twilio's documented rules) in a form."""
    schema = _create_schema()
    properties: dict[str, Json] = schema.get("properties", {})
    bad: list[_Violation] = []
    for name in dict.fromkeys(form.keys()):
        values = form.getall(name)
        prop = properties.get(name)
        if prop is None:
            bad.append(_Violation(f"{name}: unknown parameter (not in CreateMessageRequest)", name))
            continue
        prop = _resolve(prop)
        if prop.get("type") == "array":
            for value in values:
                bad.extend(_check_value(name, value, prop.get("items", {})))
            continue
        if len(values) > 1:
            bad.append(_Violation(f"{name}: sent {len(values)} times, expected once", name))
        bad.extend(_check_value(name, values[0], prop))

    def present(name: str) -> bool:
        return any(value != "" for value in form.getall(name, []))

    for name in schema.get("required", []):
        if not present(name):
            bad.append(_Violation(f"{name}: required parameter missing", name, missing=True))
    if not any(present(name) for name in ("Body", "MediaUrl", "ContentSid")):
        bad.append(_Violation("one of Body, MediaUrl, ContentSid is required", "Body", True))
    if not any(present(name) for name in ("From", "MessagingServiceSid")):
        bad.append(_Violation("one of From, MessagingServiceSid is required", "From", True))
    body = form.get("Body", "")
    if len(body) > _BODY_MAX:
        bad.append(_Violation(f"Body: {len(body)} characters, at most {_BODY_MAX}", "Body"))
    if "ContentVariables" in form:
        if not present("ContentSid"):
            bad.append(_Violation("ContentVariables: sent without ContentSid", "ContentVariables"))
        try:
            variables = json.loads(form["ContentVariables"])
        except ValueError:
            variables = None
        if not isinstance(variables, dict):
            bad.append(_Violation("ContentVariables: not a JSON object", "ContentVariables"))
    return bad


def _now_rfc2822() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


class FakeTwilio(FakeServer):
    """An in-process Twilio REST API: records what Sigap sends and answers like Twilio."""

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.base_url = ""
        self.messages: list[SentMessage] = []
        self.attempts: list[dict[str, str]] = []
        self.contract_violations: list[str] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request received
        self._resources: dict[str, Json] = {}
        self._failures: list[_Failure] = []
        self._media: dict[str, _Media] = {}
        self._down_until = 0.0  # time.monotonic() at which an outage ends
        self.account_status = "active"  # or "suspended", "closed"
        # What fetching a message says later, by recipient ("whatsapp:+62..."): "delivered"...
        self.later_status: dict[str, str] = {}

    # --- lifecycle -------------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._authenticate])
        accounts = "/2010-04-01/Accounts/{account_sid}"
        app.router.add_get(f"{accounts}.json", self._handle_account)
        app.router.add_route("*", f"{accounts}/Messages.json", self._handle_messages)
        app.router.add_get(f"{accounts}/Messages/{{sid}}.json", self._handle_fetch)
        app.router.add_get(
            f"{accounts}/Messages/{{message_sid}}/Media/{{sid:ME[0-9a-f]{{32}}}}{{json:(\\.json)?}}",
            self._handle_media,
        )
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        return app

    async def start(self) -> None:
        _create_schema()  # fail here, loudly, if the contract cannot be read
        await super().start()
        self.base_url = self.origin

    # --- assertions ------------------------------------------------------------------------

    def to(self, number: str) -> list[SentMessage]:
        return [m for m in self.messages if _addressed_to(m.params.get("To", ""), number)]

    def bodies(self, number: str) -> list[str]:
        return [m.params.get("Body", "") for m in self.to(number)]

    # --- scripting -------------------------------------------------------------------------

    def fail(
        self, *, status: int, code: int, message: str, times: int = 1, to: str | None = None
    ) -> None:
        """The next `times` valid creates (to that recipient only, if given) answer an error."""
        self._failures.extend(_Failure(status, code, message, to) for _ in range(times))

    def outage(self, seconds: float = math.inf) -> None:
        """For `seconds` (until end_outage() by default), every request is recorded (creates
        in `attempts` too) and answered 503 with error 20503, as Twilio answers when it is
        overloaded; nothing is created, fetched or downloaded."""
        self._down_until = time.monotonic() + seconds

    def end_outage(self) -> None:
        self._down_until = 0.0

    @property
    def in_outage(self) -> bool:
        return time.monotonic() < self._down_until

    def add_media(
        self, data: bytes, content_type: str, *, bytes_per_second: float | None = None
    ) -> str:
        """Store media like an incoming message's MediaUrlN and return its URL on this server;
        with `bytes_per_second` it is sent one byte at a time at that rate (a dripping server)."""
        if not self.base_url:
            raise RuntimeError("start the fake before adding media")
        media = _Media(data, content_type, "MM" + uuid.uuid4().hex, "ME" + uuid.uuid4().hex)
        media.bytes_per_second = bytes_per_second
        self._media[media.sid] = media
        return f"{self.base_url}{self._media_path(media)}"

    def refuse_media(self, url: str, status: int = 404) -> None:
        sid = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")
        if sid not in self._media:
            raise KeyError(f"no media at {url}")
        self._media[sid].refused = status

    # --- HTTP ------------------------------------------------------------------------------

    @web.middleware
    async def _authenticate(
        self,
        request: web.Request,
        handler: Handler,
    ) -> web.StreamResponse:
        """Every request needs basic auth ACCOUNT_SID:AUTH_TOKEN; creates are recorded first.
        During an outage every request is answered 503."""
        self.requests.append((request.method, request.path))
        await self._record_attempt(request)
        if self.in_outage:
            return _error(503, 20503, "Service Unavailable")
        try:
            auth = BasicAuth.decode(request.headers.get(hdrs.AUTHORIZATION, ""))
        except ValueError:
            auth = None
        if auth is None or (auth.login, auth.password) != (ACCOUNT_SID, AUTH_TOKEN):
            return _error(401, 20003, "Authenticate")
        response: web.StreamResponse = await handler(request)
        return response

    async def _record_attempt(self, request: web.Request) -> None:
        """Record every Messages.json POST, authenticated or not, check it against the contract
        and stash the form on the request for the handler; then wait `latency`."""
        matched = _MESSAGES_ROUTE.match(request.path)
        if request.method != "POST" or matched is None:
            return
        at = time.monotonic()
        problems = _check_value("AccountSid (path)", matched[1], _account_sid_schema())
        form = await self._read_form(request)
        if isinstance(form, _Violation):
            problems.append(form)
            form = MultiDictProxy(MultiDict[str]())
        else:
            problems.extend(_check_create(form))
        self.attempts.append(_first_values(form))
        request[_CREATE] = _Create(form, problems, at)
        for problem in problems:
            self.contract_violations.append(f"POST {request.path}: {problem.text}")
        if self.latency:
            await asyncio.sleep(self.latency)

    @staticmethod
    async def _read_form(request: web.Request) -> MultiDictProxy[str] | _Violation:
        """The form fields, or the violation that keeps them from being read."""
        if request.content_type != "application/x-www-form-urlencoded":
            return _Violation(
                f"Content-Type {request.content_type!r}, expected "
                "application/x-www-form-urlencoded",
                "Content-Type",
            )
        form = MultiDict[str]()
        for name, value in (await request.post()).items():
            if not isinstance(value, str):
                return _Violation(f"{name}: a file, expected a form field", name)
            form.add(name, value)
        return MultiDictProxy(form)

    async def _handle_messages(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return _error(405, 20004, "Method not allowed")
        create = request[_CREATE]
        form, problems = create.form, create.problems
        if request.match_info["account_sid"] != ACCOUNT_SID:
            return _not_found(request.path)
        if problems:
            first: _Violation = problems[0]
            return _error(400, first.code, "; ".join(p.text for p in problems))
        failure = self._take_failure(form.get("To", ""))
        if failure is not None:
            return _error(failure.status, failure.code, failure.message)
        sid = "SM" + uuid.uuid4().hex
        self.messages.append(
            SentMessage(sid, _first_values(form), create.at, form.getall("MediaUrl", []))
        )
        resource = self._resource(sid, form)
        self._resources[sid] = resource
        return web.json_response(resource, status=201)

    async def _handle_account(self, request: web.Request) -> web.Response:
        """The account itself (what `sigap check` fetches to try the credentials)."""
        if request.match_info["account_sid"] != ACCOUNT_SID:
            return _not_found(request.path)
        return web.json_response(
            {"sid": ACCOUNT_SID, "friendly_name": "Sigap test", "status": self.account_status}
        )

    async def _handle_fetch(self, request: web.Request) -> web.Response:
        resource = self._resources.get(request.match_info["sid"])
        if request.match_info["account_sid"] != ACCOUNT_SID or resource is None:
            return _not_found(request.path)
        later = self.later_status.get(str(resource.get("to")))
        return web.json_response({**resource, "status": later} if later else resource)

    async def _handle_media(self, request: web.Request) -> web.StreamResponse:
        media = self._media.get(request.match_info["sid"])
        if (
            media is None
            or request.match_info["account_sid"] != ACCOUNT_SID
            or request.match_info["message_sid"] != media.message_sid
        ):
            return _not_found(request.path)
        if media.refused is not None:
            if media.refused == 404:
                return _not_found(request.path)
            return _error(media.refused, 20000 + media.refused, "Media unavailable")
        if request.match_info["json"]:
            now = _now_rfc2822()
            return web.json_response(
                {
                    "account_sid": ACCOUNT_SID,
                    "content_type": media.content_type,
                    "date_created": now,
                    "date_updated": now,
                    "parent_sid": media.message_sid,
                    "sid": media.sid,
                    "uri": self._media_path(media) + ".json",
                }
            )
        if media.bytes_per_second is not None:
            return await self._drip(request, media, media.bytes_per_second)
        return web.Response(body=media.data, headers={hdrs.CONTENT_TYPE: media.content_type})

    @staticmethod
    async def _drip(request: web.Request, media: _Media, rate: float) -> web.StreamResponse:
        response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: media.content_type})
        response.content_length = len(media.data)
        await response.prepare(request)
        try:
            for index in range(len(media.data)):
                await response.write(media.data[index : index + 1])
                await asyncio.sleep(1 / rate)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client gave up
        return response

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return _not_found(request.path)

    # --- helpers ---------------------------------------------------------------------------

    def _take_failure(self, to: str) -> _Failure | None:
        for index, failure in enumerate(self._failures):
            if failure.to is None or _addressed_to(to, failure.to):
                return self._failures.pop(index)
        return None

    @staticmethod
    def _media_path(media: _Media) -> str:
        return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{media.message_sid}/Media/{media.sid}"

    @staticmethod
    def _resource(sid: str, form: MultiDictProxy[str]) -> Json:
        """The api.v2010.account.message a create answers with."""
        now = _now_rfc2822()
        uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"
        service = form.get("MessagingServiceSid")
        sender = form.get("From") or None
        return {
            "account_sid": ACCOUNT_SID,
            "api_version": API_VERSION,
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": str(len(form.getall("MediaUrl", []))),
            "num_segments": "0" if sender is None else "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if sender is None else "queued",
            "subresource_uris": {
                "media": uri.removesuffix(".json") + "/Media.json",
                "feedback": uri.removesuffix(".json") + "/Feedback.json",
            },
            "to": form.get("To"),
            "uri": uri,
        }


def _addressed_to(to: str, number: str) -> bool:
    return to in (number, "whatsapp:" + number)


def _first_values(form: Mapping[str, str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in form.items():
        params.setdefault(name, value)
    return params
