"""Someone who is not a member sends ACK or DETAIL for a report: they are refused, and the
report's timeline records the refusal by the conversation's key, never by their phone number
or chat id. Through the doors: signed Twilio webhooks and Telegram's webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bot.app import App
from bot.config import ServerSettings
from bot.reports import show_report
from bot.service import Service
from storage import conversations, reports
from storage.models import Channel, EventKind, ReportEvent
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.support.telegram import SECRET_TOKEN, telegram_settings
from tests.support.whatsapp import PUBLIC, UP_TO_WHERE, WhatsApp, whatsapp_settings

STRANGER_NUMBER = "+6285711112222"
STRANGER_CHAT = 777_123_456


@dataclass
class Running:
    service: Service
    telegram: FakeTelegram
    twilio: FakeTwilio


@pytest.fixture
async def running(app: App) -> AsyncIterator[Running]:
    """`sigap run` with Telegram (webhook) and WhatsApp, against the fakes."""
    async with FakeTelegram() as telegram, FakeTwilio() as twilio:
        app.settings = app.settings.model_copy(
            update={
                "telegram": telegram_settings(telegram, mode="webhook", secret_token=SECRET_TOKEN),
                "whatsapp": whatsapp_settings(twilio),
                "server": ServerSettings(port=0, public_url=PUBLIC),
            }
        )
        service = Service(app)
        await service.start()
        service.jobs.scheduler.pause()
        yield Running(service, telegram, twilio)
        await service.stop()


async def timeline(app: App, reference: str) -> list[ReportEvent]:
    async with app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None and report.id is not None
        return list(await reports.timeline(session, report.id))


async def conversation_id(app: App, channel: Channel, sender: str) -> int:
    async with app.db.read() as session:
        conv = await conversations.find(session, channel, sender)
    assert conv is not None and conv.id is not None
    return conv.id


async def test_a_stranger_is_refused_and_kept_off_the_timeline_by_number(
    running: Running, app: App
) -> None:
    service, telegram, twilio = running.service, running.telegram, running.twilio
    resident = WhatsApp(service, twilio)
    stranger = WhatsApp(service, twilio, number=STRANGER_NUMBER)
    await resident.send("LANGUAGE en")
    await resident.dialog([*UP_TO_WHERE, ("2", "Please check your report")])
    assert "BTN-2026-00001" in await resident.send("1")

    assert "Tidak diizinkan" in await stranger.send("ACK BTN-2026-00001")
    assert "Tidak diizinkan" in await stranger.send("DETAIL BTN-2026-00001")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            service.web.url + "/telegram/webhook",
            json=telegram.message(STRANGER_CHAT, "/ack BTN-2026-00001", language_code="en"),
            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
        )
    assert response.status_code == 200
    await service.delivery.run()  # whatever of the answer waits in the outbox
    assert "Not allowed" in telegram.texts(STRANGER_CHAT)[-1]

    events = await timeline(app, "BTN-2026-00001")
    refused = [e for e in events if e.kind is EventKind.REFUSED]
    on_whatsapp = await conversation_id(app, Channel.WHATSAPP, STRANGER_NUMBER)
    on_telegram = await conversation_id(app, Channel.TELEGRAM, str(STRANGER_CHAT))
    assert [e.actor for e in refused] == [
        f"not a member (conversation #{on_whatsapp})",
        f"not a member (conversation #{on_whatsapp})",
        f"not a member (conversation #{on_telegram})",
    ]
    assert [e.channel for e in refused] == [Channel.WHATSAPP, Channel.WHATSAPP, Channel.TELEGRAM]
    recorded = repr([(e.actor, e.detail) for e in events])
    shown = await show_report(app, reference="BTN-2026-00001") or ""
    for trace in ("85711112222", "857-1111-2222", str(STRANGER_CHAT)):
        assert trace not in recorded and trace not in shown
    assert EventKind.ACKNOWLEDGED not in [e.kind for e in events]
    await resident.http.aclose()
    await stranger.http.aclose()
