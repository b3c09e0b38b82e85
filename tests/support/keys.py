"""The data key of the tests: in SIGAP_DATA_KEY for every `sigap` they start and every config
they load, and installed in the test process with a fixed index key (storage/sealing.py)."""

from __future__ import annotations

import base64
import os

from bot.config import PrivacySettings
from storage import sealing
from storage.sealing import DataKey, Keyring

TEST_KEY = "ktest:" + "dGVzdHMtb25seS1kYXRhLWtleS1mb3ItU2lnYXAtISE"
INDEX_KEY = bytes(range(64))


def install() -> None:
    os.environ["SIGAP_DATA_KEY"] = TEST_KEY
    sealing.install(Keyring(DataKey.parse(TEST_KEY), index=INDEX_KEY))


KEYED = PrivacySettings(data_key=TEST_KEY)


def seals() -> list[tuple[str, str]]:
    """The `sealing` rows of a test database (storage/resealing.py): the index key sealed with
    the tests' key, and everything sealed with it."""
    keys = Keyring(DataKey.parse(TEST_KEY), index=INDEX_KEY)
    return [("index", keys.seal(base64.b64encode(INDEX_KEY).decode())), ("sealed_under", "ktest")]
