"""What `sigap run` logs, and what it never does: no phone number, no reporter's chat id, no
story, no token and no auth header in a log line. Sigap's own lines name a report by its
reference and a chat by `tag`; the libraries that log requests (httpx: the Bot API's URLs hold
the bot's token; twilio: its requests) are kept to warnings; and every line, tracebacks too,
passes `redact` on its way out, in case a library's error message quotes what it was given."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from typing import TextIO

# A key of this process: a tag links the lines of one run about one chat, and a copy of the
# log cannot be matched against a list of numbers or chat ids.
_KEY = secrets.token_bytes(16)

# Libraries that log what they send at INFO (URLs with the bot's token, recipients, bodies),
# or every request: warnings and errors only.
QUIET = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "twilio": logging.WARNING,
    "telegram": logging.INFO,  # at DEBUG it logs every Bot API call with its parameters
    "uvicorn.access": logging.WARNING,
    "aiohttp": logging.WARNING,
    # A job still running when its next second comes is skipped on purpose (it loops until
    # nothing is due); APScheduler would warn about it every time.
    "apscheduler": logging.ERROR,
}

PATTERNS = [
    # A Telegram bot token, wherever it appears (a Bot API URL: /bot<token>/method).
    (re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}"), "[token]"),
    # Authorization headers, whatever follows them.
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*)[^\r\n,}]+"), r"\1[redacted]"),
    # Phone numbers: international (+62..., whatsapp:+62...) and Indonesian (08...).
    (re.compile(r"(?<![\w+])\+\d{7,15}(?!\d)"), "[phone]"),
    (re.compile(r"(?<![\w+])0?8\d{8,12}(?!\d)"), "[phone]"),
]


def tag(value: object) -> str:
    """A short keyed hash of an address (a chat id, a number), to tell chats apart in the
    log without naming them."""
    digest = hmac.new(_KEY, str(value).encode(), hashlib.sha256).hexdigest()
    return f"chat#{digest[:10]}"


class Redacting(logging.Formatter):
    """The usual format, then `redact` over the whole line (a traceback included)."""

    def __init__(self, fmt: str, known: Iterable[str]) -> None:
        super().__init__(fmt)
        # Longest first: a secret that contains another is removed whole.
        self.known = sorted({k for k in known if len(k) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.known)


def redact(line: str, known: Iterable[str] = ()) -> str:
    for secret in known:
        line = line.replace(secret, "[secret]")
    for pattern, replacement in PATTERNS:
        line = pattern.sub(replacement, line)
    return line


def setup(*, verbose: bool, secrets_in_config: Iterable[str], stream: TextIO | None = None) -> None:
    """The log of `sigap run` on standard error (or `stream`): Sigap's own lines (and
    debugging details with `verbose`), the libraries' warnings; the configured secrets never
    in it."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        Redacting("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets_in_config)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)
