"""The baseline of bench/telegram_webhook.py: a bare python-telegram-bot handler that does the
work Sigap must do for a message, and nothing else, as a process of its own.

For each update posted to its webhook (Starlette on uvicorn, as Sigap's), in the transactions
Sigap uses (BEGIN IMMEDIATE on SQLite, the same engine settings):
1. the update id recorded (a redelivery is dropped), the chat's conversation row upserted, the
   inbound message id and the two replies stored, then 200 to the webhook;
2. the two replies sent, in order, through python-telegram-bot's Bot;
3. the replies marked sent and their message ids stored.
The replies are the very texts and keyboard Sigap sent for the same /bantuan (a JSON file).

    python -m bench.bare_bot --database URL --bot-api ORIGIN --port PORT --replies FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bench.separate import SECRET
from bot.web import WebServer
from storage.db import Database
from tests.fakes.telegram import FakeTelegram

metadata = MetaData()
seen = Table(
    "bare_seen",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("key", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "key"),
)
conversation = Table(
    "bare_conversation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("step", String(32), nullable=True),
    Column("data", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("last_inbound_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "sender"),
)
chat_message = Table(
    "bare_chat_message",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("chat", String(64), nullable=False),
    Column("message_id", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("from_bot", Boolean, nullable=False),
    UniqueConstraint("channel", "chat", "message_id"),
)
outbox = Table(
    "bare_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("address", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("buttons", Text, nullable=True),
    Column("state", String(16), nullable=False),
    Column("provider_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class Bare:
    def __init__(self, db: Database, replies: list[dict[str, Any]]) -> None:
        self.db = db
        self.replies = replies
        self.dialect = postgresql if not db.is_sqlite else sqlite
        self.engine = (
            db.engine.execution_options(sqlite_immediate=True) if db.is_sqlite else db.engine
        )
        self.sending: set[asyncio.Task[None]] = set()

    async def handle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        chat = str(update.effective_chat.id)
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            fresh = await conn.execute(
                self.dialect.insert(seen)
                .values(channel="telegram", key=str(update.update_id), at=now)
                .on_conflict_do_nothing()
                .returning(seen.c.id)
            )
            if fresh.first() is None:
                return  # a redelivery
            upsert = self.dialect.insert(conversation).values(
                channel="telegram", sender=chat, language="en", step="menu", data="{}", seq=1,
                last_inbound_at=now,
            )  # fmt: skip
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["channel", "sender"],
                    set_={"step": "menu", "seq": conversation.c.seq + 1, "last_inbound_at": now},
                )
            )
            await conn.execute(
                chat_message.insert().values(
                    channel="telegram", chat=chat, message_id=update.effective_message.message_id,
                    at=now, from_bot=False,
                )
            )  # fmt: skip
            rows = [
                {
                    "channel": "telegram", "address": chat, "text": reply["text"],
                    "buttons": json.dumps(reply.get("reply_markup")), "state": "pending",
                    "created_at": now, "updated_at": now,
                }
                for reply in self.replies
            ]  # fmt: skip
            ids = (await conn.execute(outbox.insert().returning(outbox.c.id), rows)).scalars()
            queued = list(ids)
        task = asyncio.create_task(self.send(context, int(chat), queued))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def send(self, context: ContextTypes.DEFAULT_TYPE, chat: int, queued: list[int]) -> None:
        sent = []
        for reply in self.replies:
            markup = reply.get("reply_markup")
            markup = json.loads(markup) if isinstance(markup, str) else markup
            message = await context.bot.send_message(
                chat,
                reply["text"],
                reply_markup=InlineKeyboardMarkup.de_json(markup, context.bot) if markup else None,
            )
            sent.append(message.message_id)
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == bindparam("row"))
                .values(state="sent", provider_id=bindparam("provider"), updated_at=now),
                [{"row": row, "provider": str(m)} for row, m in zip(queued, sent, strict=True)],
            )
            await conn.execute(
                chat_message.insert(),
                [
                    {"channel": "telegram", "chat": str(chat), "message_id": message_id,
                     "at": now, "from_bot": True}
                    for message_id in sent
                ],
            )  # fmt: skip


async def serve(arguments: argparse.Namespace, replies: list[dict[str, Any]]) -> None:
    db = Database(arguments.database)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    bare = Bare(db, replies)
    application = (
        Application.builder()
        .token(FakeTelegram.TOKEN)
        .base_url(arguments.bot_api + "/bot")
        .request(HTTPXRequest(connection_pool_size=128, read_timeout=15, write_timeout=15))
        .updater(None)
        .build()
    )
    application.add_handler(TypeHandler(Update, bare.handle))

    async def webhook(request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return Response(status_code=403)
        await application.process_update(Update.de_json(await request.json(), application.bot))
        return Response()

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    routes = [
        Route("/telegram/webhook", webhook, methods=["POST"]),
        Route("/healthz", healthz),
    ]
    server = WebServer(Starlette(routes=routes), "127.0.0.1", arguments.port)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    async with application:
        await server.start()
        await stopped.wait()
        await server.stop()
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--database", required=True)
    parser.add_argument("--bot-api", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--replies", required=True)
    parsed = parser.parse_args()
    asyncio.run(serve(parsed, json.loads(Path(parsed.replies).read_text())))
