"""Encryption at rest of what identifies or endangers a reporter.

Two kinds of sealed values, both authenticated (AES-GCM, AES-SIV from `cryptography`):

- **Sealed** (random nonce): the story, the contact number, the location, additions, relayed
  messages, case notes, outgoing texts, conversation drafts, evidence files. Stored as
  `~s1~<key id>~<base64>`, so each value names the data key that sealed it: a new key seals
  new values while the old keys stay readable until `sigap keys rotate` has resealed the rest.
- **Matched** (deterministic AES-SIV): chat addresses (a chat id, a WhatsApp number) and the
  recruiters' identifiers that link reports. Equal values seal to equal text, so the queries
  that look a chat up (`sender == ?`, joins, unique constraints) work unchanged, and nothing in
  the database shows the number. Their key (the "index key") is random per database, kept in
  the `sealing` table sealed under the data key: rotating the data key reseals it, and the
  matched values stay as they are.

A value read back that carries no prefix is one written before sealing began; it is read as it
is, and the first start after the upgrade seals it (storage/resealing.py).

The keyring is one per process (`install`), set at start from the config: the column types
below find it there, as the database's dialect finds its driver."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from sqlalchemy import Text, TypeDecorator
from sqlalchemy.engine import Dialect

SEALED = "~s1~"
MATCHED = "~m1~"
FILE_MAGIC = b"SIGAP-SEALED-1\n"
NONCE = 12
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
# The rows of the `sealing` table (storage.models.Sealing): the database's index key, sealed
# under the data key, and the id of the data key every value was last sealed under.
INDEX, SEALED_UNDER = "index", "sealed_under"


class KeyProblem(Exception):
    """A data key that is missing, malformed or not the one a value was sealed with: the
    message says which and what to do, in one line."""


@dataclass(frozen=True)
class DataKey:
    """A data key as configured: `<id>:<32 bytes in URL-safe base64>`."""

    id: str
    secret: bytes = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> DataKey:
        key_id, _, encoded = text.strip().partition(":")
        if not KEY_ID.fullmatch(key_id) or not encoded:
            raise KeyProblem("a data key is written <id>:<key>, as `sigap keys new` prints it")
        try:
            secret = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise KeyProblem(f"data key {key_id}: the key is not base64") from None
        if len(secret) != 32:
            raise KeyProblem(f"data key {key_id}: the key must be 32 bytes, not {len(secret)}")
        return cls(key_id, secret)

    @classmethod
    def new(cls) -> DataKey:
        return cls("k" + secrets.token_hex(4), AESGCM.generate_key(bit_length=256))

    def __str__(self) -> str:
        return f"{self.id}:{base64.urlsafe_b64encode(self.secret).decode().rstrip('=')}"


class Keyring:
    """The current data key (seals), the older ones (read only), and the database's index key
    (matched values)."""

    def __init__(self, current: DataKey, old: tuple[DataKey, ...] = (), index: bytes | None = None):
        self.current = current
        self.old = tuple(key for key in old if key.id != current.id)
        self.keys = {key.id: AESGCM(key.secret) for key in (*self.old, current)}
        self.index = index
        self._siv = AESSIV(index) if index is not None else None

    def with_index(self, index: bytes) -> Keyring:
        return Keyring(self.current, self.old, index)

    def seal_index(self, index: bytes) -> str:
        """An index key as the `sealing` table keeps it: sealed under the data key."""
        return self.seal(base64.b64encode(index).decode())

    def open_index(self, stored: str) -> bytes:
        return base64.b64decode(self.open(stored))

    # -- sealed text ------------------------------------------------------------------------

    def seal(self, text: str) -> str:
        return f"{SEALED}{self.current.id}~{_b64(self._encrypt(text.encode()))}"

    def open(self, token: str) -> str:
        key_id, _, body = token.removeprefix(SEALED).partition("~")
        return self._decrypt(key_id, _unb64(body)).decode()

    def key_of(self, token: str) -> str | None:
        """The id of the key a stored value is sealed with; None for a value in clear."""
        if not token.startswith(SEALED):
            return None
        return token[len(SEALED) :].partition("~")[0]

    # -- files ------------------------------------------------------------------------------

    def seal_bytes(self, data: bytes) -> bytes:
        key_id = self.current.id.encode()
        return FILE_MAGIC + bytes([len(key_id)]) + key_id + self._encrypt(data)

    def open_bytes(self, blob: bytes) -> bytes:
        """The file's content: opened when sealed, as it is otherwise (a file from before)."""
        if not blob.startswith(FILE_MAGIC):
            return blob
        key_id, body = file_key(blob)
        return self._decrypt(key_id, body)

    # -- matched values ---------------------------------------------------------------------

    def match(self, text: str) -> str:
        return MATCHED + _b64(self._index().encrypt(text.encode(), None))

    def unmatch(self, token: str) -> str:
        try:
            return self._index().decrypt(_unb64(token.removeprefix(MATCHED)), None).decode()
        except InvalidTag:
            raise KeyProblem(
                "a chat address in the database was sealed with another index key"
            ) from None

    def _index(self) -> AESSIV:
        if self._siv is None:
            raise KeyProblem("the database's index key is not loaded (storage.sealing.unlock)")
        return self._siv

    # -- the primitives ---------------------------------------------------------------------

    def _encrypt(self, data: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self.keys[self.current.id].encrypt(nonce, data, None)

    def _decrypt(self, key_id: str, body: bytes) -> bytes:
        key = self.keys.get(key_id)
        if key is None:
            raise KeyProblem(
                f"a value is sealed with data key {key_id}, which is not configured: "
                "add it to [privacy] old_data_keys until `sigap keys rotate` has finished"
            )
        try:
            return key.decrypt(body[:NONCE], body[NONCE:], None)
        except InvalidTag:
            raise KeyProblem(f"a value sealed with data key {key_id} fails its check") from None


def file_key(blob: bytes) -> tuple[str, bytes]:
    """The key id of a sealed file, and its sealed body."""
    start = len(FILE_MAGIC)
    length = blob[start]
    return blob[start + 1 : start + 1 + length].decode(), blob[start + 1 + length :]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the process's keyring -------------------------------------------------------------------

_keyring: Keyring | None = None


def install(keyring: Keyring | None) -> None:
    global _keyring
    _keyring = keyring


def installed_index() -> bytes | None:
    return None if _keyring is None else _keyring.index


def keyring() -> Keyring:
    if _keyring is None:
        raise KeyProblem(
            "no data key: set SIGAP_DATA_KEY or [privacy] data_key (`sigap keys new` makes one)"
        )
    return _keyring


# -- column types ------------------------------------------------------------------------------


class Sealed(TypeDecorator[str]):
    """Text sealed with the current data key. Never compared in a query: each sealing differs."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value.startswith(SEALED):
            return value
        return keyring().open(value)


class SealedFloat(TypeDecorator[float]):
    """A coordinate, sealed as its text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().seal(repr(float(value)))

    def process_result_value(self, value: str | float | None, dialect: Dialect) -> float | None:
        if value is None:
            return None
        if isinstance(value, str) and value.startswith(SEALED):
            value = keyring().open(value)
        return float(value)


class SealedJSON(TypeDecorator[Any]):
    """A JSON document (a conversation's draft, a template's variables), sealed as its text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else keyring().seal(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None or not isinstance(value, str):
            return value
        if value.startswith(SEALED):
            value = keyring().open(value)
        return json.loads(value)


class Matched(TypeDecorator[str]):
    """A chat address or a linking identifier: sealed deterministically, so that equal values
    can be looked up, joined and kept unique without being readable."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().match(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value.startswith(MATCHED):
            return value
        return keyring().unmatch(value)
