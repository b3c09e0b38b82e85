"""A resident's phone on WhatsApp: signed webhooks to a running service, and what Twilio (the
fake server) was asked to send back."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from bot.config import WhatsAppSettings
from bot.service import Service
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support.answers import ANONYMOUS_TO_STORY, DETAILS, Turns, check_reply

PUBLIC = "https://sigap.example.org"  # the service's public address, which Twilio signs
SANDBOX = "whatsapp:+14155238886"
RESIDENT = "+6281234567890"
STORY = "Calo menjanjikan kerja di pabrik Johor, berangkat malam lewat pelabuhan kecil."
# An English report answered up to "where did this happen?"
UP_TO_WHERE: Turns = [
    ("REPORT", "is any of these happening?"),
    *ANONYMOUS_TO_STORY,
    (STORY, "Please check your report"),
    *DETAILS[:3],
]


def whatsapp_settings(twilio: FakeTwilio, **extra: Any) -> WhatsAppSettings:
    """The sandbox number on the fake Twilio server."""
    return WhatsAppSettings.model_validate(
        {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from": SANDBOX,
            "api_base_url": twilio.base_url,
            **extra,
        }
    )


MESSAGE_SIDS = itertools.count(1)  # Twilio's message ids are unique across all phones


class WhatsApp:
    """A resident's phone: sends signed webhooks, reads what Twilio was asked to send."""

    def __init__(self, service: Service, twilio: FakeTwilio, number: str = RESIDENT) -> None:
        self.service = service
        self.twilio = twilio
        self.number = number
        self.sids = MESSAGE_SIDS
        self.http = httpx.AsyncClient()

    async def post(
        self, path: str, params: dict[str, str], *, signature: str | None = "public"
    ) -> httpx.Response:
        headers = {}
        if signature == "public":
            signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return await self.http.post(self.service.web.url + path, data=params, headers=headers)

    def message(self, body: str = "", **extra: str) -> dict[str, str]:
        return {
            "MessageSid": f"SM{next(self.sids):032x}",
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{self.number}",
            "To": SANDBOX,
            "Body": body,
            "NumMedia": "0",
            "WaId": self.number.lstrip("+"),
            "ProfileName": "Siti",
            **extra,
        }

    async def send(self, body: str = "", **extra: str) -> str:
        """Sends a message and returns what the bot answered to it."""
        before = len(self.twilio.to(self.number))
        response = await self.post("/whatsapp/inbound", self.message(body, **extra))
        assert response.status_code == 200, response.text
        await self.service.delivery.run()  # the answer, from the outbox
        return "\n".join(self.twilio.bodies(self.number)[before:])

    async def dialog(self, turns: Turns) -> None:
        """Sends each answer and checks that the bot's reply contains the expected text."""
        for sent, expected in turns:
            check_reply(sent, expected, await self.send(sent))
