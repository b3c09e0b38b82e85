"""What residents read, whatever the deployment: the config's labels in their language, the
help with the emergency numbers first, short library messages that end with something the bot
can do, the deployment's reference prefix, and its own wording (`[texts.<language>]`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.app import App, build
from bot.config import Settings
from handlers import library
from handlers.conversation.messages import Inbound, Text
from handlers.conversation.turn import Turn
from handlers.residents.emergency import emergency_text
from storage import conversations, reports
from storage.models import Channel
from tests.support.answers import DETAILS, ENGLISH_REPORT
from tests.support.chat import Chat
from tests.support.cli import run_sigap, terminal_chat
from tests.support.clock import Clock

# What the bot cannot do: it does not answer questions.
ASK_US = re.compile(r"ask us|tanya\w* (kepada |ke )?kami|hubungi kami|contact us", re.I)
HELP_FIRST = {"id": "Jika ada orang dalam bahaya, segera hubungi:", "en": "If someone is in"}


async def test_config_labels_are_shown_in_the_residents_language_and_stored_in_indonesian(
    app: App, chat: Chat
) -> None:
    turns = [*ENGLISH_REPORT, *DETAILS]
    turns[7] = ("2", "Which of these happened?")  # the second destination
    turns[-1] = ("11", "Please check your report")  # the last area
    await chat.dialog(turns[:7])
    assert "Singapore" in chat.screen and "Middle East" in chat.screen
    assert "Singapura" not in chat.screen and " / " not in chat.screen
    await chat.dialog(turns[7:])
    assert "Destination: Singapore" in chat.screen and "Where: Outside Bintan" in chat.screen
    await chat.send("1")
    async with chat.app.db.read() as session:
        (report,) = await reports.listing(session)
    assert (report.destination, report.area) == ("Singapura", "Luar Bintan")


@pytest.mark.parametrize("language", ["id", "en"])
async def test_help_shows_the_emergency_numbers_first_and_the_rest_after_info(
    chat: Chat, language: str
) -> None:
    await chat.send(f"bahasa {language}")
    await chat.send("bantuan")
    first = chat.replies[0]
    assert isinstance(first, Text)
    assert first.text.startswith(HELP_FIRST[language])
    assert "110" in first.text and "0800-1000" in first.text and "08111-129-129" in first.text
    assert len(first.text) < 400, len(first.text)
    assert "INFO" in first.text and not ASK_US.search(first.text)
    assert "BP2MI" not in first.text and " / " not in first.text

    await chat.send("info")
    more = chat.replies[0]
    assert isinstance(more, Text)
    assert "Disnaker" in more.text and "BP3MI (KP2MI)" in more.text and "BATAL" in more.text
    assert not ASK_US.search(more.text)


@pytest.mark.parametrize("message", library.messages(), ids=lambda m: m.id)
def test_each_library_message_is_short_and_ends_with_a_word_the_bot_acts_on(
    message: library.LibraryMessage,
) -> None:
    for language, ending in (("id", "Ketik LAPOR"), ("en", "Type REPORT")):
        text = message.texts[language]
        assert len(text) < 500, (language, len(text))
        assert not ASK_US.search(text), language
        assert ending in text.splitlines()[-1], language
        assert "BP2MI" not in text, language


async def test_someone_abroad_is_shown_the_numbers_callable_from_abroad(app: App) -> None:
    services = app.services
    now = services.clock()
    async with services.db.write() as session:
        conv = await conversations.load(session, Channel.CONSOLE, "tki", language="en", now=now)
        turn = Turn(services, session, now, conv, Inbound(Channel.CONSOLE, "tki", text="help"))
        abroad, home = emergency_text(turn, abroad=True), emergency_text(turn)
    assert abroad.startswith("If someone is in danger, call now. From abroad:")
    assert "KP2MI call centre (migrant workers): +62 21 2924 4800" in abroad
    assert "110" not in abroad and "KBRI" in abroad
    assert "• Police: 110" in home and "+62 21" not in home


async def test_the_example_reference_uses_the_configured_prefix(
    settings: Settings, clock: Clock
) -> None:
    bot = settings.bot.model_copy(update={"reference_prefix": "TPI"})
    app = await build(settings.model_copy(update={"bot": bot}), clock=clock)
    try:
        chat = Chat(app)
        await chat.send("bahasa en")
        screen = await chat.send("add TPI-2026-00009")
        assert "(it looks like TPI-2026-00042)" in screen and "BTN" not in screen
    finally:
        await app.close()


# The deployment's own wording, checked at start.


def test_a_text_of_the_config_replaces_the_catalogs_in_the_terminal_chat(
    tmp_path: Path, database_url: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[texts.id]\n"What would you like to do?" = "Silakan pilih:"\n', encoding="utf-8"
    )
    chat = terminal_chat(
        [("halo", "Silakan pilih:")], tmp_path, database_url, "--config", str(config)
    )
    assert "Apa yang ingin Anda lakukan?" not in chat


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[texts.id]\n"Hello there" = "Halo"\n',
            "texts.id: 'Hello there' is not a text of Sigap",
        ),
        (
            '[texts.en]\n"Area: {area}" = "Kecamatan: {kecamatan}"\n',
            "texts.en: the text for 'Area: {area}' must have the placeholders of the original "
            "({area}), not {kecamatan}",
        ),
        ('[texts.fr]\n"Area: {area}" = "Zone : {area}"\n', "no catalog for language 'fr'"),
    ],
)
def test_a_wrong_text_in_the_config_stops_the_start_with_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    env = {**os.environ, "SIGAP_STORAGE_URL": f"sqlite:///{tmp_path / 'sigap.db'}"}
    for command in (["chat"], ["run"]):
        done = run_sigap([*command, "--config", str(config)], tmp_path, env)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("Error") and message in last, done.stderr
