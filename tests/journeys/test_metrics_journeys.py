"""/metrics scraped as Prometheus would, from the running `sigap run`: refused without the
token; with it, the report a resident made, its alert and acknowledgement times, the messages
handled, the outbox and the channels, each as the exposition format says."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.fakes.telegram import FakeTelegram
from tests.journeys.conftest import Start
from tests.journeys.harness import (
    ANDI,
    RESIDENT,
    TelegramUser,
    free_port,
    report_with_buttons,
    task_force,
)

TOKEN = "scrape-me-0123456789"


def value(text: str, sample: str) -> float:
    """The value of one sample line (`name{labels}`) of the exposition."""
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    assert found, f"no {sample} in:\n{text}"
    return float(found.group(1))


async def test_prometheus_scrapes_what_a_report_did(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap(f'[metrics]\ntoken = "{TOKEN}"\n', with_whatsapp=False)
    await task_force(sigap, tmp_path)
    resident, andi = TelegramUser(telegram, RESIDENT), TelegramUser(telegram, ANDI)
    reference = await report_with_buttons(resident)
    await andi.sees(f"New report {reference}")

    async with httpx.AsyncClient(base_url=sigap.url) as scraper:
        assert (await scraper.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer wrong"}
        assert (await scraper.get("/metrics", headers=wrong)).status_code == 401
        token = {"Authorization": f"Bearer {TOKEN}"}
        before = await scraper.get("/metrics", headers=token)
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("text/plain; version=")
        text = before.text
        priority = re.search(r'sigap_reports_total\{channel="telegram",priority="(\w+)"\}', text)
        assert priority, text
        assert value(text, "sigap_reports_unacknowledged") == 1
        assert value(text, "sigap_report_first_alert_seconds_count") == 1
        assert value(text, 'sigap_report_first_alert_seconds_bucket{le="+Inf"}') == 1
        assert value(text, "sigap_report_acknowledgement_seconds_count") == 0
        handled = value(text, 'sigap_inbound_messages_total{channel="telegram"}')
        assert handled >= 10  # the report's answers and presses
        assert value(text, 'sigap_inbound_handling_seconds_count{channel="telegram"}') == handled
        assert value(text, 'sigap_channel_up{channel="telegram"}') == 1
        assert value(text, 'sigap_channel_errors_total{channel="telegram"}') == 0

        await andi.press("Acknowledge")
        await andi.sees(f"Thank you, Andi: report {reference} is yours")
        after = (await scraper.get("/metrics", headers=token)).text
        assert value(after, "sigap_reports_unacknowledged") == 0
        assert value(after, "sigap_report_acknowledgement_seconds_count") == 1
        assert value(after, 'sigap_inbound_messages_total{channel="telegram"}') > handled


async def test_metrics_on_a_port_of_their_own_need_no_token(start_sigap: Start) -> None:
    port = free_port()
    sigap = await start_sigap(f"[metrics]\nport = {port}\n", with_whatsapp=False)
    async with httpx.AsyncClient() as scraper:
        scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200 and "sigap_reports_unacknowledged 0.0" in scraped.text
        assert (await scraper.get(f"{sigap.url}/metrics")).status_code == 404
