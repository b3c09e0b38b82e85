"""`sigap run`: the channels, the web server and the scheduler in one process, stopped cleanly
by Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any

from starlette.routing import BaseRoute, Route

from bot import preflight, scheduler, web
from bot.app import App
from bot.dashboard import Dashboard
from bot.email import EmailChannel
from bot.metrics import Metrics
from bot.outbox import Delivery, Sender
from bot.telegram import TelegramChannel
from bot.whatsapp import WhatsAppChannel
from storage import outbox
from storage.models import Channel

log = logging.getLogger(__name__)

# A stop (SIGTERM) ends within 10 seconds: what is being sent gets this long to finish...
SEND_GRACE = 5.0
# ...and the scheduler's jobs in hand (database work only) this long.
JOB_GRACE = 3.0

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
            TelegramChannel(app.for_channels, settings.telegram, settings.server)
            if settings.telegram.enabled
            else None
        )
        self.whatsapp = (
            WhatsAppChannel(app.for_channels, settings.whatsapp, settings.server)
            if settings.whatsapp.enabled
            else None
        )
        # Only outbound (case files to agencies): not a channel anyone talks to the bot on.
        self.email = EmailChannel(app.services, settings.smtp) if settings.smtp.enabled else None
        if self.telegram is None and self.whatsapp is None:
            raise NoChannel(NO_CHANNEL)
        routes: list[BaseRoute] = []
        if self.telegram is not None and settings.telegram.mode == "webhook":
            routes.append(
                Route(settings.telegram.webhook_path, self.telegram.webhook, methods=["POST"])
            )
        if self.whatsapp is not None:
            routes.append(Route("/whatsapp/inbound", self.whatsapp.inbound, methods=["POST"]))
            routes.append(Route("/whatsapp/status", self.whatsapp.status, methods=["POST"]))
            routes.append(Route("/media/{sha256}", self.whatsapp.media, methods=["GET"]))
        if settings.dashboard_url:
            # Its actions' messages (alerts edited, the reporter's notice) are sent at once.
            panel = Dashboard(app, wake=lambda: self.jobs.wake_outbox())
            routes.extend(panel.routes())
        self.channels = [c for c in (self.telegram, self.whatsapp, self.email) if c is not None]
        self.metrics = Metrics(app, [(c.channel.value, c.health) for c in self.channels])
        app.conversations.on_handled.append(self.metrics.handled)
        self.metrics_web: web.WebServer | None = None
        if settings.metrics.port:
            scraped: list[BaseRoute] = [Route("/metrics", self.metrics.page, methods=["GET"])]
            self.metrics_web = web.WebServer(
                web.create(scraped, self.health), settings.metrics.host, settings.metrics.port
            )
        elif settings.metrics.token:
            routes.append(Route("/metrics", self.metrics.page, methods=["GET"]))
        self.web = web.WebServer(
            web.create(routes, self.health), settings.server.host, settings.server.port
        )
        senders: dict[Channel, Sender] = {}
        if self.telegram is not None:
            senders[Channel.TELEGRAM] = self.telegram
        if self.whatsapp is not None:
            senders[Channel.WHATSAPP] = self.whatsapp
        if self.email is not None:
            senders[Channel.EMAIL] = self.email
        self.delivery = Delivery(app.services, senders)
        self.jobs = scheduler.Jobs(app.services, self.delivery)
        # Every answer on these channels is an outbox row, sent at once by this process (or,
        # should it die first, by the next one).
        app.conversations.answered_by_outbox = set(senders) - {Channel.EMAIL}
        app.conversations.sender = self.delivery
        app.conversations.on_outbox.append(self.jobs.wake_outbox)
        self.stopping = asyncio.Event()

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether the service works (the database answers, no channel has been failing for
        longer than `[server] channel_down_after_seconds`), and the details."""
        down_after = timedelta(seconds=self.app.settings.server.channel_down_after_seconds)
        database = await self.app.db.ping()
        parts: dict[str, Any] = {"database": {"state": "up" if database else "down"}}
        for channel in self.channels:
            parts[channel.channel.value] = channel.health.report(down_after)
        if database:
            async with self.app.db.read() as session:
                pending, oldest = await outbox.backlog(session)
            age = (self.app.services.clock() - oldest).total_seconds() if oldest else 0.0
            parts["outbox"] = {"pending": pending, "oldest_pending_seconds": round(age, 1)}
        parts["jobs"] = {
            name: {
                "last_ok": (
                    self.jobs.last_ok[name].isoformat(timespec="seconds")
                    if name in self.jobs.last_ok
                    else None
                ),
                "error": self.jobs.last_error.get(name),
            }
            for name in self.jobs.registered()
        }
        up = database and all(c.health.up(down_after) for c in self.channels)
        return up, parts

    async def start(self) -> None:
        await self.web.start()  # first: Telegram must reach the webhook once it is set
        if self.metrics_web is not None:
            await self.metrics_web.start()
        await self.delivery.register()
        for finding in await preflight.local(self.app):
            if finding.level is not preflight.Level.OK:
                log.warning("%s: %s (see `sigap check`)", finding.part, finding.says)
        if not self.app.services.cek.secret:
            log.warning(
                "cek.secret is not set: residents' checks are stored with a built-in key. Set "
                "a long random value (or SIGAP_CEK_SECRET) and keep it"
            )
        self.jobs.start()
        if self.whatsapp is not None:
            await self.whatsapp.start()
        if self.telegram is not None:
            await self.telegram.start()

    async def stop(self) -> None:
        """Within 10 seconds even when Telegram or Twilio cannot be reached: no more
        updates, the requests in hand answered, the messages in hand sent or put back in the
        outbox as pending, then the jobs; the channels' clients last."""
        if self.telegram is not None:
            await self.telegram.stop()
        await self.web.stop()  # finishes the webhook requests in hand
        if self.metrics_web is not None:
            await self.metrics_web.stop()
        await self.delivery.stop(grace=SEND_GRACE)
        await self.jobs.stop(grace=JOB_GRACE)
        if self.telegram is not None:
            await self.telegram.close()
        if self.whatsapp is not None:
            await self.whatsapp.close()

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
