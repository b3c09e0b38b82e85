"""Inbound Telegram updates through the webhook path: updates per second, and the time from an
update arriving to its reply reaching the (fake, local) Bot API server, median and p99.
Measured in the same run against a bare python-telegram-bot handler behind a bare Starlette
endpoint that does one database write and one reply. Sending limits are lifted on both sides:
this measures Sigap's own cost, not Telegram's 30 messages a second.

    python3 dev.py bench telegram_webhook [--updates 2000] [--concurrency 50 | --rate 30]
        [--database-url postgresql+psycopg://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

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
from bot.config import ServerSettings, Settings, TelegramSettings
from storage.settings import StorageSettings
from tests.fakes.telegram import FakeTelegram

SECRET = "bench-secret"
UNLIMITED = {
    "messages_per_second": 1000,
    "chat_messages_per_second": 30,
    "group_messages_per_minute": 60,
}


def replies(fake: FakeTelegram) -> list[tuple[Hashable, float]]:
    return [(int(call.params["chat_id"]), call.at) for call in fake.called("sendMessage")]


def requests(updates: list[dict[str, Any]]) -> list[Post]:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    return [(u["message"]["chat"]["id"], {"json": u, "headers": headers}) for u in updates]


def make_updates(fake: FakeTelegram, count: int, offset: int) -> list[dict[str, Any]]:
    return [fake.message(offset + i, "/bantuan", language_code="en") for i in range(count)]


async def run_sigap(fake: FakeTelegram, url: str, media: Path, count: int, load: Load) -> Timed:
    settings = Settings(
        privacy=KEYED,
        storage=StorageSettings(url=url, media_dir=media),
        server=ServerSettings(port=0, public_url="https://bench.invalid"),
        telegram=TelegramSettings(
            token=FakeTelegram.TOKEN,
            base_url=fake.base_url,
            mode="webhook",
            secret_token=SECRET,
            **UNLIMITED,
        ),
    )
    posts = requests(make_updates(fake, count, offset=1_000_000))
    return await serve_sigap(settings, "/telegram/webhook", posts, load, lambda: replies(fake))


async def run_bare(fake: FakeTelegram, url: str, count: int, load: Load) -> Timed:
    """The baseline: python-telegram-bot's Application, one INSERT, one reply."""
    async with bare_table(url, "chat") as (engine, table):

        async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_chat is not None
            async with engine.begin() as conn:
                await conn.execute(insert(table).values(chat=str(update.effective_chat.id)))
            await context.bot.send_message(update.effective_chat.id, "help text")

        application = (
            Application.builder()
            .token(FakeTelegram.TOKEN)
            .base_url(fake.base_url)
            .updater(None)
            .connection_pool_size(128)
            .build()
        )
        application.add_handler(TypeHandler(Update, reply))

        async def webhook(request: Request) -> Response:
            if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
                return Response(status_code=403)
            update = Update.de_json(await request.json(), application.bot)
            await application.process_update(update)
            return Response()

        async with application:
            posts = requests(make_updates(fake, count, offset=2_000_000))
            route = Route("/hook", webhook, methods=["POST"])
            return await serve_bare(route, posts, load, lambda: replies(fake))


async def main(arguments: argparse.Namespace) -> None:
    load = Load(arguments.concurrency, arguments.rate)
    with tempfile.TemporaryDirectory() as folder:
        async with fresh_database(arguments.database_url, Path(folder), "webhook") as url:
            print(
                f"{arguments.updates} updates, {load}, on "
                f"{url.split(':')[0]}; each update is /bantuan from a new chat"
            )
            async with FakeTelegram() as fake:
                runs: list[tuple[str, Callable[[], Awaitable[Timed]]]] = [
                    ("bare", lambda: run_bare(fake, url, arguments.updates, load)),
                    (
                        "sigap",
                        lambda: run_sigap(
                            fake,
                            url,
                            Path(folder) / "media",
                            arguments.updates,
                            load,
                        ),
                    ),
                ]
                results = {}
                for name, run in runs:
                    wall, times = await run()
                    results[name] = summary(name, arguments.updates, wall, times)
    ratios(results)


if __name__ == "__main__":
    asyncio.run(main(load_arguments(__doc__, "updates", 2000)))
