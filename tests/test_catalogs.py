"""Every text a resident or a member can see is translated in every language: the flows'
(handlers/), the dashboard's pages and Python (bot/dashboard/) and the yearly evaluation's."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from handlers.i18n import available, catalog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from catalogs import extracted

MESSAGES = sorted({message for message, _file, _line in extracted()})


def test_there_are_catalogs_for_indonesian_and_english() -> None:
    assert {"id", "en"} <= set(available())
    assert len(MESSAGES) > 100


def test_the_dashboard_and_the_evaluation_are_extracted_with_the_flows() -> None:
    """The catalog test covers them: a text marked in a template, the dashboard's Python or
    the evaluation is one of MESSAGES (so an untranslated one fails the test below)."""
    where = {message: file for message, file, _line in extracted()}
    assert where["Log in to the dashboard"] == "bot/dashboard/templates/login.html"
    assert where["{count} case(s), page {page} of {pages}"].endswith("cases_table.html")
    assert where["Give a name."] == "bot/dashboard/people.py"
    assert where["Yearly case evaluation {year}"] == "bot/evaluation.py"
    templates = Path(__file__).resolve().parent.parent / "bot" / "dashboard" / "templates"
    marked = {p.name for p in templates.glob("*.html") if '_("' in p.read_text("utf-8")}
    found = {file.rsplit("/", 1)[1] for file in where.values() if "/templates/" in file}
    assert marked and marked <= found


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_message_is_translated(language: str) -> None:
    translations = catalog(language)
    missing = [m for m in MESSAGES if not translations.get(m)]
    assert not missing, (
        f"{len(missing)} message(s) lack a {language} translation; run "
        f"`python scripts/catalogs.py` and translate them:\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("language", ["id", "en"])
def test_translations_keep_their_placeholders(language: str) -> None:
    placeholder = re.compile(r"\{[^}]*\}")
    for message, translation in catalog(language).items():
        assert sorted(placeholder.findall(message)) == sorted(placeholder.findall(translation)), (
            message
        )


def test_indonesian_is_not_english() -> None:
    translations = catalog("id")
    same = [m for m in MESSAGES if translations.get(m) == m and " " in m]
    assert len(same) < 5, same


@pytest.mark.parametrize("language", ["id", "en"])
def test_no_text_says_tap_which_channels_without_buttons_cannot(language: str) -> None:
    """A flow does not know the channel: its texts say what to send, and a question's actions
    are buttons on Telegram and typed words ("Ketik SELESAI jika sudah") elsewhere."""
    translations = catalog(language)
    tap = re.compile(r"\b(tap|ketuk)\b", re.IGNORECASE)
    found = [m for m in MESSAGES if tap.search(m) or tap.search(translations.get(m, ""))]
    assert not found, found
