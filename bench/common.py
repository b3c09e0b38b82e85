"""What the benchmarks share: posting requests with a fixed concurrency to Sigap or to a bare
baseline endpoint, and the figures."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Column, Integer, MetaData, String, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.routing import Route

from bot.app import build
from bot.config import PrivacySettings, Settings
from bot.service import Service
from bot.web import WebServer
from storage.db import Database
from storage.sealing import DataKey
from storage.settings import async_url

logging.getLogger("apscheduler").setLevel(logging.ERROR)  # skipped overlapping runs are fine

Post = tuple[Hashable, dict[str, Any]]  # (whose reply to wait for, keyword arguments)
Replies = Callable[[], list[tuple[Hashable, float]]]  # (whose, when) of each reply so far
Timed = tuple[float, list[float]]  # the wall time until every reply, and each one's latency

# One data key for the bench and the processes it starts (they inherit the environment).
KEYED = PrivacySettings(data_key=os.environ.setdefault("SIGAP_DATA_KEY", str(DataKey.new())))


@dataclass(frozen=True)
class Load:
    """How requests come: `concurrency` clients each sending its next request when the last
    one is answered (as many as the service takes), or, with `rate`, that many a second
    whatever the answers (as people write: the latency a resident sees below capacity)."""

    concurrency: int = 50
    rate: float | None = None

    def __str__(self) -> str:
        if self.rate:
            return f"{self.rate:g} a second"
        return f"{self.concurrency} at a time"


async def drive(url: str, requests: list[Post], load: Load) -> tuple[float, dict[Hashable, float]]:
    """Posts the requests (httpx keyword arguments) as `load` says; returns the wall time and
    when each key's request was sent."""
    started: dict[Hashable, float] = {}
    queue = list(reversed(requests))
    limits = httpx.Limits(max_connections=None if load.rate else load.concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def post(key: Hashable, arguments: dict[str, Any]) -> None:
            started[key] = time.monotonic()
            response = await client.post(url, timeout=60, **arguments)
            response.raise_for_status()

        async def worker() -> None:
            while queue:
                await post(*queue.pop())

        begin = time.monotonic()
        if load.rate:
            posting = []
            for number, request in enumerate(reversed(queue)):
                await asyncio.sleep(max(0.0, begin + number / load.rate - time.monotonic()))
                posting.append(asyncio.create_task(post(*request)))
            await asyncio.gather(*posting)
        else:
            await asyncio.gather(*(worker() for _ in range(load.concurrency)))
        return time.monotonic() - begin, started


async def answered(
    started: dict[Hashable, float],
    replies: Callable[[], list[tuple[Hashable, float]]],
    within: float = 120,
) -> float:
    """Waits until every request has its first reply at the fake server (answers may go out
    after the request was answered: Sigap's go through its outbox); returns the wall time
    from the first request to the last of those replies."""
    deadline = time.monotonic() + within
    while True:
        first: dict[Hashable, float] = {}
        for key, at in replies():
            first.setdefault(key, at)
        if started.keys() <= first.keys() or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    last = max((first[k] for k in started if k in first), default=time.monotonic())
    return last - min(started.values())


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
        "mean_ms": statistics.fmean(ordered) * 1000,
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
    }
    print(
        f"{name:<8} {figures['per_second']:8.0f} requests/s   mean {figures['mean_ms']:6.1f} ms"
        f"   median {figures['median_ms']:6.1f} ms   p99 {figures['p99_ms']:6.1f} ms   "
        f"unanswered {count - len(times)}"
    )
    return figures


def ratios(results: dict[str, dict[str, float]]) -> None:
    bare, sigap = results["bare"], results["sigap"]
    print(
        f"ratio sigap/bare: throughput {sigap['per_second'] / bare['per_second']:.2f}, "
        f"mean latency {sigap['mean_ms'] / bare['mean_ms']:.2f}, "
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


async def serve_sigap(
    settings: Settings, path: str, posts: list[Post], load: Load, replies: Replies
) -> Timed:
    """Sigap as `sigap run` serves it, the posts driven at `path` as `load` says."""
    app = await build(settings)
    service = Service(app)
    await service.start()
    try:
        _posting, started = await drive(service.web.url + path, posts, load)
        wall = await answered(started, replies)
    finally:
        await service.stop()
        await app.close()
    return wall, latencies(started, replies())


async def serve_bare(route: Route, posts: list[Post], load: Load, replies: Replies) -> Timed:
    """The baseline: one bare Starlette route, the posts driven at it as `load` says."""
    server = WebServer(Starlette(routes=[route]), "127.0.0.1", 0)
    await server.start()
    try:
        _posting, started = await drive(server.url + route.path, posts, load)
        wall = await answered(started, replies)
    finally:
        await server.stop()
    return wall, latencies(started, replies())


@contextlib.asynccontextmanager
async def bare_table(url: str, column: str) -> AsyncIterator[tuple[AsyncEngine, Table]]:
    """A table (id, `column`) for the baseline's one INSERT a request, dropped afterwards."""
    engine = create_async_engine(async_url(url))
    metadata = MetaData()
    table = Table(
        "bench_bare", metadata, Column("id", Integer, primary_key=True), Column(column, String(32))
    )
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    try:
        yield engine, table
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
        await engine.dispose()


def load_arguments(doc: str, count: str, default: int) -> argparse.Namespace:
    """The command line of a webhook benchmark: how many requests (`--COUNT`), the load and
    the database."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(f"--{count}", type=int, default=default)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--rate", type=float, default=None, help="requests a second instead (an open loop)"
    )
    parser.add_argument("--database-url", default="")
    return parser.parse_args()
