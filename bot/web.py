"""The one web server of the process (Starlette on uvicorn): the channels' webhooks and
GET /healthz (200 while the service works, 503 when it does not, with the details)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import logs

log = logging.getLogger(__name__)
PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Whether the service works, and the details of each part.
Health = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def media_type(request: Request) -> str:
    """The request's Content-Type without its parameters (charset), in lower case."""
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


async def capped_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None when it is, or says it is, larger than `limit` bytes: no
    more than that is ever read."""
    try:
        declared = int(request.headers.get("content-length", ""))
    except ValueError:
        declared = 0  # missing or unreadable: the bytes read are counted anyway
    if declared > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def create(routes: list[BaseRoute], health: Health) -> Starlette:
    async def healthz(_request: Request) -> Response:
        up, parts = await health()
        body = {"status": "up" if up else "down", **parts}
        return JSONResponse(body, status_code=200 if up else 503)

    return Starlette(
        routes=[*routes, Route("/healthz", healthz, methods=["GET"])],
        middleware=[Middleware(RequestIds)],
    )


class RequestIds:
    """Each request gets an id, the proxy's X-Request-ID when it is a plain token, else a new
    one: on every log line written while it is handled (bot/logs.py), and in the answer's
    X-Request-ID header, so a line of the log and a line of the proxy's can be matched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request = given if PLAIN_ID.fullmatch(given) else uuid.uuid4().hex[:12]

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-request-id", request.encode())]
                message = {**message, "headers": headers}
            await send(message)

        token = logs.request_id.set(request)
        try:
            await self.app(scope, receive, answer)
        finally:
            logs.request_id.reset(token)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `sigap run` owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class CannotListen(Exception):
    """The web server cannot have its address; the message says why and which key to change."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        if error.errno == errno.EADDRINUSE:
            why = f"port {port} is in use (another sigap run?): change [server] port"
        else:
            reason = (error.strerror or str(error)).lower()
            why = f"cannot listen on {host}:{port} ({reason}): check [server] host and port"
        super().__init__(f"the web server cannot start: {why}")


class WebServer:
    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self.server = _Server(config)
        self.host = host
        self.port = port
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            raise CannotListen(self.host, self.port, error) from None
        self.port = sock.getsockname()[1]  # the real one when 0 was asked
        self._task = asyncio.create_task(self.server.serve(sockets=[sock]))
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
            await asyncio.sleep(0.01)
        log.info("web server on http://%s:%s", self.host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        """Finishes the requests in hand, then stops."""
        if self._task is None:
            return
        self.server.should_exit = True
        await self._task
