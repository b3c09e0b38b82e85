"""Wires the services together: the database (migrated at start), the media store, the flows."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.delivery import CAPABILITIES
from handlers.conversation.turn import Services
from handlers.i18n import set_overrides
from handlers.settings import BotSettings
from storage.db import Database
from storage.media import MediaStore
from storage.migrate import upgrade
from storage.resealing import unlock

if TYPE_CHECKING:
    from handlers.conversation.dispatcher import Conversations


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChannelServices:
    """What a channel needs of the runtime, and no more: the database, the media store, the
    clock, the dispatcher it hands inbound messages to, and the bot's settings (languages)."""

    db: Database
    media: MediaStore
    clock: Callable[[], datetime]
    conversations: Conversations
    bot: BotSettings


@dataclass
class App:
    """The settings of the runtime itself (storage, channels, server) are in `settings`; what
    the flows use (bot, intake, alerts, escalation) is reached one way, through `services`."""

    settings: Settings
    services: Services

    @functools.cached_property
    def conversations(self) -> Conversations:
        """The flows, loaded when first used: a command that only reads (`sigap reports
        list`) starts without them, about 0.3 s sooner."""
        from handlers.conversation.dispatcher import Conversations

        return Conversations(self.services)

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def for_channels(self) -> ChannelServices:
        return ChannelServices(
            db=self.services.db,
            media=self.services.media,
            clock=self.services.clock,
            conversations=self.conversations,
            bot=self.services.bot,
        )

    async def close(self) -> None:
        await self.services.db.close()


async def build(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> App:
    """The app on an up-to-date database, its seals opened with the configured data key."""
    # Every text is read through handlers.i18n, so the deployment's wording is set there, once.
    set_overrides(settings.texts)
    keys = settings.privacy.keyring()
    db = Database(settings.storage.url)
    try:
        await upgrade(db)
        await unlock(db, keys, settings.storage.media_dir)
    except BaseException:
        await db.close()
        raise
    services = Services(
        db=db,
        media=MediaStore(settings.storage.media_dir, settings.intake.max_media_bytes),
        bot=settings.bot,
        intake=settings.intake,
        clock=clock,
        escalation=settings.escalation,
        alerts=settings.alerts,
        referral=settings.referral,
        casework=settings.casework,
        cek=settings.cek,
        retention=settings.retention,
        dashboard_url=settings.dashboard_url,
        dashboard_link_minutes=settings.dashboard.link_minutes,
        channels=CAPABILITIES,
    )
    return App(settings=settings, services=services)
