"""Writes twilio_messages_v2010.json beside this file: the part of Twilio's published OpenAPI
description of its REST API v2010 that the fake Twilio server checks against, so that the
tests need nothing outside the repository.

The source is `twilio_api_v2010.json` from the public repository twilio/twilio-oai
(https://github.com/twilio/twilio-oai, spec/json/twilio_api_v2010.json), snapshot of
2026-04-14, published under the Apache License 2.0 (its `info.license`). What is kept, unchanged:
the `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` operation (sending a message), the
schemas it references (directly or through other schemas), the security scheme, and the
document's header with its license. Everything else (the other 200-odd paths) is left out.

Run it again on a newer snapshot to follow Twilio's contract:
    python tests/fakes/extract_twilio_contract.py path/to/twilio_api_v2010.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
SOURCE = "twilio/twilio-oai spec/json/twilio_api_v2010.json, snapshot of 2026-04-14"
TARGET = Path(__file__).with_name("twilio_messages_v2010.json")


def references(node: Any) -> set[str]:
    """The names of the schemas `node` refers to with "#/components/schemas/NAME"."""
    if isinstance(node, dict):
        found = set().union(*(references(value) for value in node.values()))
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.removeprefix("#/components/schemas/"))
        return found
    if isinstance(node, list):
        return set().union(*(references(value) for value in node))
    return set()


def extract(document: dict[str, Any]) -> dict[str, Any]:
    operation = document["paths"][MESSAGES_PATH]["post"]
    schemas = document["components"]["schemas"]
    wanted: set[str] = set()
    todo = references(operation)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo |= references(schemas[name])
    return {
        "openapi": document["openapi"],
        "info": {**document["info"], "x-sigap-extract": f"{SOURCE}: {MESSAGES_PATH} POST only"},
        "servers": document["servers"],
        "paths": {MESSAGES_PATH: {"post": operation}},
        "components": {
            "schemas": {name: schemas[name] for name in sorted(wanted)},
            "securitySchemes": document["components"]["securitySchemes"],
        },
        "security": document["security"],
    }


def main(source: str) -> None:
    document = json.loads(Path(source).read_text(encoding="utf-8"))
    text = json.dumps(extract(document), indent=1, ensure_ascii=False) + "\n"
    TARGET.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
