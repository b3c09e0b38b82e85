"""What sealing at rest (storage/sealing.py) costs, in the process, beside the same work
without it measured in the same run:

- an inbound message: the chat's draft (about 2 KB of JSON) opened and sealed again, the
  chat's address matched for its three lookups, one reply's text and address sealed for the
  outbox; against the JSON alone;
- the dashboard's text search: 10,000 stories of about 600 characters opened and searched,
  against searching them in clear;
- an evidence file of 5 MB sealed and opened, against copying it.

    python3 dev.py bench sealing [--rounds 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

from storage.sealing import DataKey, Keyring

DRAFT = {
    "story": "Saya ditawari kerja di restoran di Johor oleh agen di Tanjung Uban. " * 20,
    "recruiter": "Pak Andi, 0812-1111-2222, PT Maju Jaya",
    "flags": ["fee_upfront", "passport_held"],
    "_history": ["urgency", "who", "child", "offer", "destination", "flags", "recruiter"],
}
REPLY = "Terima kasih. Laporan Anda BTN-2026-00042 sudah kami terima. " * 8
CHAT = "5123456789"


def timed(work: Callable[[], object], rounds: int) -> float:
    """The median of 5 runs of `rounds` calls, in microseconds a call."""
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            work()
        runs.append((time.perf_counter() - start) / rounds * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20000)
    rounds = parser.parse_args().rounds
    keys = Keyring(DataKey.new(), index=os.urandom(64))
    stored = keys.seal(json.dumps(DRAFT))

    def message_sealed() -> None:
        draft = json.loads(keys.open(stored))
        keys.seal(json.dumps(draft))
        for _ in range(3):
            keys.match(CHAT)
        keys.seal(REPLY)
        keys.match(CHAT)

    plain = json.dumps(DRAFT)

    def message_plain() -> None:
        json.dumps(json.loads(plain))

    sealed_us, plain_us = timed(message_sealed, rounds), timed(message_plain, rounds)
    print(f"inbound message: {sealed_us:.1f} us sealed, {plain_us:.1f} us JSON alone")
    print(f"  sealing adds {sealed_us - plain_us:.1f} us a message")

    stories = [
        f"Report {i}: ditawari kerja di kapal ikan Taiwan, agen minta uang Rp {i} juta. " * 8
        for i in range(10_000)
    ]
    sealed_stories = [keys.seal(s) for s in stories]

    def search_sealed() -> int:
        return sum("taiwan" in keys.open(s).casefold() for s in sealed_stories)

    def search_plain() -> int:
        return sum("taiwan" in s.casefold() for s in stories)

    sealed_ms, plain_ms = timed(search_sealed, 1) / 1000, timed(search_plain, 1) / 1000
    print(f"text search of 10,000 stories: {sealed_ms:.1f} ms sealed, {plain_ms:.1f} ms in clear")

    evidence = os.urandom(5 * 1024 * 1024)

    def file_sealed() -> None:
        keys.open_bytes(keys.seal_bytes(evidence))

    def file_plain() -> None:
        bytes(bytearray(evidence))

    file_ms, copy_ms = timed(file_sealed, 3) / 1000, timed(file_plain, 3) / 1000
    print(f"5 MB evidence file sealed and opened: {file_ms:.1f} ms (copying it: {copy_ms:.1f} ms)")


if __name__ == "__main__":
    main()
