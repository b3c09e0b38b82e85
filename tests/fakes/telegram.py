"""A fake Telegram Bot API server on 127.0.0.1 for python-telegram-bot's real HTTP client."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError, ClientSession, web

from tests.fakes.server import FakeServer

Params = dict[str, Any]

# Parameters whose value is always a string, even when it looks like JSON ("123", "true").
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "data",
        "callback_query_id",
        "inline_message_id",
        "file_id",
        "url",
        "secret_token",
        "language_code",
        "parse_mode",
        "action",
        "query",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "business_connection_id",
        "message_effect_id",
    }
)


@dataclass
class Call:
    """One Bot API request the fake received, and whether it was carried out (None while
    it is being handled; False when it was answered with an error)."""

    method: str
    params: dict[str, Any]
    at: float
    done: bool | None = None


class _ApiError(Exception):
    """Raised by a method handler to answer {"ok": false, ...}."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not values the Bot API sends


def _decode(name: str, value: str) -> Any:
    if name in _STRING_FIELDS:
        return value
    try:
        return json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        return value


QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def _error_body(status: int, description: str, retry_after: int | None = None) -> Params:
    body: Params = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


class FakeTelegram(FakeServer):
    """An in-process Bot API server that records what the bot sends and answers like Telegram."""

    TOKEN = "123456:TEST-token"
    BOT_ID = 123456

    def __init__(
        self,
        *,
        latency: float = 0.0,
        username: str = "SigapTestBot",
        query_timeout: float = 15.0,
    ) -> None:
        super().__init__()
        self.latency = latency
        self.username = username
        self.query_timeout = query_timeout  # seconds a callback query can still be answered
        self.base_url = ""
        self.base_file_url = ""
        self.calls: list[Call] = []
        self.deleted: dict[int, set[int]] = defaultdict(set)
        self.webhook: Params | None = None
        self.webhook_error: tuple[int, str] | None = None  # (unix time, message), as Telegram says
        # When True, an update pushed while a webhook is set is posted to it, as Telegram
        # does, instead of waiting for getUpdates (see `_deliver`).
        self.delivers_to_webhook = False
        self._deliveries: dict[int, asyncio.Task[None]] = {}  # chat id -> its delivery
        self._to_deliver: dict[int, list[Params]] = defaultdict(list)
        self._client: ClientSession | None = None
        self.commands: dict[str, list[Params]] = {}
        self._closing = False
        self._down_until = 0.0  # time.monotonic() at which an outage ends
        self._updates: list[Params] = []
        # Every message and press made by `message` and `callback`, kept after it was fetched:
        # what people said and from which chats (the journeys check the service's log for it).
        self.made: list[Params] = []
        self._last_update_id = 0
        self._wakeup = asyncio.Event()
        self._called = asyncio.Event()
        self._messages: dict[int, dict[int, Params]] = defaultdict(dict)
        self._next_bot_id: dict[int, int] = defaultdict(lambda: 1000)
        self._next_incoming_id: dict[int, int] = defaultdict(lambda: 1)
        self._chat_types: dict[int, str] = {}
        self._callback_ids = itertools.count(1)
        self._queries: dict[str, float] = {}  # callback query id -> when it was created
        self._files: dict[str, tuple[bytes, int]] = {}
        self._file_ids = itertools.count(1)
        self._refused: dict[str, str] = {}
        self._failures: dict[str, list[_ApiError]] = defaultdict(list)
        self._blocked: set[int] = set()
        self._undeletable: set[tuple[int, int]] = set()
        self._handlers: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "sendmessage": self._send_message,
            "sendphoto": self._send_message,
            "senddocument": self._send_message,
            "editmessagetext": self._edit_message,
            "editmessagereplymarkup": self._edit_message,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "sendchataction": self._true,
        }

    # --- lifecycle -------------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        return app

    async def start(self) -> None:
        self._closing = False
        await super().start()
        self.base_url = f"{self.origin}/bot"
        self.base_file_url = f"{self.origin}/file/bot"

    async def stop(self) -> None:
        self._closing = True
        self._wakeup.set()  # let waiting getUpdates answer now
        for delivery in self._deliveries.values():
            delivery.cancel()
        if self._client is not None:
            await self._client.close()
            self._client = None
        await super().stop()

    # --- assertions ------------------------------------------------------------------------

    def called(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def photos(self, chat_id: int) -> list[Call]:
        """sendPhoto calls to that chat, in order."""
        return [c for c in self.called("sendPhoto") if int(c.params.get("chat_id", 0)) == chat_id]

    def sent(self, chat_id: int) -> list[Call]:
        """The messages sent to the chat: sendMessage calls carried out (not those refused)."""
        return [
            call
            for call in self.called("sendMessage")
            if call.params.get("chat_id") == chat_id and call.done
        ]

    def texts(self, chat_id: int) -> list[str]:
        return [str(call.params.get("text", "")) for call in self.sent(chat_id)]

    async def wait_for(
        self, method: str, count: int = 1, *, chat_id: int | None = None, within: float = 10
    ) -> list[Call]:
        """Waits until `count` calls of the method (to that chat) have arrived."""

        def matching() -> list[Call]:
            calls = self.called(method)
            if chat_id is not None:
                calls = [c for c in calls if int(c.params.get("chat_id", 0)) == chat_id]
            return calls

        async with asyncio.timeout(within):
            while len(matching()) < count:
                self._called.clear()
                await self._called.wait()
        return matching()

    def keyboard(self, chat_id: int) -> tuple[int, list[list[Params]]]:
        """The newest bot message in the chat that still shows inline buttons: id and rows."""
        for message_id, message in sorted(self._messages[chat_id].items(), reverse=True):
            markup = message.get("reply_markup") or {}
            if message["from"]["id"] == self.BOT_ID and "inline_keyboard" in markup:
                return message_id, markup["inline_keyboard"]
        raise AssertionError(f"no message with buttons in chat {chat_id}")

    def keyboards(self, chat_id: int) -> list[tuple[int, list[list[Params]]]]:
        """The bot's messages in the chat that show inline buttons now, oldest first."""
        shown = []
        for message_id, message in sorted(self._messages[chat_id].items()):
            markup = message.get("reply_markup") or {}
            if message["from"]["id"] == self.BOT_ID and "inline_keyboard" in markup:
                shown.append((message_id, markup["inline_keyboard"]))
        return shown

    # --- incoming updates ------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Updates pushed that the bot has not yet confirmed (by asking for later ones)."""
        return len(self._updates)

    def push_update(self, update: dict[str, Any]) -> None:
        if "update_id" not in update:
            update["update_id"] = self._new_update_id()
        self._last_update_id = max(self._last_update_id, int(update["update_id"]))
        if self.delivers_to_webhook and self.webhook is not None:
            found = update.get("message") or update["callback_query"]["message"]
            chat = int(found["chat"]["id"])
            self._to_deliver[chat].append(update)
            if chat not in self._deliveries or self._deliveries[chat].done():
                self._deliveries[chat] = asyncio.create_task(self._deliver(chat))
            return
        self._updates.append(update)
        self._wakeup.set()

    async def _deliver(self, chat: int) -> None:
        """Posts a chat's updates to the webhook one after the other, each once the previous
        one was answered 200 (what is not answered 200 is posted again after a moment); the
        chats at the same time."""
        queue = self._to_deliver[chat]
        if self._client is None:
            self._client = ClientSession()
        # Nothing is awaited between the last look at the queue and the end: an update
        # pushed meanwhile would wait for a delivery that has ended.
        while queue and self.webhook is not None and not self._closing:
            headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook.get("secret_token", "")}
            try:
                async with self._client.post(
                    self.webhook["url"], json=queue[0], headers=headers
                ) as response:
                    status, reason = response.status, response.reason or ""
            except (ClientError, OSError) as error:
                status, reason = 0, str(error)
            if status == 200:
                queue.pop(0)
                continue
            self.webhook_error = (int(time.time()), f"{status} {reason}".strip())
            await asyncio.sleep(0.2)

    def message(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        language_code: str = "id",
        chat_type: str = "private",
        user_id: int | None = None,
        photo: list[dict[str, Any]] | None = None,
        document: dict[str, Any] | None = None,
        location: tuple[float, float] | None = None,
        contact_phone: str | None = None,
        caption: str | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """An Update with a message from a user; in a private chat the user id is the chat id."""
        self._chat_types[chat_id] = chat_type
        user = self._user(user_id if user_id is not None else abs(chat_id), language_code)
        if message_id is None:
            message_id = self._next_incoming_id[chat_id]
        self._next_incoming_id[chat_id] = max(self._next_incoming_id[chat_id], message_id + 1)
        msg: Params = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": user,
        }
        if text is not None:
            msg["text"] = text
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if photo is not None:
            msg["photo"] = photo
        if document is not None:
            msg["document"] = document
        if location is not None:
            msg["location"] = {"latitude": location[0], "longitude": location[1]}
        if contact_phone is not None:
            msg["contact"] = {
                "phone_number": contact_phone,
                "first_name": user["first_name"],
                "user_id": user["id"],
            }
        if caption is not None:
            msg["caption"] = caption
        self._messages[chat_id][message_id] = msg
        update = {"update_id": self._new_update_id(), "message": msg}
        self.made.append(update)
        return update

    def callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int,
        user_id: int | None = None,
        language_code: str = "id",
    ) -> dict[str, Any]:
        """An Update with a button press on the bot's message `message_id` in that chat."""
        message = self._messages[chat_id].get(message_id) or {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
        }
        query_id = f"cbq-{next(self._callback_ids)}"
        self._queries[query_id] = time.monotonic()
        query: Params = {
            "id": query_id,
            "from": self._user(user_id if user_id is not None else abs(chat_id), language_code),
            "message": message,
            "chat_instance": f"instance-{chat_id}",
            "data": data,
        }
        update = {"update_id": self._new_update_id(), "callback_query": query}
        self.made.append(update)
        return update

    # --- files -----------------------------------------------------------------------------

    def add_file(
        self, data: bytes, *, file_id: str | None = None, file_size: int | None = None
    ) -> str:
        file_id = file_id or f"file-{next(self._file_ids)}"
        self._files[file_id] = (data, len(data) if file_size is None else file_size)
        return file_id

    def refuse_file(self, file_id: str, description: str = "Bad Request: file is too big") -> None:
        self._refused[file_id] = description

    # --- scripted failures -----------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        failures = self._failures[method.lower()]
        failures.extend(_ApiError(status, description, retry_after) for _ in range(times))

    def clear_failures(self) -> None:
        """Forgets the failures scripted with fail() that have not happened yet."""
        self._failures.clear()

    def outage(self, seconds: float = math.inf) -> None:
        """For `seconds` (until end_outage() by default), every request is recorded and
        answered 502 Bad Gateway, as Telegram's front end answers when the Bot API is
        overloaded or down; nothing is sent, edited or confirmed. A waiting getUpdates ends."""
        self._down_until = time.monotonic() + seconds
        self._wakeup.set()

    def end_outage(self) -> None:
        self._down_until = 0.0

    @property
    def in_outage(self) -> bool:
        return time.monotonic() < self._down_until

    def block(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def undeletable(self, chat_id: int, message_id: int) -> None:
        self._undeletable.add((chat_id, message_id))

    # --- HTTP ------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._read_params(request)
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        self._called.set()
        if self.in_outage:
            call.done = False
            return web.json_response(_error_body(502, "Bad Gateway"), status=502)
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            if request.match_info["token"] != self.TOKEN:
                raise _ApiError(401, "Unauthorized")
            result = await self._dispatch(method.lower(), params)
        except _ApiError as error:
            call.done = False
            body = _error_body(error.status, error.description, error.retry_after)
            return web.json_response(body, status=error.status)
        call.done = True
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, method: str, params: Params) -> Any:
        failures = self._failures.get(method)
        if failures:
            raise failures.pop(0)
        handler = self._handlers.get(method)
        if handler is None:
            raise _ApiError(404, "Not Found: method not found")
        if method.startswith(("send", "edit")) and params.get("chat_id") in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return await handler(params)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if self.in_outage:
            return web.json_response(_error_body(502, "Bad Gateway"), status=502)
        if request.match_info["token"] != self.TOKEN:
            return web.json_response(_error_body(401, "Unauthorized"), status=401)
        file_id = request.match_info["path"].removeprefix("files/")
        if file_id not in self._files:
            return web.json_response(_error_body(404, "Not Found"), status=404)
        return web.Response(body=self._files[file_id][0])

    @staticmethod
    async def _read_params(request: web.Request) -> Params:
        params: Params = {name: _decode(name, value) for name, value in request.query.items()}
        if not request.can_read_body:
            return params
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                params[name] = value.file.read()
            elif isinstance(value, str):
                params[name] = _decode(name, value)
            else:
                params[name] = bytes(value)
        return params

    # --- building objects ------------------------------------------------------------------

    def _new_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    def _bot_user(self) -> Params:
        return {
            "id": self.BOT_ID,
            "is_bot": True,
            "first_name": "Sigap",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    @staticmethod
    def _user(user_id: int, language_code: str) -> Params:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": "Tester",
            "language_code": language_code,
        }

    def _chat(self, chat_id: int) -> Params:
        # Telegram's group and channel ids are negative, users' positive.
        chat_type = self._chat_types.get(chat_id, "supergroup" if chat_id < 0 else "private")
        if chat_type == "private":
            return {"id": chat_id, "type": chat_type, "first_name": "Tester"}
        return {"id": chat_id, "type": chat_type, "title": "Test group"}

    # --- methods ---------------------------------------------------------------------------

    async def _true(self, params: Params) -> bool:
        return True

    async def _answer_callback_query(self, params: Params) -> bool:
        """Like Telegram: only a query this server issued, within query_timeout seconds."""
        created = self._queries.get(str(params.get("callback_query_id", "")))
        if created is None or time.monotonic() - created > self.query_timeout:
            raise _ApiError(400, QUERY_TOO_OLD)
        return True

    async def _get_me(self, params: Params) -> Params:
        return self._bot_user()

    async def _get_updates(self, params: Params) -> list[Params]:
        if self.webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout") or 0)
        while True:
            if self.in_outage:
                raise _ApiError(502, "Bad Gateway")
            self._confirm(offset)
            remaining = deadline - loop.time()
            if self._updates or self._closing or remaining <= 0:
                return self._updates[:limit]
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    async def _set_webhook(self, params: Params) -> bool:
        self.webhook = params
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: Params) -> Params:
        info: Params = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        for name in ("max_connections", "allowed_updates", "ip_address"):
            if self.webhook and name in self.webhook:
                info[name] = self.webhook[name]
        if self.webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_error
        return info

    async def _set_my_commands(self, params: Params) -> bool:
        self.commands[str(params.get("language_code") or "")] = list(params["commands"])
        return True

    async def _delete_my_commands(self, params: Params) -> bool:
        self.commands.pop(str(params.get("language_code") or ""), None)
        return True

    async def _get_my_commands(self, params: Params) -> list[Params]:
        return self.commands.get(str(params.get("language_code") or ""), [])

    async def _send_message(self, params: Params) -> Params:
        chat_id = int(params["chat_id"])
        message_id = self._next_bot_id[chat_id]
        self._next_bot_id[chat_id] = message_id + 1
        message: Params = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            "text": params.get("text", params.get("caption", "")),
        }
        # Like Telegram, a message shows only an inline keyboard (a reply keyboard, such as
        # the button sharing one's number, is the chat's, not the message's).
        if "inline_keyboard" in (params.get("reply_markup") or {}):
            message["reply_markup"] = params["reply_markup"]
        self._messages[chat_id][message_id] = message
        return message

    async def _edit_message(self, params: Params) -> Params | bool:
        if "inline_message_id" in params:
            return True
        chat_id = int(params["chat_id"])
        message_id = int(params["message_id"])
        message = dict(
            self._messages[chat_id].get(message_id)
            or {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
                "from": self._bot_user(),
            }
        )
        message["edit_date"] = int(time.time())
        if "text" in params:
            message["text"] = params["text"]
        message.pop("reply_markup", None)  # like Telegram: an edit without markup drops it
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self._messages[chat_id][message_id] = message
        return message

    async def _get_file(self, params: Params) -> Params:
        file_id = str(params.get("file_id", ""))
        if file_id in self._refused:
            raise _ApiError(400, self._refused[file_id])
        if file_id not in self._files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"unique-{file_id}",
            "file_size": self._files[file_id][1],
            "file_path": f"files/{file_id}",
        }

    async def _delete_message(self, params: Params) -> bool:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        if (chat_id, message_id) in self._undeletable:
            raise _ApiError(400, "Bad Request: message can't be deleted for everyone")
        self.deleted[chat_id].add(message_id)
        return True

    async def _delete_messages(self, params: Params) -> bool:
        chat_id = int(params["chat_id"])
        for message_id in params["message_ids"]:
            if (chat_id, int(message_id)) not in self._undeletable:
                self.deleted[chat_id].add(int(message_id))
        return True
