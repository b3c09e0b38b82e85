"""Keeps the gettext catalogs in step with the code: `python scripts/catalogs.py` extracts every
marked text from handlers/, the dashboard (bot/dashboard: its Python and its Jinja2 templates)
and the yearly evaluation (bot/evaluation.py) into sigap.pot and adds the new ones to each
language's .po file (translate them there; the catalog test fails until every one is
translated)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.i18n import DOMAIN, LOCALE_DIR, available  # noqa: E402

# Every way a flow marks or shows a text. A literal given to say() or t() is caught too.
KEYWORDS = {"N_": None, "_": None, "say": None, "t": None}


# Where texts are marked: a folder, and how each of its files is read (the first pattern that
# matches a file's path in the folder; files no pattern matches are not read). A template
# marks a text with `_("...")`, as the Python does; Jinja2's own extractor reads them (not
# silently: a template it cannot parse stops the extraction).
TEMPLATES = "jinja2.ext:babel_extract"
SOURCES = [
    ("handlers", [("**.py", "python")]),
    (
        "bot",
        [
            ("dashboard/*.py", "python"),
            ("dashboard/templates/*.html", TEMPLATES),
            ("evaluation.py", "python"),
        ],
    ),
]
OPTIONS = {"dashboard/templates/*.html": {"silent": "false"}}


def extracted() -> Iterator[tuple[str, str, int]]:
    """(message, file from the repository's root, line) for every text marked."""
    for folder, method_map in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder,
            method_map=method_map,
            options_map=OPTIONS,
            keywords=KEYWORDS,
        ):
            if isinstance(message, str):
                yield message, f"{folder}/{filename}", lineno


def template() -> Catalog:
    pot = Catalog(domain=DOMAIN, project="Sigap")
    for message, filename, lineno in extracted():
        pot.add(message, locations=[(filename, lineno)])
    return pot


def main() -> None:
    pot = template()
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as f:
        write_po(f, pot, width=100, omit_header=True)
    for language in available():
        path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        with path.open("rb") as f:
            catalog = read_po(f, locale=language)
        catalog.update(pot, no_fuzzy_matching=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=100, omit_header=True, ignore_obsolete=True)
        untranslated = [m.id for m in catalog if m.id and not m.string]
        print(f"{language}: {len(untranslated)} untranslated")


if __name__ == "__main__":
    main()
