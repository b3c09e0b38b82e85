"""`sigap members test NAME`: a test alert to every address of a member, sent now by this
process through the configured channels (not the outbox: the operator waits for the answer),
and what became of each: Telegram's acceptance is delivery; Twilio's message is followed until
it reports delivered, read, failed or undelivered (or the wait ends)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from bot.app import App
from bot.delivery import DeliveryError, Sent
from bot.outbox import Sender
from handlers.i18n import gettext
from handlers.taskforce.alert_texts import TEST_ALERT
from handlers.usecases import membership
from storage import members
from storage.models import Channel, MessageKind, Outbox

FINAL = {"delivered", "read", "failed", "undelivered"}

if TYPE_CHECKING:
    from bot.telegram import TelegramChannel
    from bot.whatsapp import WhatsAppChannel


async def test_member(app: App, name: str, wait: float = 15.0) -> str:
    async with app.services.work(write=False) as work:
        member = await membership.find(work.session, name)
        assert member.id is not None
        addresses = await members.addresses(work.session, [member.id])
    if not addresses:
        return f"{member.name} has no address yet: invite them (`sigap members invite`)"
    text = gettext(app.services.bot.default_language)(TEST_ALERT).format(name=member.name)
    lines = [f"test alert to {member.name}:"]
    channels = Channels(app)
    try:
        for address in addresses:
            where = f"  {address.channel} {address.address}"
            channel = await channels.get(address.channel)
            if channel is None:
                lines.append(f"{where}: not sent, {address.channel} is not configured here")
                continue
            now = app.services.clock()
            row = Outbox(
                created_at=now,
                updated_at=now,
                channel=address.channel,
                address=address.address,
                kind=MessageKind.NOTICE,
                text=text,
                variables={"1": "TEST", "2": text[:200]},
            )
            try:
                sent = await channel.deliver(row)
            except DeliveryError as error:
                lines.append(f"{where}: NOT delivered ({error.code}: {error.message})")
                continue
            lines.append(f"{where}: {await channels.outcome(address.channel, sent, wait)}")
    finally:
        await channels.close()
    return "\n".join(lines)


class Channels:
    """The channels as `sigap run` builds them (loaded only for this command), opened when
    first needed."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.telegram: TelegramChannel | None = None
        self.whatsapp: WhatsAppChannel | None = None

    async def get(self, channel: Channel) -> Sender | None:
        settings = self.app.settings
        if channel is Channel.TELEGRAM and settings.telegram.enabled:
            if self.telegram is None:
                from bot.telegram import TelegramChannel

                self.telegram = TelegramChannel(
                    self.app.for_channels, settings.telegram, settings.server
                )
                await self.telegram.bot.initialize()
            return self.telegram
        if channel is Channel.WHATSAPP and settings.whatsapp.enabled:
            if self.whatsapp is None:
                from bot.whatsapp import WhatsAppChannel

                self.whatsapp = WhatsAppChannel(
                    self.app.for_channels, settings.whatsapp, settings.server
                )
            return self.whatsapp
        return None

    async def outcome(self, channel: Channel, sent: Sent, wait: float) -> str:
        """Telegram's acceptance is delivery; Twilio's message is followed."""
        if channel is not Channel.WHATSAPP or self.whatsapp is None or not sent.provider_id:
            return "delivered"
        ends = time.monotonic() + wait
        status = "accepted"
        while time.monotonic() < ends:
            message = await self.whatsapp.client.messages(sent.provider_id).fetch_async()
            status = str(message.status)
            if status in FINAL:
                break
            await asyncio.sleep(1)
        if status in ("delivered", "read"):
            return status
        if status in FINAL:
            return f"NOT delivered (Twilio: {status})"
        return f"sent, but Twilio has not confirmed delivery within {wait:g} s (status {status})"

    async def close(self) -> None:
        if self.telegram is not None:
            await self.telegram.close()
        if self.whatsapp is not None:
            await self.whatsapp.close()
