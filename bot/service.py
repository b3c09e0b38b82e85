"""`sigap run`: the channels, the web server and the scheduler in one process, stopped cleanly
by Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from starlette.routing import Route

from bot import scheduler, web
from bot.app import App
from bot.outbox import Delivery, Sender
from bot.telegram import TelegramChannel
from bot.whatsapp import WhatsAppChannel
from storage.models import Channel

log = logging.getLogger(__name__)

NO_CHANNEL = """No channel is configured, so there is nobody to talk to.
Configure one in config.toml (see config.example.toml), for example Telegram:

    [telegram]
    token = "123456:ABC..."        # from @BotFather; or set SIGAP_TELEGRAM_TOKEN

or WhatsApp through Twilio:

    [whatsapp]
    account_sid = "AC..."
    auth_token = "..."             # or set SIGAP_TWILIO_AUTH_TOKEN
    from = "whatsapp:+14155238886"

    [server]
    public_url = "https://sigap.example.org"   # where Twilio reaches /whatsapp/inbound

To try the conversation without any channel, run `sigap chat`."""


class NoChannel(Exception):
    pass


class Service:
    def __init__(self, app: App) -> None:
        self.app = app
        settings = app.settings
        self.telegram = (
            TelegramChannel(app, settings.telegram, settings.server)
            if settings.telegram.enabled
            else None
        )
        self.whatsapp = (
            WhatsAppChannel(app, settings.whatsapp, settings.server)
            if settings.whatsapp.enabled
            else None
        )
        if self.telegram is None and self.whatsapp is None:
            raise NoChannel(NO_CHANNEL)
        routes = []
        if self.telegram is not None and settings.telegram.mode == "webhook":
            routes.append(
                Route(settings.telegram.webhook_path, self.telegram.webhook, methods=["POST"])
            )
        if self.whatsapp is not None:
            routes.append(Route("/whatsapp/inbound", self.whatsapp.inbound, methods=["POST"]))
            routes.append(Route("/whatsapp/status", self.whatsapp.status, methods=["POST"]))
            routes.append(Route("/media/{sha256}", self.whatsapp.media, methods=["GET"]))
        self.web = web.WebServer(
            web.create(routes, self.health), settings.server.host, settings.server.port
        )
        senders: dict[Channel, Sender] = {}
        if self.telegram is not None:
            senders[Channel.TELEGRAM] = self.telegram
        if self.whatsapp is not None:
            senders[Channel.WHATSAPP] = self.whatsapp
        self.delivery = Delivery(app.services, senders)
        self.jobs = scheduler.Jobs(app.services, self.delivery)
        app.conversations.on_outbox.append(self.jobs.wake_outbox)
        self.stopping = asyncio.Event()

    async def health(self) -> dict[str, bool]:
        parts = {"database": await self.app.db.ping()}
        if self.telegram is not None:
            parts["telegram"] = self.telegram.up
        if self.whatsapp is not None:
            parts["whatsapp"] = self.whatsapp.up
        return parts

    async def start(self) -> None:
        await self.web.start()  # first: Telegram must reach the webhook once it is set
        self.jobs.start()
        if self.whatsapp is not None:
            await self.whatsapp.start()
        if self.telegram is not None:
            await self.telegram.start()

    async def stop(self) -> None:
        """Channels first (the updates in hand are finished), then the web server, then the
        scheduler: nothing half-handled is left behind."""
        if self.telegram is not None:
            await self.telegram.stop()
        await self.web.stop()  # finishes the webhook requests in hand
        if self.whatsapp is not None:
            await self.whatsapp.stop()
        if self.jobs.scheduler.running:  # not when start-up failed before it (a port in use)
            await self.jobs.stop()

    def _failed(self, starting: asyncio.Task[None]) -> None:
        if not starting.cancelled() and starting.exception() is not None:
            self.stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        starting = asyncio.create_task(self.start())
        starting.add_done_callback(self._failed)
        await self.stopping.wait()
        log.info("stopping")
        if self.telegram is not None:
            self.telegram.stopping.set()  # also ends a start still waiting for Telegram
        try:
            await starting
        finally:
            await self.stop()
