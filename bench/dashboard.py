"""The dashboard's pages with 10,000 reports in the database, against the same pages on an
empty one (one report, for the case page), measured in the same run: p50 and p99 of the cases
page (first page; filtered by a text search in the stories; a later page sorted by area) and
of a case page, each request through the whole Starlette app (session check, queries,
template), in process. Target: under 200 ms.

    python3 dev.py bench dashboard [--reports 10000] [--repeat 100] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text as sql
from starlette.applications import Starlette

from bench.common import KEYED, fresh_database
from bot.app import App, build
from bot.config import ServerSettings, Settings
from bot.dashboard import COOKIE, Dashboard
from storage import dashboard, members
from storage.models import (
    Affected,
    Channel,
    ChildInvolved,
    OfferKind,
    OfferSource,
    Priority,
    Report,
    ReportState,
    Role,
    Urgency,
)
from storage.settings import StorageSettings

AREAS = ["Bintan Timur", "Toapaya", "Gunung Kijang", "Teluk Bintan", "Seri Kuala Lobam"]
DESTINATIONS = ["Malaysia", "Singapore", "Cambodia", "Batam", "Jakarta"]
STORY = "Ada agen di {area} menawarkan kerja dapur di {dest}, minta bayar {n} juta dulu."


async def fill(app: App, count: int) -> str:
    """`count` reports over the past year; the reference of the newest."""
    rng = random.Random(15)
    now = datetime.now(UTC)
    batch: list[Report] = []
    reference = ""
    async with app.db.write() as session:
        for n in range(count):
            area, dest = rng.choice(AREAS), rng.choice(DESTINATIONS)
            reference = f"BTN-2026-{n + 1:05d}"
            batch.append(
                Report(
                    reference=reference,
                    created_at=now - timedelta(minutes=(count - n) * 50),
                    state=rng.choice(list(ReportState)),
                    priority=rng.choice(list(Priority)),
                    channel=Channel.TELEGRAM,
                    sender=str(100000 + n),
                    language="id",
                    urgency=next(iter(Urgency)),
                    affected=next(iter(Affected)),
                    child_involved=next(iter(ChildInvolved)),
                    offer_kind=next(iter(OfferKind)),
                    destination=dest,
                    offer_source=next(iter(OfferSource)),
                    story=STORY.format(area=area, dest=dest, n=rng.randint(2, 20)),
                    area=area,
                    latitude=1.05 + rng.random() / 10,
                    longitude=104.4 + rng.random() / 10,
                )
            )
            if len(batch) == 1000:
                session.add_all(batch)
                await session.flush()
                batch = []
        session.add_all(batch)
    async with app.db.write() as session:
        await session.exec(sql("ANALYZE"))  # type: ignore[call-overload]
    return reference


async def measure(url: str, reports: int, repeat: int) -> dict[str, list[float]]:
    folder = Path(tempfile.mkdtemp(prefix="sigap-bench-dashboard-"))
    async with fresh_database(url, folder, f"dashboard{reports}") as database:
        return await measure_in(database, folder, reports, repeat)


async def measure_in(
    database: str, folder: Path, reports: int, repeat: int
) -> dict[str, list[float]]:
    settings = Settings(
        privacy=KEYED,
        storage=StorageSettings(url=database, media_dir=folder / "media"),
        server=ServerSettings(public_url="https://sigap.bench"),
    )
    app = await build(settings)
    try:
        async with app.db.write() as session:
            admin = await members.add(session, "Admin", Role.ADMIN, at=datetime.now(UTC))
            assert admin.id is not None
            token, _ = await dashboard.open_session(session, admin.id, datetime.now(UTC))
        newest = await fill(app, reports)
        site = Starlette(routes=Dashboard(app).routes())
        pages = {
            "cases": "/dasbor/kasus",
            "cases, text search": "/dasbor/kasus?q=Cambodia&state=new",
            "cases, page 20 by area": "/dasbor/kasus?sort=area&dir=asc&page=20",
            "case": f"/dasbor/kasus/{newest}",
        }
        times: dict[str, list[float]] = {name: [] for name in pages}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=site), base_url="https://sigap.bench"
        ) as client:
            client.cookies.set(COOKIE, token, domain="sigap.bench", path="/dasbor")
            for name, path in pages.items():
                assert (await client.get(path)).status_code == 200, path  # warm
                for _ in range(repeat):
                    started = time.perf_counter()
                    response = await client.get(path)
                    times[name].append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
        return times
    finally:
        await app.close()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL URL (a new database is made beside it)"
    )
    args = parser.parse_args()
    empty = await measure(args.database_url, 1, args.repeat)
    full = await measure(args.database_url, args.reports, args.repeat)
    print(f"dashboard pages, {args.repeat} requests each (ms)")
    print(f"{'page':26} {'1 report p50/p99':>18} {args.reports:>7} reports p50/p99  ratio p50")
    for name in full:
        e50, e99 = statistics.median(empty[name]), quantile(empty[name], 0.99)
        f50, f99 = statistics.median(full[name]), quantile(full[name], 0.99)
        print(f"{name:26} {e50:8.1f} /{e99:7.1f}  {f50:12.1f} /{f99:7.1f}  {f50 / e50:9.2f}")


if __name__ == "__main__":
    asyncio.run(main())
