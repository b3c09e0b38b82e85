"""Inbound WhatsApp webhooks with signature validation: requests per second, and the time from
a request to its reply reaching the (fake, local) Twilio API, median and p99. Measured in the
same run against a bare Starlette endpoint that does the same validation, one database write
and one reply through the same twilio client. The sending limit is lifted on both sides.

    python3 dev.py bench whatsapp_webhook [--requests 1000] [--concurrency 50 | --rate 30]
        [--database-url postgresql+psycopg://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Hashable
from pathlib import Path

from sqlalchemy import insert
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bench.common import (
    KEYED,
    Load,
    Post,
    Timed,
    bare_table,
    fresh_database,
    load_arguments,
    ratios,
    serve_bare,
    serve_sigap,
    summary,
)
from bot.config import ServerSettings, Settings, WhatsAppSettings
from bot.whatsapp import RoutedHttpClient
from storage.settings import StorageSettings
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

PUBLIC = "https://bench.invalid"
SANDBOX = "whatsapp:+14155238886"


def make_posts(path: str, count: int, offset: int) -> list[Post]:
    """Signed inbound messages, each from a new number."""
    validator = RequestValidator(AUTH_TOKEN)
    made: list[Post] = []
    for i in range(count):
        number = f"+62812{offset + i:07d}"
        params = {
            "MessageSid": f"SM{offset + i:032x}",
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{number}",
            "To": SANDBOX,
            "Body": "BANTUAN",
            "NumMedia": "0",
        }
        signature = validator.compute_signature(PUBLIC + path, params)
        made.append((number, {"data": params, "headers": {"X-Twilio-Signature": signature}}))
    return made


def replies(fake: FakeTwilio) -> list[tuple[Hashable, float]]:
    return [(m.params["To"].removeprefix("whatsapp:"), m.at) for m in fake.messages]


async def run_sigap(fake: FakeTwilio, url: str, media: Path, count: int, load: Load) -> Timed:
    settings = Settings(
        privacy=KEYED,
        storage=StorageSettings(url=url, media_dir=media),
        server=ServerSettings(port=0, public_url=PUBLIC),
        whatsapp=WhatsAppSettings.model_validate(
            {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from": SANDBOX,
                "api_base_url": fake.base_url,
                "max_messages_per_second": 1000,
            }
        ),
    )
    path = "/whatsapp/inbound"
    posts = make_posts(path, count, 1_000_000)
    return await serve_sigap(settings, path, posts, load, lambda: replies(fake))


async def run_bare(fake: FakeTwilio, url: str, count: int, load: Load) -> Timed:
    """The baseline: validate, one INSERT, one reply with twilio's async client."""
    validator = RequestValidator(AUTH_TOKEN)
    http = RoutedHttpClient(fake.base_url)
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    async with bare_table(url, "sender") as (engine, table):

        async def inbound(request: Request) -> Response:
            params = {k: str(v) for k, v in (await request.form()).multi_items()}
            signature = request.headers.get("X-Twilio-Signature", "")
            if not validator.validate(PUBLIC + request.url.path, params, signature):
                return Response(status_code=403)
            async with engine.begin() as conn:
                await conn.execute(insert(table).values(sender=params["From"]))
            await client.messages.create_async(from_=SANDBOX, to=params["From"], body="help text")
            return Response("<Response/>", media_type="text/xml")

        try:
            route = Route("/in", inbound, methods=["POST"])
            posts = make_posts("/in", count, 2_000_000)
            return await serve_bare(route, posts, load, lambda: replies(fake))
        finally:
            await http.close()


async def main(arguments: argparse.Namespace) -> None:
    load = Load(arguments.concurrency, arguments.rate)
    with tempfile.TemporaryDirectory() as folder:
        async with fresh_database(arguments.database_url, Path(folder), "webhook") as url:
            print(
                f"{arguments.requests} signed webhooks, {load}, on "
                f"{url.split(':')[0]}; each is BANTUAN from a new number"
            )
            results = {}
            async with FakeTwilio() as fake:
                wall, times = await run_bare(fake, url, arguments.requests, load)
                results["bare"] = summary("bare", arguments.requests, wall, times)
            async with FakeTwilio() as fake:
                wall, times = await run_sigap(
                    fake, url, Path(folder) / "media", arguments.requests, load
                )
                results["sigap"] = summary("sigap", arguments.requests, wall, times)
    ratios(results)


if __name__ == "__main__":
    asyncio.run(main(load_arguments(__doc__, "requests", 1000)))
