"""Texts in the resident's language, from the gettext catalogs in handlers/locale (Babel)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "sigap"

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a text for the catalogs where it is defined; it is translated where it is shown."""
    return message


@cache
def locale(language: str) -> Locale:
    """Babel's locale of a language, parsed once: a date formatted with the language's name
    parses it again and again (9 times for one alert's date)."""
    return Locale.parse(language)


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


# The deployment's own wording (`[texts.<language>]` in the config): msgid -> text, per
# language; set once when the app is built, and read before the catalogs.
_overrides: dict[str, dict[str, str]] = {}


def set_overrides(overrides: Mapping[str, Mapping[str, str]]) -> None:
    """Replaces the overrides in use (checked first with `override_problems`)."""
    _overrides.clear()
    _overrides.update({language: dict(texts) for language, texts in overrides.items()})


def gettext(language: str) -> Gettext:
    """The `_` of one language: the deployment's override, else the catalog. A text missing
    from the catalog shows as written in the code (English); the catalog test keeps that from
    happening."""
    messages = catalog(language)
    overrides = _overrides.get(language, {})

    def _(message: str) -> str:
        return overrides.get(message) or messages.get(message, message)

    return _


_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def override_problems(overrides: Mapping[str, Mapping[str, str]]) -> list[str]:
    """What is wrong with a deployment's overrides: a language without a catalog, a msgid
    that is not a text of Sigap, a text whose {placeholders} differ from the msgid's."""
    problems = []
    for language, texts in overrides.items():
        if language not in available():
            problems.append(f"texts.{language}: no catalog for language {language!r}")
            continue
        known = catalog(language)
        for msgid, text in texts.items():
            if msgid not in known:
                problems.append(f"texts.{language}: {msgid[:60]!r} is not a text of Sigap")
            elif sorted(_PLACEHOLDER.findall(text)) != sorted(_PLACEHOLDER.findall(msgid)):
                wanted = " ".join(sorted(_PLACEHOLDER.findall(msgid))) or "none"
                problems.append(
                    f"texts.{language}: the text for {msgid[:60]!r} must have the placeholders "
                    f"of the original ({wanted}), not "
                    f"{' '.join(sorted(_PLACEHOLDER.findall(text))) or 'none'}"
                )
    return problems


def available() -> list[str]:
    return sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())
