"""Keeps the gettext catalogs in step with the code: `python scripts/catalogs.py` extracts every
marked text from handlers/ into sigap.pot and adds the new ones to each language's .po file
(translate them there; the catalog test fails until every one is translated)."""

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


def extracted() -> Iterator[tuple[str, str, int]]:
    """(message, file, line) for every text marked in handlers/."""
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT / "handlers",
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
    ):
        if isinstance(message, str):
            yield message, filename, lineno


def template() -> Catalog:
    pot = Catalog(domain=DOMAIN, project="Sigap")
    for message, filename, lineno in extracted():
        pot.add(message, locations=[(f"handlers/{filename}", lineno)])
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
