"""The roster page in a real browser (Playwright driving /usr/bin/chromium) against `sigap run`:
a coordinator logs in by the bot's link, changes Monday's shift on /dasbor/piket, takes Andi off
duty for the afternoon, and `sigap roster show` (another process) shows each change. Screenshots
under the test's tmp dir."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.fakes.telegram import FakeTelegram
from tests.journeys.conftest import Start
from tests.journeys.harness import CITRA, TelegramUser, task_force
from tests.journeys.test_dashboard_journeys import chromium, dashboard_link, logged_in


async def test_a_coordinator_edits_the_roster_in_the_browser(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    citra = TelegramUser(telegram, CITRA)
    screens = tmp_path / "screenshots"
    before = await sigap.cli("roster", "show")
    assert "mon 00:00-00:00  Andi" in before

    link = await dashboard_link(citra)
    async with chromium() as browser:
        page = await logged_in(browser, link)
        await page.click("header >> text=Roster")
        await page.wait_for_url("**/dasbor/piket")
        assert "Andi" in await page.inner_text("#now")
        await page.screenshot(path=str(screens / "roster.png"), full_page=True)

        monday = page.locator('form[data-shift="0"]')
        await monday.locator("input[name=end]").fill("12:00")
        await monday.locator("input[name=members]").fill("Budi, Citra")
        await monday.locator("button[name=save]").click()
        await page.locator('td[data-cell="mon-00:00"]', has_text="Budi, Citra").wait_for()
        await page.screenshot(path=str(screens / "roster-edited.png"), full_page=True)
        after = await sigap.cli("roster", "show")
        assert "mon 00:00-12:00  Budi, Citra" in after, after
        assert "tue 00:00-00:00  Andi" in after

        until = datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(hours=5)
        form = page.locator("#add-override")
        await form.locator("select[name=member]").select_option(label="Andi")
        await form.locator("select[name=state]").select_option("off")
        await form.locator("input[name=ends]").fill(until.strftime("%Y-%m-%dT%H:%M"))
        await form.locator("button").click()
        await page.locator("#overrides", has_text="off duty").wait_for()
        assert "Andi" not in (await page.inner_text("#now")).split("Next:")[0]
        await page.screenshot(path=str(screens / "roster-override.png"), full_page=True)
        off = await sigap.cli("roster", "show")
        assert "override: Andi off duty" in off, off
        assert "Andi" not in off.split("on duty:")[1].split("\n")[0]

        await page.locator("#overrides button", has_text="End now").click()
        await page.locator("#overrides").wait_for(state="detached")
    ended = await sigap.cli("roster", "show")
    assert "override:" not in ended, ended
    assert (screens / "roster-edited.png").exists()
