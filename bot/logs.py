"""What `sigap run` logs, and what it never does: no phone number, no reporter's chat id, no
story, no token and no auth header in a log line. Sigap's own lines name a report by its
reference and a chat by `tag`; the libraries that log requests (httpx: the Bot API's URLs hold
the bot's token; twilio: its requests) are kept to warnings; and every line, tracebacks too,
passes `redact` on its way out, in case a library's error message quotes what it was given."""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal, TextIO

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


# The web request being handled (bot/web.py sets it) and the report a line is about (a
# `report` given in `extra`, or set for a piece of work): on each line that has them.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request", default=None)
report_reference: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "report", default=None
)


class Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request = getattr(record, "request", None) or request_id.get()
        record.report = getattr(record, "report", None) or report_reference.get()
        return True


def utc(record: logging.LogRecord) -> str:
    """The moment of a line in UTC with its offset written out (2026-11-29T08:00:03.123+00:00):
    a log read in another zone, or merged with another's, cannot be misread."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class Redacting(logging.Formatter):
    """A line of text, then `redact` over the whole of it (a traceback included)."""

    def __init__(self, known: Iterable[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s")
        # Longest first: a secret that contains another is removed whole.
        self.known = sorted({k for k in known if len(k) >= 8}, key=len, reverse=True)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc(record)

    def format(self, record: logging.LogRecord) -> str:
        given = [
            f"{k}={getattr(record, k)}" for k in ("report", "request") if getattr(record, k, None)
        ]
        record.context = f" [{' '.join(given)}]" if given else ""
        return redact(super().format(record), self.known)


class Json(Redacting):
    """One JSON object a line (`[logging] format = "json"`), for a log collector: time, level,
    logger, message, and the report and request when known; redacted as the text is."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": utc(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("report", "request"):
            if getattr(record, key, None):
                line[key] = str(getattr(record, key))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, ensure_ascii=False), self.known)


def redact(line: str, known: Iterable[str] = ()) -> str:
    for secret in known:
        line = line.replace(secret, "[secret]")
    for pattern, replacement in PATTERNS:
        line = pattern.sub(replacement, line)
    return line


def setup(
    *,
    verbose: bool,
    secrets_in_config: Iterable[str],
    stream: TextIO | None = None,
    form: Literal["text", "json"] = "text",
    level: str = "info",
) -> None:
    """The log of `sigap run` on standard error (or `stream`), as text or JSON lines: Sigap's
    own lines from `level` (debugging details too with `verbose`), the libraries' warnings;
    the configured secrets never in it."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter((Json if form == "json" else Redacting)(secrets_in_config))
    handler.addFilter(Context())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.getLevelNamesMapping()[level.upper()])
    for name, quiet in QUIET.items():
        logging.getLogger(name).setLevel(quiet)
