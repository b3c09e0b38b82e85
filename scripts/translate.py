"""Sets translations from a JSON file: {"language": {"msgid": "msgstr"}}:
`python scripts/translate.py new.json` (handy for a batch of new texts)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALE = Path(__file__).resolve().parent.parent / "handlers" / "locale"


def main(source: str) -> None:
    for language, strings in json.loads(Path(source).read_text(encoding="utf-8")).items():
        path = LOCALE / language / "LC_MESSAGES" / "sigap.po"
        with path.open("rb") as f:
            catalog = read_po(f, locale=language)
        for msgid, msgstr in strings.items():
            message = catalog.get(msgid)
            if message is None:
                sys.exit(f"{language}: no msgid {msgid!r} (run scripts/catalogs.py first)")
            message.string = msgstr
            message.flags.discard("fuzzy")
        with path.open("wb") as f:
            write_po(f, catalog, width=100, omit_header=True, ignore_obsolete=True)


if __name__ == "__main__":
    main(sys.argv[1])
