"""A coordinator's dashboard in a real browser (Playwright driving Debian's Chromium) against
`sigap run`: residents subscribe on Telegram, the coordinator logs in by the bot's link,
composes a broadcast with an image, reads the preview with the number of recipients, sends it,
and watches its progress reach 100% without reloading while the residents receive it; then
downloads the yearly evaluation as a PDF. Screenshots under the test's tmp dir."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from tests.fakes.telegram import FakeTelegram
from tests.journeys.conftest import Start
from tests.journeys.harness import TelegramUser
from tests.journeys.test_dashboard_journeys import chromium, dashboard_link, logged_in, shot
from tests.support.images import png

CITRA, SITI, ANI = 9003, 5101, 5102
MESSAGE = "Paspor adalah milik Anda: jangan serahkan kepada agen atau calo mana pun."


async def test_a_coordinator_broadcasts_and_downloads_the_evaluation_in_the_browser(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await sigap.cli(
        "members", "add", "--name", "Citra", "--role", "coordinator", "--telegram-id", str(CITRA)
    )
    siti, ani = TelegramUser(telegram, SITI), TelegramUser(telegram, ANI)
    for resident in (siti, ani):
        await resident.answer("/langganan", "For which area do you want them?")
        await resident.press("All areas")
        await resident.sees("In which language")
        await resident.press("English")
        await resident.sees("You are subscribed")
    citra = TelegramUser(telegram, CITRA)
    link = await dashboard_link(citra)
    screens = tmp_path / "screenshots"
    async with chromium() as browser:
        page = await logged_in(browser, link)
        await page.click("header >> text=Broadcasts")
        await page.wait_for_url("**/dasbor/siaran")
        await page.fill("textarea[name=text]", MESSAGE)
        await page.select_option("select[name=language]", "en")
        poster = {"name": "poster.png", "mimeType": "image/png", "buffer": png(320, 180)}
        await page.set_input_files("input[name=image_file]", files=[poster])
        await shot(page, screens, "broadcast-compose")
        await page.click("#preview")
        await page.locator("#reach", has_text="2 subscriber(s), now").wait_for()
        assert MESSAGE in await page.inner_text("main")
        loaded = await page.wait_for_function(
            "() => { const i = document.querySelector('#preview-image');"
            " return i.complete && i.naturalWidth; }"
        )
        assert await loaded.json_value() == 320  # loaded from this session's address
        await shot(page, screens, "broadcast-preview")
        await page.click("#send")
        await page.wait_for_url(re.compile(r".*/dasbor/siaran/\d+$"))
        address = page.url
        await page.locator("#percent", has_text="100%").wait_for(timeout=30_000)
        assert "2 sent" in await page.inner_text("#sent")
        assert page.url == address  # never reloaded
        await shot(page, screens, "broadcast-progress")
        for resident in (siti, ani):  # the image, with the message as its caption
            [photo] = await telegram.wait_for("sendPhoto", chat_id=resident.chat)
            assert photo.params["caption"] == MESSAGE

        await page.click("header >> text=Statistics")
        await page.wait_for_url("**/dasbor/statistik")
        await shot(page, screens, "statistics")
        async with page.expect_download() as waiting:
            await page.click("#evaluation")
        download = await waiting.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        assert re.fullmatch(r"evaluasi-\d{4}\.pdf", download.suggested_filename)
        assert (await asyncio.to_thread(saved.read_bytes)).startswith(b"%PDF")
    # Closed by the broadcasts job's next run, which tells Citra; then listed as done.
    await citra.sees("is done in")
    listing = await sigap.cli("broadcast", "list")
    assert "done" in listing
    shots = await asyncio.to_thread(os.listdir, screens)
    assert {"broadcast-preview.png", "broadcast-progress.png", "statistics.png"} <= set(shots)
