"""The dashboard in a real browser (Playwright driving Debian's Chromium, /usr/bin/chromium)
against `sigap run`: a member gets a login link from the bot with /masuk, logs in, sees a new
report appear in the cases table without reloading, opens it, acknowledges it (the bot's alert
to them is edited), adds a note, closes it and reads it again in Indonesian. Screenshots of
each page are saved under the test's tmp dir (and, with SIGAP_DOCS_SCREENSHOTS=1, the README's
two into docs/)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, async_playwright

from tests.fakes.telegram import FakeTelegram
from tests.journeys.conftest import Start
from tests.journeys.harness import ANDI, RESIDENT, TelegramUser, report_with_buttons, task_force
from tests.journeys.harness import until as wait_until

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"


async def dashboard_link(member: TelegramUser) -> str:
    """The one-time login link the bot answers /masuk with."""
    answer = await member.answer("/masuk", "link to the dashboard")
    found = re.search(r"http://\S+/dasbor/masuk/\S+", answer)
    assert found, answer
    return found.group(0)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium driven by Playwright (never a browser Playwright downloads)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def logged_in(browser: Browser, link: str) -> Page:
    """A page of the dashboard, logged in with the link (the button pressed, as a person
    does), on the cases table."""
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(link)
    await page.click("#login")
    await page.wait_for_url("**/dasbor/kasus")
    return page


async def shot(page: Page, folder: Path, name: str) -> None:
    # Playwright makes the folders.
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    if os.environ.get("SIGAP_DOCS_SCREENSHOTS") and name in ("cases", "case"):
        await page.screenshot(path=str(DOCS / f"dashboard-{name}.png"), full_page=False)


async def test_a_member_logs_in_by_the_bots_link_and_works_a_new_case_in_the_browser(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    andi, resident = TelegramUser(telegram, ANDI), TelegramUser(telegram, RESIDENT)
    screens = tmp_path / "screenshots"

    link = await dashboard_link(andi)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(link)
        await shot(page, screens, "login")
        await page.click("#login")
        await page.wait_for_url("**/dasbor/kasus")
        assert "Andi (member)" in await page.inner_text("header")
        await shot(page, screens, "cases-empty")

        # Meanwhile a resident reports on Telegram; the table shows it by itself.
        reference = await report_with_buttons(resident)
        await andi.sees(f"New report {reference}")
        row = page.locator(f'tr[data-reference="{reference}"]')
        await row.wait_for(timeout=20_000)
        assert "new" in await row.inner_text()
        assert page.url.endswith("/dasbor/kasus")  # never reloaded
        await shot(page, screens, "cases")

        await row.locator("a").click()
        await page.wait_for_url(f"**/dasbor/kasus/{reference}")
        assert "Tanjung Uban" in await page.inner_text("#story")
        await shot(page, screens, "case")

        await page.click("#acknowledge")
        await page.locator("#state", has_text="acknowledged").wait_for()

        def edited() -> bool | None:
            return (
                any(
                    c.params["chat_id"] == ANDI and "Acknowledged by Andi" in c.params["text"]
                    for c in telegram.called("editMessageText")
                )
                or None
            )

        await wait_until("the alert to Andi edited", edited)
        await resident.sees("There is news for you")

        await page.fill("textarea[name=text]", "Called the agency in Tanjung Uban: closed.")
        await page.click("#add-note")
        await page.locator("#notes", has_text="Called the agency").wait_for()
        await shot(page, screens, "case-noted")

        await page.select_option("select[name=outcome]", "scam_or_fraud")
        await page.click("#close")
        await page.locator("#state", has_text="closed").wait_for()
        assert "Scam or fraud" in await page.inner_text("#assignee")
        await shot(page, screens, "case-closed")
        await resident.sees("There is news for you")

        # The task force reads Indonesian: the switch in the header keeps the page.
        await page.click("#languages >> text=Bahasa Indonesia")
        await page.wait_for_url(f"**/dasbor/kasus/{reference}")
        assert await page.get_attribute("html", "lang") == "id"
        assert "ditutup" in await page.inner_text("#state")
        assert "Penipuan" in await page.inner_text("#assignee")
        assert "Keluar" in await page.inner_text("header")
        await shot(page, screens, "case-indonesian")
    # The operator gives a link from the server too; it logs in (once).
    printed = await sigap.cli("dashboard", "link", "--member", "Budi")
    link = re.search(r"http://\S+/dasbor/masuk/\S+", printed)
    assert link and "for Budi" in printed
    async with httpx.AsyncClient() as client:
        assert (await client.post(link.group(0))).status_code == 303
        assert (await client.post(link.group(0))).status_code == 401
    listing = await sigap.cli("reports", "show", reference)
    assert "closed" in listing and "Called the agency" in listing
    saved = await asyncio.to_thread(os.listdir, screens)
    assert {"login.png", "cases.png", "case.png", "case-closed.png"} <= set(saved)
