"""Wires the services together: the database (migrated at start), the media store, the flows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Settings
from handlers.conversation import Conversations
from handlers.turn import Services
from storage.db import Database
from storage.media import MediaStore
from storage.migrate import upgrade


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    services: Services
    conversations: Conversations

    @property
    def db(self) -> Database:
        return self.services.db

    async def close(self) -> None:
        await self.services.db.close()


async def build(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> App:
    """The app on an up-to-date database."""
    db = Database(settings.storage.url)
    try:
        await upgrade(db)
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
    )
    return App(settings=settings, services=services, conversations=Conversations(services))
