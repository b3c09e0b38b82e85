"""What the fake servers share: serving an aiohttp application on 127.0.0.1, on a free port
at first and on the same port after a stop, with the state kept in between."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web


class FakeServer:
    """A local HTTP server; a subclass gives its routes in `application()`."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port = 0  # the first start takes a free port; a restart takes the same one
        self.origin = ""  # http://127.0.0.1:PORT once started

    def application(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        """Serves on a free port, or after stop() on the port it had, with the state it had."""
        self._runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, backlog=4096)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self.origin = f"http://127.0.0.1:{self._port}"

    async def stop(self) -> None:
        """Stops serving (connections are refused) and keeps the state for start()."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
