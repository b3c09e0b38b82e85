"""What every channel shares: a token bucket and a sliding window for rate limits, per-chat
locks that keep one chat's messages in order, the channel's health, what each channel can do,
and the one error a failed send raises."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from handlers.conversation.messages import Capability
from storage.models import Channel

log = logging.getLogger(__name__)

# What each channel can do that changes what the flows write (handlers/ cannot import bot/,
# so Services carries this down). Each channel class points at its line (`capabilities`);
# the lines are here because the commands that never load the channels (slow to import)
# still write outbox rows for them.
CAPABILITIES: dict[Channel, frozenset[Capability]] = {
    Channel.TELEGRAM: frozenset({Capability.EDIT, Capability.NOTIFY}),
    Channel.WHATSAPP: frozenset({Capability.NOTIFY}),
    Channel.CONSOLE: frozenset({Capability.PATHS}),
}


class Bucket:
    """A token bucket that hands out reservations: each caller learns how long to wait for its
    turn, in arrival order, without polling."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def reserve(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    @property
    def idle(self) -> bool:
        return self.tokens + (time.monotonic() - self.stamp) * self.rate >= self.burst


class Window:
    """At most `limit` sends in any `seconds`, handed out as reservations like Bucket's: the
    first `limit` go at once, each later one `seconds` after the one `limit` places before
    it. A burst of alerts to every member on duty goes out together, not spaced as a token
    bucket spaces them after its burst, and no second ever carries more than `limit`."""

    def __init__(
        self, limit: int, seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self.times: deque[float] = deque(maxlen=limit)  # the last `limit` reserved moments

    def reserve(self) -> float:
        now = self.clock()
        at = now
        if self.times:
            at = max(at, self.times[-1])  # in arrival order
        if len(self.times) == self.limit:
            at = max(at, self.times[0] + self.seconds)
        self.times.append(at)
        return at - now

    @property
    def idle(self) -> bool:
        return not self.times or self.times[-1] + self.seconds <= self.clock()


class ChatLocks:
    """One lock per chat, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users == 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)


def split(text: str, limit: int) -> list[str]:
    """Text in pieces of at most `limit` characters, cut at paragraph, line or word ends
    where possible."""
    pieces = []
    while len(text) > limit:
        cut = max(text.rfind(sep, 0, limit) for sep in ("\n\n", "\n", " "))
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text] if text else pieces


class Health:
    """Whether a channel works, as its last requests tell: when one last succeeded, and since
    when they have been failing (a failure is logged once, not at every retry)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last_ok: datetime | None = None
        self.failing_since: datetime | None = None
        self.error: str | None = None
        self.errors = 0  # failed requests since the process started (/metrics)

    def ok(self) -> None:
        if self.failing_since is not None:
            log.warning("%s works again", self.name)
        self.last_ok = datetime.now(UTC)
        self.failing_since = None
        self.error = None

    def failed(self, error: str) -> None:
        self.errors += 1
        if self.failing_since is None:
            log.warning("%s failing: %s", self.name, error)
            self.failing_since = datetime.now(UTC)
        self.error = error

    def up(self, down_after: timedelta) -> bool:
        return self.failing_since is None or datetime.now(UTC) - self.failing_since < down_after

    def report(self, down_after: timedelta) -> dict[str, str | None]:
        def when(moment: datetime | None) -> str | None:
            return moment.isoformat(timespec="seconds") if moment else None

        return {
            "state": "up" if self.up(down_after) else "down",
            "last_ok": when(self.last_ok),
            "failing_since": when(self.failing_since),
            "error": self.error,
        }


@dataclass
class Sent:
    """What a delivery put in the chat: the provider's id of the (last) message. A channel
    that keeps track of its chats' messages extends it with what it keeps (Telegram's
    TelegramSent), and records that itself (Sender.record), with the row's result."""

    provider_id: str | None = None


class Gone(StrEnum):
    """Why an address will never receive a message again: the person opted out (STOP, or
    at the provider), or the address cannot be reached (blocked the bot, invalid number)."""

    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"


class DeliveryError(Exception):
    """A message that did not go out, as the channel classifies it; only the delivery job
    decides what that means (bot/outbox.py). `permanent`: retrying cannot help (blocked,
    invalid number, opted out, no template); otherwise it is retried with backoff, not
    before `retry_after` seconds when the provider said so. `gone`: the address will never
    receive again (always permanent). `sent`: what went out before the failure (the first
    messages of an answer)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        permanent: bool,
        gone: Gone | None = None,
        retry_after: float | None = None,
        sent: Sent | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.permanent = permanent or gone is not None
        self.gone = gone
        self.retry_after = retry_after
        self.sent = sent
