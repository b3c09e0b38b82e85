"""The Telegram channel pointed at the fake Bot API server, and `sigap run` with a webhook."""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.config import ServerSettings, TelegramSettings
from bot.service import Service
from tests.fakes.telegram import FakeTelegram

PUBLIC = "https://sigap.example.org"  # the service's public address
SECRET_TOKEN = "s3cret"  # the webhook's secret


def telegram_settings(fake: FakeTelegram, **extra: Any) -> TelegramSettings:
    return TelegramSettings(token=FakeTelegram.TOKEN, base_url=fake.base_url, **extra)


async def webhook_service(app: App, fake: FakeTelegram) -> Service:
    """`sigap run` with Telegram on a webhook (secret `s3cret`), started."""
    settings = app.settings.model_copy(
        update={
            "telegram": telegram_settings(fake, mode="webhook", secret_token=SECRET_TOKEN),
            "server": ServerSettings(port=0, public_url=PUBLIC),
        }
    )
    app.settings = settings
    service = Service(app)
    await service.start()
    return service
