"""The WhatsApp channel through Twilio: signed webhooks in, twilio's async REST client out
(routed to `api_base_url`), numbered choices, the 24-hour window, delivery states."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import httpx
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot import web
from bot.app import ChannelServices
from bot.config import TEMPLATE_KINDS, ServerSettings, WhatsAppSettings
from bot.delivery import CAPABILITIES, Bucket, ChatLocks, DeliveryError, Gone, Health, Sent, split
from bot.numbered import render
from handlers.conversation.messages import Attachment, Inbound, Location, load
from storage import broadcasts, conversations, outbox, referrals
from storage.media import MediaProblem, sniff
from storage.models import Channel, MessageKind, Outbox, OutboxState

log = logging.getLogger(__name__)

TWILIO = "https://api.twilio.com"
MAX_BODY = 1600  # characters Twilio accepts in one WhatsApp message body
WINDOW_HOURS = 24
MAX_FORM_BYTES = 64 * 1024  # a webhook's form; Twilio's are a few kilobytes
FORM = "application/x-www-form-urlencoded"
MAX_MEDIA = 10  # files Twilio attaches to one message at most
MEDIA_SECONDS = 10.0  # to fetch all the files of one message: Twilio waits 15 s for the answer
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")  # MessageSid: SM... or MM...
_ERROR_CODE = re.compile(r"[0-9]{1,10}")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Twilio error codes that no retry can fix.
INVALID_NUMBER, OUTSIDE_WINDOW, OPTED_OUT = 21211, 63016, 21610
STATUSES = {
    "queued": OutboxState.SENT,
    "accepted": OutboxState.SENT,
    "sending": OutboxState.SENT,
    "sent": OutboxState.SENT,
    "delivered": OutboxState.DELIVERED,
    "read": OutboxState.READ,
    "failed": OutboxState.FAILED,
    "undelivered": OutboxState.UNDELIVERED,
}


class RoutedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """twilio's aiohttp client, sending what it addresses to api.twilio.com to the configured
    `api_base_url` instead (a Twilio-compatible endpoint, an egress proxy, a test server)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=15)
        self.base_url = base_url.rstrip("/")

    async def request(
        self, method: str, url: str, *args: Any, auth: tuple[str, str] | None = None, **kwargs: Any
    ) -> Any:
        if url.startswith(TWILIO):
            url = self.base_url + url.removeprefix(TWILIO)
        headers = dict(kwargs.pop("headers", None) or {})
        if auth is not None:  # aiohttp deprecates auth=; the header is the same
            headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        return await super().request(method, url, *args, headers=headers, **kwargs)


def number(address: str) -> str:
    """The E.164 number of a WhatsApp address ("whatsapp:+6281..."); "" for anything else."""
    found = address.removeprefix("whatsapp:")
    return found if _E164.fullmatch(found) else ""


class WhatsAppChannel:
    channel = Channel.WHATSAPP
    capabilities = CAPABILITIES[Channel.WHATSAPP]

    def __init__(
        self,
        services: ChannelServices,
        settings: WhatsAppSettings,
        server: ServerSettings,
        *,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
    ) -> None:
        self.services = services
        self.settings = settings
        self.public_url = (settings.public_url or server.public_url).rstrip("/")
        self.validator = RequestValidator(settings.auth_token)
        self.media_seconds = MEDIA_SECONDS  # to fetch the files of one message
        self.http = RoutedHttpClient(settings.api_base_url)
        self.client = Client(settings.account_sid, settings.auth_token, http_client=self.http)
        self.bucket = Bucket(
            settings.max_messages_per_second, burst=max(1.0, settings.max_messages_per_second / 10)
        )
        self.sleep = sleep
        self.max_retries = 5
        self.health = Health("WhatsApp (Twilio)")
        self._locks = ChatLocks()

    async def start(self) -> None:
        missing = [kind.value for kind in TEMPLATE_KINDS if kind not in self.settings.templates]
        if missing:
            log.warning(
                "WhatsApp: no template for %s in [whatsapp.templates]: such messages to anyone "
                "who has not written in the last 24 hours will fail (recorded in the outbox)",
                ", ".join(missing),
            )
        log.info("WhatsApp: receiving at %s/whatsapp/inbound", self.public_url)

    async def close(self) -> None:
        await self.http.close()

    # Images of broadcasts, fetched by Twilio from this server.

    def signature(self, sha256: str) -> str:
        key = self.settings.auth_token.encode()
        return hmac.new(key, sha256.encode(), hashlib.sha256).hexdigest()[:32]

    def media_url(self, sha256: str) -> str:
        return f"{self.public_url}/media/{sha256}?sig={self.signature(sha256)}"

    async def media(self, request: Request) -> Response:
        """GET /media/{sha256}?sig=...: a broadcast's image, an open referral's case file, or an
        image a reporter sent to a member through the relay, for Twilio. Nothing else in the
        media store (evidence) is ever served."""
        sha256 = request.path_params["sha256"]
        given = request.query_params.get("sig", "")
        if not hmac.compare_digest(given, self.signature(sha256)):
            return Response("forbidden", status_code=403)
        async with self.services.db.read() as session:
            if not (
                await broadcasts.image_in_use(session, sha256)
                or await referrals.document_in_use(session, sha256)
                or await outbox.image_to_member(session, self.channel, sha256)
            ):
                return Response("not found", status_code=404)
        data = await self.services.media.read(sha256)
        return Response(data, media_type=sniff(data) or "application/octet-stream")

    # Inbound.

    async def _form(self, request: Request) -> dict[str, str] | None:
        """The form fields, if the request is signed by Twilio for the public address. What
        is not a form (Twilio's webhooks always are) is refused with 415 and a body over
        MAX_FORM_BYTES with 413, both before it is parsed (or read any further); a signed
        form with what Twilio never sends (form_problem) with 400."""
        if web.media_type(request) != FORM:
            raise HTTPException(415, "not a form")
        body = await web.capped_body(request, MAX_FORM_BYTES)
        if body is None:
            raise HTTPException(413, "too large")
        # As Starlette reads a form: the bytes as Latin-1, then %-escapes as UTF-8.
        params = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        url = self.public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("X-Twilio-Signature", "")
        if not self.validator.validate(url, params, signature):
            return None
        problem = form_problem(params)
        if problem is not None:
            raise HTTPException(400, problem)
        return params

    async def inbound(self, request: Request) -> Response:
        """POST /whatsapp/inbound. Answered (empty) as soon as the message and its answer are
        stored, whatever Twilio's REST API is doing: the answer goes out through the outbox.
        A message delivered twice (Twilio retries; a signed request replayed) is recognised
        by its MessageSid and handled once, so a form without one is refused (400)."""
        params = await self._form(request)
        if params is None:
            return Response("forbidden", status_code=403)
        if not params.get("MessageSid"):
            return Response("no MessageSid", status_code=400)
        sender = number(params.get("From", ""))
        if not sender.startswith("+"):
            return twiml()  # understood, not for us: 200 so Twilio stops retrying
        message = Inbound(
            self.channel,
            sender,
            text=(params.get("ButtonPayload") or params.get("Body") or "").strip() or None,
            location=location(params),
            media=tuple(await self._media(params)),
            known_phone=sender,
            key=params["MessageSid"],
        )
        async with self._locks.hold(sender):
            outcome = await self.services.conversations.handle(message)
        if not outcome.stored:
            return Response("not stored; send it again", status_code=503)
        return twiml()

    async def status(self, request: Request) -> Response:
        """POST /whatsapp/status: Twilio's delivery reports. Unknown messages get 200 too."""
        params = await self._form(request)
        if params is None:
            return Response("forbidden", status_code=403)
        state = STATUSES.get(params.get("MessageStatus", ""))
        sid = params.get("MessageSid", "")
        if state is not None and sid:
            async with self.services.db.write() as session:
                await outbox.provider_status(
                    session,
                    self.channel,
                    sid,
                    state,
                    at=self.services.clock(),
                    error_code=params.get("ErrorCode") or None,
                )
        return Response(status_code=200)

    async def _media(self, params: dict[str, str]) -> list[Attachment]:
        """The message's files, fetched within `media_seconds` all together."""
        count = media_count(params.get("NumMedia", "")) or 0  # _form refused any other
        deadline = asyncio.get_running_loop().time() + self.media_seconds
        return [
            await self._download(params.get(f"MediaUrl{i}", ""), deadline) for i in range(count)
        ]

    async def _download(self, url: str, deadline: float) -> Attachment:
        """Fetches a file with the account's credentials, stopping at the size limit and at
        the deadline (event loop time), however slowly the bytes come."""
        limit = self.services.media.max_bytes
        auth = (self.settings.account_sid, self.settings.auth_token)
        try:
            async with (
                asyncio.timeout_at(deadline),
                httpx.AsyncClient(auth=auth, follow_redirects=True, timeout=30) as client,
                client.stream("GET", url) as response,
            ):
                response.raise_for_status()
                declared = int(response.headers.get("Content-Length") or 0)
                if declared > limit:
                    return Attachment(None, problem=MediaProblem.TOO_LARGE)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > limit:
                        return Attachment(None, problem=MediaProblem.TOO_LARGE)
        except TimeoutError:
            log.warning("WhatsApp media took too long to fetch; gave up")
            return Attachment(None, problem=MediaProblem.UNREADABLE)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
            log.warning("could not fetch WhatsApp media: %s", error)
            return Attachment(None, problem=MediaProblem.UNREADABLE)
        return Attachment(bytes(data))

    # Outbound.

    async def deliver(self, row: Outbox) -> Sent:
        """An outbox row, with the SID of the (last) message sent. Raises DeliveryError,
        classified by `classify`."""
        try:
            sid = await (self._answer(row) if row.kind is MessageKind.REPLY else self._notify(row))
        except DeliveryError as error:
            if not error.permanent:
                self.health.failed(error.message)
            raise
        self.health.ok()
        return Sent(sid)

    async def record(
        self, session: AsyncSession, sent: Sequence[tuple[Outbox, Sent]], at: datetime
    ) -> None:
        """Nothing: WhatsApp keeps no record of the messages in a chat (it cannot delete or
        edit them); their delivery reports come to /whatsapp/status."""

    async def _answer(self, row: Outbox) -> str | None:
        """An answer: always inside the window (the person just wrote), sent even to a chat
        that opted out. All replies go as one message (WhatsApp does not keep separate ones
        in order), in pieces if long."""
        replies = [render(load(reply)).strip() for reply in row.replies]
        sid = None
        for piece in split("\n\n".join(r for r in replies if r), MAX_BODY):
            sid = await self._create(row.address, body=piece)
        return sid

    async def _notify(self, row: Outbox) -> str | None:
        """The system speaking first: free text within 24 hours of the person's last
        message (with the typed words that do what buttons would), the kind's template
        after; never to a number that opted out."""
        async with self.services.db.read() as session:
            conv = await conversations.find(session, self.channel, row.address)
        if conv is not None and conv.opted_out_at is not None:
            raise DeliveryError(
                "opted_out", "the recipient sent STOP", permanent=True, gone=Gone.OPTED_OUT
            )
        last = conv.last_inbound_at if conv is not None else None
        now = self.services.clock()
        if last is not None and now - last < timedelta(hours=WINDOW_HOURS):
            sid = None
            attached = row.image_sha256 or row.document_sha256  # a broadcast's, a case file
            image = self.media_url(attached) if attached else None
            hint = outbox.hint(row)
            for piece in split(row.text + ("\n\n" + hint if hint else ""), MAX_BODY):
                sid = await self._create(row.address, body=piece, media_url=image)
                image = None
            return sid
        template = self.settings.templates.get(row.kind)
        if template is None:
            raise DeliveryError(
                "no_template",
                f"outside the 24-hour window and no [whatsapp.templates] {row.kind}",
                permanent=True,
            )
        return await self._create(row.address, template=template, variables=row.variables)

    async def _create(
        self,
        to: str,
        *,
        body: str | None = None,
        template: str | None = None,
        variables: dict[str, Any] | None = None,
        media_url: str | None = None,
    ) -> str:
        """One message through Twilio within the rate limit; the message's SID, or
        DeliveryError. Like TelegramLimiter, the request itself is retried (429, 5xx,
        time-outs) with a short backoff, so a long answer sent in pieces does not repeat its
        first pieces; a failure that outlasts that goes back to the delivery job."""
        arguments: dict[str, Any] = {
            "from_": self.settings.sender,
            "to": f"whatsapp:{to}",
            "status_callback": f"{self.public_url}/whatsapp/status",
        }
        if template is not None:
            arguments["content_sid"] = template
            arguments["content_variables"] = json.dumps(variables or {})
        else:
            arguments["body"] = body
        if media_url is not None:
            arguments["media_url"] = [media_url]
        for attempt in range(self.max_retries + 1):
            wait = self.bucket.reserve()
            if wait > 0:
                await self.sleep(wait)
            try:
                message = await self.client.messages.create_async(**arguments)
                return str(message.sid)
            except (TwilioRestException, aiohttp.ClientError, TimeoutError) as error:
                failure = classify(error)
            if failure.permanent or attempt == self.max_retries:
                raise failure
            delay = min(30.0, 0.5 * 2**attempt)
            log.warning("WhatsApp send failed (%s); retrying in %.1fs", failure.message, delay)
            await self.sleep(delay)
        raise AssertionError("unreachable")


def classify(error: TwilioRestException | aiohttp.ClientError | TimeoutError) -> DeliveryError:
    """What a failed request to Twilio says of a send. The network, a 429 and server errors
    may pass. A number that opted out at Twilio (21610) or is not a WhatsApp number (21211)
    will not receive again: gone. Any other 4xx (outside the 24-hour window, a bad
    template...) is permanent."""
    if not isinstance(error, TwilioRestException):
        return DeliveryError("network", str(error) or type(error).__name__, permanent=False)
    code, message = str(error.code), str(error.msg)
    if error.status == 429 or error.status >= 500:
        return DeliveryError(code, message, permanent=False)
    if error.code == OPTED_OUT:
        return DeliveryError(code, message, permanent=True, gone=Gone.OPTED_OUT)
    if error.code == INVALID_NUMBER:
        return DeliveryError(code, message, permanent=True, gone=Gone.UNREACHABLE)
    return DeliveryError(code, message, permanent=True)


def form_problem(params: dict[str, str]) -> str | None:
    """What in a signed form Twilio never sends, of the fields Sigap keeps or acts on: a
    NumMedia that is not 0 to 10, a MessageSid that is not a SID, an ErrorCode that is not a
    number. None when there is nothing of the kind."""
    if media_count(params.get("NumMedia", "")) is None:
        return f"NumMedia is not a number from 0 to {MAX_MEDIA}"
    if params.get("MessageSid") and not _SID.fullmatch(params["MessageSid"]):
        return "MessageSid is not a message SID"
    if params.get("ErrorCode") and not _ERROR_CODE.fullmatch(params["ErrorCode"]):
        return "ErrorCode is not a number"
    return None


def media_count(value: str) -> int | None:
    """NumMedia as Twilio sends it: "0" to "10" (missing or empty: none); None otherwise."""
    if not value:
        return 0
    if len(value) > 2 or not (value.isascii() and value.isdigit()):
        return None
    count = int(value)
    return count if count <= MAX_MEDIA else None


def location(params: dict[str, str]) -> Location | None:
    """A shared location; None without one, or for numbers that are no place on Earth (nan,
    inf, 1e999 read as floats)."""
    try:
        latitude, longitude = float(params["Latitude"]), float(params["Longitude"])
    except (KeyError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None  # also false for nan
    return Location(latitude, longitude)


def twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")
