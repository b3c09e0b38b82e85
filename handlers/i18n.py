"""Texts in the resident's language, from the gettext catalogs in handlers/locale (Babel)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "sigap"

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a text for the catalogs where it is defined; it is translated where it is shown."""
    return message


@cache
def catalog(language: str) -> dict[str, str]:
    """msgid -> msgstr of one language; read once per process."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        po = read_po(f, locale=language)
    return {
        str(m.id): str(m.string)
        for m in po
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def gettext(language: str) -> Gettext:
    """The `_` of one language. A text missing from the catalog shows as written in the code
    (English); the catalog test keeps that from happening."""
    messages = catalog(language)

    def _(message: str) -> str:
        return messages.get(message, message)

    return _


def available() -> list[str]:
    return sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())
