"""What the benchmarks share: posting requests with a fixed concurrency, and the figures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import statistics
import time
from collections.abc import AsyncIterator, Hashable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from storage.db import Database

logging.getLogger("apscheduler").setLevel(logging.ERROR)  # skipped overlapping runs are fine

Post = tuple[Hashable, dict[str, Any]]  # (whose reply to wait for, keyword arguments)


async def drive(
    url: str, requests: list[Post], concurrency: int
) -> tuple[float, dict[Hashable, float]]:
    """Posts the requests (httpx keyword arguments) with `concurrency` clients; returns the
    wall time and when each key's request was sent."""
    started: dict[Hashable, float] = {}
    queue = list(reversed(requests))
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            while queue:
                key, arguments = queue.pop()
                started[key] = time.monotonic()
                response = await client.post(url, timeout=60, **arguments)
                response.raise_for_status()

        begin = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.monotonic() - begin, started


def latencies(started: dict[Hashable, float], replies: list[tuple[Hashable, float]]) -> list[float]:
    """Per key, from its request to its first reply at the fake server."""
    first: dict[Hashable, float] = {}
    for key, at in replies:
        first.setdefault(key, at)
    return [first[key] - at for key, at in started.items() if key in first]


def summary(name: str, count: int, wall: float, times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    figures = {
        "per_second": count / wall,
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
    }
    print(
        f"{name:<8} {figures['per_second']:8.0f} requests/s   median "
        f"{figures['median_ms']:6.1f} ms   p99 {figures['p99_ms']:6.1f} ms   "
        f"unanswered {count - len(times)}"
    )
    return figures


def ratios(results: dict[str, dict[str, float]]) -> None:
    bare, sigap = results["bare"], results["sigap"]
    print(
        f"ratio sigap/bare: throughput {sigap['per_second'] / bare['per_second']:.2f}, "
        f"median latency {sigap['median_ms'] / bare['median_ms']:.2f}, "
        f"p99 latency {sigap['p99_ms'] / bare['p99_ms']:.2f}"
    )


@contextlib.asynccontextmanager
async def fresh_database(base: str, folder: Path, name: str) -> AsyncIterator[str]:
    """An empty database for one part: a new SQLite file, or a new PostgreSQL database
    beside `base` (dropped afterwards)."""
    if not base.startswith("postgresql"):
        yield f"sqlite:///{folder / name}.db"
        return
    database = f"sigap_bench_{name}_{os.getpid()}"
    admin = Database(base)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + database
    finally:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.close()
