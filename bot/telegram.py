"""The Telegram channel: updates (long polling or webhook) become Inbound messages, replies
become messages with inline keyboards. python-telegram-bot's ExtBot does the HTTP, against
any Bot API server; TelegramLimiter keeps sending within Telegram's limits."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Union

# Opt in now to python-telegram-bot 23's time periods as timedelta (22.x warns otherwise).
os.environ.setdefault("PTB_TIMEDELTA", "1")

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot import web
from bot.app import ChannelServices
from bot.config import ServerSettings, TelegramSettings
from bot.delivery import (
    CAPABILITIES,
    Bucket,
    ChatLocks,
    DeliveryError,
    Gone,
    Health,
    Sent,
    Window,
    split,
)
from bot.logs import tag
from handlers.conversation.messages import (
    Attachment,
    Choice,
    ClearChat,
    Document,
    Expect,
    Inbound,
    Location,
    Option,
    Press,
    Prompt,
    Reply,
    Text,
    button_data,
    load,
    read_button,
)
from handlers.residents.menu import commands
from storage import chats, outbox
from storage.media import MediaProblem
from storage.models import Channel, MessageKind, Outbox, OutboxState

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 30  # seconds a getUpdates long poll waits
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
DELETABLE_FOR = timedelta(hours=48)  # bots may delete messages in private chats this long
MAX_UPDATE_BYTES = 1024 * 1024  # a webhook body; Telegram's updates are a few kilobytes
CHECK = "✅ "
RESTART_DELAY = 5.0  # seconds before a loop that stopped on an unexpected error starts again
WEBHOOK_CHECK = timedelta(seconds=30)  # how often webhook mode asks Telegram how it goes


class TelegramLimiter(BaseRateLimiter[None]):
    """Telegram's limits for everything python-telegram-bot sends: about 30 messages a second
    overall, one a second to a private chat (a burst of 3 lets an answer and its question go
    together), 20 a minute to a group. A 429 pauses all sending for retry_after, then retries;
    time-outs and server errors retry with backoff; other errors (403, 400) are the caller's."""

    UNLIMITED = frozenset(
        {
            "getUpdates",
            "getMe",
            "getFile",
            "setWebhook",
            "deleteWebhook",
            "setMyCommands",
            "answerCallbackQuery",
            "getWebhookInfo",
        }
    )

    def __init__(
        self,
        *,
        per_second: float = 30,
        chat_per_second: float = 1,
        group_per_minute: float = 20,
        max_retries: int = 6,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # A window, not a token bucket: an alert to 10 members goes out at once (a bucket
        # with a small burst spaced them 33 ms apart), and no second carries more than
        # `per_second` messages.
        limit = max(1, int(per_second))
        self.overall = Window(limit, limit / per_second, clock)
        self.chat_per_second = chat_per_second
        self.group_per_minute = group_per_minute
        self.chats: dict[int | str, Bucket] = {}
        self.paused_until = 0.0
        self.max_retries = max_retries
        self.sleep = sleep

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def _chat(self, chat_id: int | str) -> Bucket:
        bucket = self.chats.get(chat_id)
        if bucket is None:
            if len(self.chats) > 10_000:
                self.chats = {k: b for k, b in self.chats.items() if not b.idle}
            group = str(chat_id).startswith(("-", "@"))
            bucket = (
                Bucket(self.group_per_minute / 60, burst=3)
                if group
                else Bucket(self.chat_per_second, burst=3)
            )
            self.chats[chat_id] = bucket
        return bucket

    async def _turn(self, chat_id: int | str | None) -> None:
        pause = self.paused_until - time.monotonic()
        if pause > 0:
            await self.sleep(pause)
        if chat_id is not None:
            wait = self._chat(chat_id).reserve()
            if wait > 0:
                await self.sleep(wait)
        wait = self.overall.reserve()
        if wait > 0:
            await self.sleep(wait)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint in self.UNLIMITED:
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        attempt = 0
        while True:
            await self._turn(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                delay = _seconds(error)
                log.warning("Telegram asked to wait %.0fs (429) on %s", delay, endpoint)
                self.paused_until = max(self.paused_until, time.monotonic() + delay)
            except BadRequest:
                raise  # a NetworkError subclass, but permanent
            except (TimedOut, NetworkError) as error:
                if attempt >= self.max_retries:
                    raise
                delay = min(30.0, 0.5 * 2**attempt)
                log.warning("sending %s failed (%s); retrying in %.1fs", endpoint, error, delay)
                await self.sleep(delay)
            attempt += 1
            if attempt > self.max_retries:
                raise TimedOut(f"gave up on {endpoint} after {attempt} tries")


def _seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def callback_data(press: Press) -> str:
    data = button_data(press)
    if len(data.encode()) > MAX_CALLBACK_DATA:
        raise ValueError(f"callback data over {MAX_CALLBACK_DATA} bytes: {data!r}")
    return data


class TelegramChannel:
    """One bot. Per chat, updates are handled one at a time and in order."""

    channel = Channel.TELEGRAM
    capabilities = CAPABILITIES[Channel.TELEGRAM]

    def __init__(
        self,
        services: ChannelServices,
        settings: TelegramSettings,
        server: ServerSettings,
        *,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
    ) -> None:
        self.services = services
        self.settings = settings
        self.server = server
        self.bot = ExtBot(
            settings.token,
            base_url=settings.base_url,
            base_file_url=settings.file_url,
            request=HTTPXRequest(connection_pool_size=128, read_timeout=15, write_timeout=15),
            get_updates_request=HTTPXRequest(read_timeout=POLL_TIMEOUT + 10),
            rate_limiter=TelegramLimiter(
                per_second=settings.messages_per_second,
                chat_per_second=settings.chat_messages_per_second,
                group_per_minute=settings.group_messages_per_minute,
                sleep=sleep,
            ),
        )
        self.health = Health("Telegram")
        self.username = ""
        self.retry_delay = 1.0  # the first wait when Telegram is unreachable; then doubled
        self._locks = ChatLocks()
        self.stopping = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    # Running.

    async def start(self) -> None:
        """Connects (retrying with backoff while Telegram is unreachable), registers the
        commands, then polls or sets the webhook."""
        delay = self.retry_delay
        while True:
            try:
                await self.bot.initialize()
                break
            except InvalidToken:
                raise
            except TelegramError as error:
                self.health.failed(str(error))
                log.info("Telegram unreachable (%s); trying again in %.0fs", error, delay)
                if await self._stopped_within(delay):
                    return
                delay = min(delay * 2, 60)
        self.username = self.bot.username
        await self._register_commands()
        if self.settings.mode == "webhook":
            url = self.server.public_url.rstrip("/") + self.settings.webhook_path
            await self.bot.set_webhook(
                url, secret_token=self.settings.secret_token, allowed_updates=ALLOWED_UPDATES
            )
            log.info("Telegram webhook set to %s", url)
            self._loop = asyncio.create_task(self._supervise(self._watch_webhook))
        else:
            await self.bot.delete_webhook()
            self._loop = asyncio.create_task(self._supervise(self._poll))
            log.info("Telegram: polling as @%s", self.username)
        self.health.ok()

    async def stop(self) -> None:
        """Takes no more updates: polling stops after the batch in hand has been handled.
        Sending still works until close()."""
        self.stopping.set()
        if self._loop is not None:
            await self._loop

    async def close(self) -> None:
        await self.bot.shutdown()

    async def _stopped_within(self, seconds: float) -> bool:
        """Waits `seconds`, or less if the service stops meanwhile (then True)."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _register_commands(self) -> None:
        bot = self.services.bot
        for language in bot.languages:
            await self.bot.set_my_commands(commands(language), language_code=language)
        await self.bot.set_my_commands(commands(bot.default_language))

    async def _supervise(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Runs the channel's loop until the service stops, starting it again whatever
        stopped it."""
        while not self.stopping.is_set():
            try:
                await loop()
            except Exception as error:
                log.exception("the Telegram loop stopped; starting it again")
                self.health.failed(f"{type(error).__name__}: {error}")
                await self._stopped_within(RESTART_DELAY)

    async def _poll(self) -> None:
        """Long polling. The offset that confirms a batch is sent only after the whole batch
        has been handled and stored, so a crash loses nothing (a redelivered update is handled
        once). Every error the Bot API can give is waited out: 429 for its retry_after, the
        rest with a growing delay."""
        offset: int | None = None
        delay = 1.0
        stopping = asyncio.create_task(self.stopping.wait())
        try:
            while not self.stopping.is_set():
                fetch = asyncio.create_task(
                    self.bot.get_updates(
                        offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
                    )
                )
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    fetch.cancel()
                    break
                try:
                    updates = fetch.result()
                except RetryAfter as error:
                    self.health.failed(f"getUpdates: 429, retry after {_seconds(error):.0f}s")
                    await self._stopped_within(_seconds(error))
                    continue
                except TelegramError as error:  # network, 5xx, 409 conflict, 401 revoked...
                    self.health.failed(f"getUpdates: {error}")
                    await self._stopped_within(delay)
                    delay = min(delay * 2, 60)
                    continue
                self.health.ok()
                delay = 1.0
                if updates and await self.handle_batch(updates):
                    offset = updates[-1].update_id + 1
                elif updates:  # not stored (the database is down): the same batch again
                    await self._stopped_within(delay)
                    delay = min(delay * 2, 60)
        finally:
            stopping.cancel()

    async def _watch_webhook(self) -> None:
        """In webhook mode: asks Telegram every WEBHOOK_CHECK seconds whether it reaches the
        webhook (getWebhookInfo reports its last error)."""
        while not await self._stopped_within(WEBHOOK_CHECK.total_seconds()):
            try:
                info = await self.bot.get_webhook_info()
            except TelegramError as error:
                self.health.failed(f"getWebhookInfo: {error}")
                continue
            last_error = info.last_error_date
            if last_error is not None and datetime.now(UTC) - last_error < WEBHOOK_CHECK * 2:
                self.health.failed(f"Telegram cannot reach the webhook: {info.last_error_message}")
            else:
                self.health.ok()

    async def handle_batch(self, updates: Sequence[Update]) -> bool:
        """Chats in parallel, each chat's updates in order. False when one could not be
        stored (it is to be delivered again)."""
        by_chat: defaultdict[int, list[Update]] = defaultdict(list)
        for update in updates:
            chat = update.effective_chat
            by_chat[chat.id if chat else 0].append(update)

        async def one_chat(batch: list[Update]) -> bool:
            for update in batch:
                if not await self.handle_update(update):
                    return False
            return True

        return all(await asyncio.gather(*(one_chat(batch) for batch in by_chat.values())))

    async def webhook(self, request: Request) -> Response:
        """POST from Telegram. Answered once the update and its answer are stored, so Telegram
        delivers again anything not stored; a redelivery is recognised by its update_id."""
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(secret.encode(), self.settings.secret_token.encode()):
            return Response("forbidden", status_code=403)
        if web.media_type(request) != "application/json":  # what Telegram posts, always
            return Response("not JSON", status_code=415)
        body = await web.capped_body(request, MAX_UPDATE_BYTES)
        if body is None:
            return Response("too large", status_code=413)
        data = update_json(body)
        if data is None:
            return Response("not an update", status_code=400)
        try:
            update = Update.de_json(data, self.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return Response("not an update", status_code=400)
        self.health.ok()
        if not await self.handle_update(update):
            return Response("not stored; send it again", status_code=503)
        return Response(status_code=200)

    # Inbound.

    async def handle_update(self, update: Update) -> bool:
        """Hands the update to the conversation; False if nothing could be stored."""
        chat = update.effective_chat
        if chat is None:
            return True  # nothing this bot takes (e.g. a poll answer)
        async with self._locks.hold(chat.id):
            try:
                return await self._handle(update)
            except Exception:
                log.exception("update %s failed", update.update_id)
                return True

    async def _handle(self, update: Update) -> bool:
        query = update.callback_query
        if query is not None:
            # Only stops the button's spinner: Telegram refuses it for a press older than
            # about 15 seconds (made while the service was down), and the press counts anyway.
            try:
                await query.answer()
            except TelegramError as error:
                log.debug("could not answer a button press: %s", error)
        inbound = await self.inbound(update)
        if inbound is None:
            return True
        return (await self.services.conversations.handle(inbound)).stored

    async def inbound(self, update: Update) -> Inbound | None:
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None
        common: dict[str, Any] = {
            "key": str(update.update_id),
            "language_hint": user.language_code if user else None,
        }
        query = update.callback_query
        press = None
        if query is not None:
            press = read_button(query.data)
            if isinstance(query.message, Message):
                press = replace(press, message=str(query.message.message_id))
        if chat.type != chat.PRIVATE:
            # In a group the chat is the group: who pressed or wrote is the member who acts.
            message = update.message
            return Inbound(
                self.channel,
                str(chat.id),
                text=message.text if message is not None else None,
                press=press,
                group=True,
                user=str(user.id) if user else None,
                private_link=f"https://t.me/{self.username}?start=lapor",
                **common,
            )
        if press is not None:
            return Inbound(self.channel, str(chat.id), press=press, **common)
        message = update.message
        if message is None:
            return None
        location = None
        if message.location is not None:
            location = Location(message.location.latitude, message.location.longitude)
        return Inbound(
            self.channel,
            str(chat.id),
            text=message.text or message.caption,
            location=location,
            media=await self._media(message),
            contact=message.contact.phone_number if message.contact else None,
            message_id=str(message.message_id),
            **common,
        )

    async def _media(self, message: Message) -> tuple[Attachment, ...]:
        files: list[tuple[str, int | None, str | None]] = []
        if message.photo:
            photo = message.photo[-1]  # the largest size
            files.append((photo.file_id, photo.file_size, None))
        for item in (message.document, message.video, message.voice, message.audio):
            if item is not None:
                files.append((item.file_id, item.file_size, getattr(item, "file_name", None)))
        return tuple([await self._download(*f) for f in files])

    async def _download(self, file_id: str, size: int | None, name: str | None) -> Attachment:
        if size is not None and size > self.services.media.max_bytes:
            return Attachment(None, name, problem=MediaProblem.TOO_LARGE)
        try:
            file = await self.bot.get_file(file_id)
            if file.file_size is not None and file.file_size > self.services.media.max_bytes:
                return Attachment(None, name, problem=MediaProblem.TOO_LARGE)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as error:
            log.info("Telegram refused file %s: %s", file_id, error)
            too_big = "too big" in str(error).lower()
            return Attachment(None, name, problem=MediaProblem.TOO_LARGE if too_big else None)
        except TelegramError as error:
            log.warning("could not fetch file %s: %s", file_id, error)
            return Attachment(None, name, problem=MediaProblem.UNREADABLE)
        return Attachment(data, name)

    # Outbound.

    async def answer(
        self,
        chat_id: int,
        replies: Sequence[Reply],
        sent: TelegramSent,
        *,
        pressed_message: str | None = None,
    ) -> None:
        """Sends the replies (an answer from the outbox), noting in `sent` what went out.
        The buttons of questions already answered are removed first; a multiple choice
        toggled by a press is updated in place."""
        async with self.services.db.read() as session:
            stale = await chats.with_keyboard(session, self.channel, str(chat_id))
        shown = dict(stale)
        toggled = {r.seq for r in replies if isinstance(r, Choice) and r.multiple}
        keep = pressed_message if shown.get(pressed_message or "") in toggled else None
        for message_id in shown:
            if message_id == keep:
                continue
            try:
                await self.bot.edit_message_reply_markup(chat_id, int(message_id))
            except BadRequest as error:
                log.info("could not remove a keyboard in %s: %s", tag(chat_id), error)
            sent.unbuttoned.append(message_id)
        for reply in replies:
            if isinstance(reply, ClearChat):
                await self.clear(chat_id, reply, sent)
            elif isinstance(reply, Document):
                data = await self.services.media.load(Path(reply.path))
                document = await self.bot.send_document(chat_id, data, filename=reply.name)
                sent.messages.append((str(document.message_id), None))
            elif isinstance(reply, Choice) and keep is not None and reply.multiple:
                await self.bot.edit_message_reply_markup(
                    chat_id, int(keep), reply_markup=keyboard(reply)
                )
                sent.provider_id = keep
            else:
                sent.messages += await self._send(chat_id, reply)

    async def _send(self, chat_id: int, reply: Reply) -> list[tuple[str, int | None]]:
        """Sends one reply (in pieces if long); returns the ids sent, with the seq of the
        question whose buttons the message shows."""
        markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
        text = reply.text if isinstance(reply, Text | Choice | Prompt) else ""
        if isinstance(reply, Choice):
            markup = keyboard(reply)
        elif isinstance(reply, Prompt) and reply.expects is Expect.CONTACT and reply.share:
            markup = ReplyKeyboardMarkup(
                [[KeyboardButton(reply.share, request_contact=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
        elif isinstance(reply, Prompt) and reply.actions:
            markup = buttons(reply.seq, reply.actions)
        seq = (
            reply.seq
            if isinstance(reply, Choice | Prompt) and isinstance(markup, InlineKeyboardMarkup)
            else None
        )
        pieces = split(text, MAX_TEXT)
        sent = []
        for number, piece in enumerate(pieces):
            last = number == len(pieces) - 1
            message = await self.bot.send_message(
                chat_id, piece, reply_markup=markup if last else None
            )
            sent.append((str(message.message_id), seq if last else None))
        return sent

    async def clear(self, chat_id: int, reply: ClearChat, sent: TelegramSent) -> None:
        """Deletes what Telegram still allows of this chat (both sides, up to 48 hours old) and
        forgets the ids (with the send's result); says how many could not be deleted. The
        report stays stored."""
        chat = str(chat_id)
        now = self.services.clock()
        async with self.services.db.read() as session:
            recorded = await chats.messages(session, self.channel, chat)
        recent = [int(m.message_id) for m in recorded if now - m.at < DELETABLE_FOR]
        too_old = len(recorded) - len(recent)
        for start in range(0, len(recent), 100):
            chunk = recent[start : start + 100]
            try:
                await self.bot.delete_messages(chat_id, chunk)
            except BadRequest as error:
                log.info("could not delete messages in %s: %s", tag(chat_id), error)
                too_old += len(chunk)
        sent.forgotten += [m.message_id for m in recorded]
        if too_old:
            sent.messages += await self._send(chat_id, Text(reply.partly.format(count=too_old)))

    async def deliver(self, row: Outbox) -> TelegramSent:
        """An outbox row: an answer, a new message (with its buttons), or the edit of one sent
        before. Raises DeliveryError, classified by `classify`."""
        chat_id, sent = int(row.address), TelegramSent()
        try:
            await self._deliver(chat_id, row, sent)
        except TelegramError as error:
            failure = classify(error, sent)
            if not failure.permanent:
                self.health.failed(failure.message)
            raise failure from None
        self.health.ok()
        if sent.messages:
            sent.provider_id = sent.messages[-1][0]
        return sent

    async def record(
        self, session: AsyncSession, sent: Sequence[tuple[Outbox, Sent]], at: datetime
    ) -> None:
        """What the sends left in their chats: the messages the bot sent (to clear a chat;
        with the question whose buttons they show, to remove them once answered), the
        buttons removed, the messages forgotten by a clearing. A statement each."""
        messages: list[chats.BotMessage] = []
        unbuttoned: list[chats.BotMessage] = []
        forgotten: defaultdict[str, list[str]] = defaultdict(list)
        for row, result in sent:
            if not isinstance(result, TelegramSent):
                continue
            forgotten[row.address] += result.forgotten
            messages += [
                chats.BotMessage(self.channel, row.address, m, s) for m, s in result.messages
            ]
            unbuttoned += [
                chats.BotMessage(self.channel, row.address, m) for m in result.unbuttoned
            ]
        for chat, ids in forgotten.items():
            if ids:
                await chats.forget_messages(session, self.channel, chat, ids)
        await chats.record_sent(session, messages, unbuttoned, at)

    async def _deliver(self, chat_id: int, row: Outbox, sent: TelegramSent) -> None:
        if row.kind is MessageKind.REPLY:
            replies = [load(reply) for reply in row.replies]
            await self.answer(chat_id, replies, sent, pressed_message=row.pressed_message)
            return
        if row.edit_of is not None:
            sent.provider_id = await self._edit(chat_id, row)
            return
        # The row's actions are buttons here; its typed hint is for channels without them.
        markup = action_keyboard(outbox.actions(row))
        if row.image_sha256 is not None:
            sent.messages.append((await self._photo(chat_id, row, markup), None))
            return
        if row.document_sha256 is not None:
            sent.messages.append((await self._document(chat_id, row, markup), None))
            return
        pieces = split(row.text, MAX_TEXT)
        for number, piece in enumerate(pieces):
            last = number == len(pieces) - 1
            message = await self.bot.send_message(
                chat_id, piece, reply_markup=markup if last else None
            )
            sent.messages.append((str(message.message_id), None))

    async def _photo(self, chat_id: int, row: Outbox, markup: InlineKeyboardMarkup | None) -> str:
        """The image with the text as its caption (or after it, when too long for one)."""
        data = await self.services.media.read(row.image_sha256 or "")
        fits = len(row.text) <= MAX_CAPTION
        photo = await self.bot.send_photo(
            chat_id, data, caption=row.text if fits else None, reply_markup=markup if fits else None
        )
        if fits:
            return str(photo.message_id)
        message = await self.bot.send_message(chat_id, row.text[:MAX_TEXT], reply_markup=markup)
        return str(message.message_id)

    async def _document(
        self, chat_id: int, row: Outbox, markup: InlineKeyboardMarkup | None
    ) -> str:
        """The document (a case file) with the text as its caption and the buttons under it
        (or the text after it, when too long for a caption)."""
        data = await self.services.media.read(row.document_sha256 or "")
        fits = len(row.text) <= MAX_CAPTION
        document = await self.bot.send_document(
            chat_id,
            data,
            filename=row.document_name or "document.pdf",
            caption=row.text if fits else None,
            reply_markup=markup if fits else None,
        )
        if fits:
            return str(document.message_id)
        message = await self.bot.send_message(chat_id, row.text[:MAX_TEXT], reply_markup=markup)
        return str(message.message_id)

    async def _edit(self, chat_id: int, row: Outbox) -> str | None:
        async with self.services.db.read() as session:
            original = await outbox.get(session, row.edit_of or 0)
        if original is None or original.state in (OutboxState.FAILED, OutboxState.CANCELLED):
            return None  # nothing went out: nothing to edit
        if original.provider_id is None:
            raise DeliveryError(
                "not_sent_yet", "the message to edit is still being sent", permanent=False
            )
        try:
            await self.bot.edit_message_text(
                row.text,
                chat_id=chat_id,
                message_id=int(original.provider_id),
                reply_markup=action_keyboard(outbox.actions(row)),
            )
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                raise
        return original.provider_id


def action_keyboard(actions: list[dict[str, str]]) -> InlineKeyboardMarkup | None:
    """An outbox row's actions as buttons, one a line (none: no keyboard)."""
    if not actions:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["label"], callback_data=callback_data(Press(None, b["value"])))]
            for b in actions
        ]
    )


@dataclass
class TelegramSent(Sent):
    """What a send left in a Telegram chat, kept by the channel (see TelegramChannel.record):
    each message sent with the question whose buttons it shows, the messages whose buttons
    were removed, and those a clearing deleted."""

    messages: list[tuple[str, int | None]] = field(default_factory=list)
    unbuttoned: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)


def classify(error: TelegramError, sent: Sent | None = None) -> DeliveryError:
    """What a Bot API error says of a send. A 403 (the person blocked the bot, or the bot
    left the group) will not change: gone. A 400 is a message Telegram will not take: a retry
    cannot help. A 429 asks to wait retry_after; time-outs, network and server errors may pass
    (TelegramLimiter has already retried those a few times)."""
    message = str(error)
    if isinstance(error, Forbidden):
        return DeliveryError("blocked", message, permanent=True, gone=Gone.UNREACHABLE, sent=sent)
    if isinstance(error, BadRequest):
        return DeliveryError("bad_request", message, permanent=True, sent=sent)
    if isinstance(error, RetryAfter):
        return DeliveryError(
            "transient", message, permanent=False, retry_after=_seconds(error), sent=sent
        )
    return DeliveryError("transient", message, permanent=False, sent=sent)


def buttons(
    seq: int, options: Sequence[Option], selected: frozenset[str] = frozenset()
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    (CHECK if o.value in selected else "") + o.label,
                    callback_data=callback_data(Press(seq, o.value)),
                )
            ]
            for o in options
        ]
    )


def keyboard(choice: Choice) -> InlineKeyboardMarkup:
    """One button a row (labels are long); a multiple choice shows ticks and a Done button."""
    options = list(choice.options)
    if choice.multiple and choice.done is not None:
        options.append(choice.done)
    return buttons(choice.seq, options, choice.selected if choice.multiple else frozenset())


# The fields of an update that Sigap reads, with the types the Bot API gives them. A field
# not listed is python-telegram-bot's to parse; a listed one of another type (a number as
# `text`, a string as `message`) would reach the conversation, so the update is refused.
_Shape = dict[str, Union[type, "_Shape", list["_Shape"]]]
_FILE: _Shape = {"file_id": str, "file_size": int, "file_name": str}
_USER: _Shape = {"id": int, "is_bot": bool, "first_name": str, "language_code": str}
_MESSAGE: _Shape = {
    "message_id": int,
    "date": int,
    "chat": {"id": int, "type": str},
    "from": _USER,
    "text": str,
    "caption": str,
    "photo": [_FILE],
    "document": _FILE,
    "video": _FILE,
    "voice": _FILE,
    "audio": _FILE,
    "location": {"latitude": float, "longitude": float},
    "contact": {"phone_number": str},
}
_UPDATE: _Shape = {
    "update_id": int,
    "message": _MESSAGE,
    "callback_query": {"id": str, "from": _USER, "message": _MESSAGE, "data": str},
}


def update_json(body: bytes) -> dict[str, Any] | None:
    """The update a webhook body holds, if it is one Sigap can read: a JSON object with an
    integer update_id, every other field an object, the fields Sigap reads of their types.
    None for anything else: not JSON, nested too deep to parse, NaN, another shape."""
    try:
        data = json.loads(body, parse_constant=_not_a_number)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or "update_id" not in data or not _fits(data, _UPDATE):
        return None
    if any(not isinstance(v, dict) for k, v in data.items() if k != "update_id"):
        return None
    return data


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a number Telegram sends")


def _fits(value: object, shape: type | _Shape | list[_Shape]) -> bool:
    if isinstance(shape, list):
        return isinstance(value, list) and all(_fits(item, shape[0]) for item in value)
    if isinstance(shape, dict):
        return isinstance(value, dict) and all(
            _fits(value[name], inner) for name, inner in shape.items() if name in value
        )
    if shape is str:
        return isinstance(value, str) and _storable(value)
    if shape is int:
        return type(value) is int and -(2**63) <= value < 2**63
    if shape is float:
        return type(value) in (int, float)
    return type(value) is shape


def _storable(text: str) -> bool:
    """False for text with lone surrogates ("\\ud800"): JSON has them, no database stores them."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
