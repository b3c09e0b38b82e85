"""The library of ready awareness messages (handlers/library/*.toml), in both languages."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LIBRARY_DIR = Path(__file__).parent / "library"


@dataclass(frozen=True)
class LibraryMessage:
    id: str
    titles: dict[str, str]
    texts: dict[str, str]

    def title(self, language: str) -> str:
        return self.titles.get(language) or next(iter(self.titles.values()))


@cache
def messages() -> tuple[LibraryMessage, ...]:
    found = []
    for path in sorted(LIBRARY_DIR.glob("*.toml")):
        with path.open("rb") as f:
            for entry in tomllib.load(f).get("message", []):
                found.append(
                    LibraryMessage(
                        id=entry["id"],
                        titles={
                            k.removeprefix("title_"): v
                            for k, v in entry.items()
                            if k.startswith("title_")
                        },
                        texts={
                            k.removeprefix("text_"): v.strip()
                            for k, v in entry.items()
                            if k.startswith("text_")
                        },
                    )
                )
    return tuple(found)


def get(message_id: str) -> LibraryMessage | None:
    return next((m for m in messages() if m.id == message_id), None)
