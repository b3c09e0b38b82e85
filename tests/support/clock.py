"""The clock the tests move by hand, and the sleep they skip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """A clock the test moves by hand: Saturday 28 Nov 2026, 10:00 in Jakarta at first."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def no_wait(_seconds: float) -> None:
    """Stands in for asyncio.sleep where a test does not wait (a rate limit, a retry)."""
