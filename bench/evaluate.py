"""The yearly evaluation's cost: the time to compute the statistics of a year and to render the
PDF (charts included) for 10,000 reports, and the ratio against 1,000 measured in the same
run, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.evaluate [--reports 10000] [--no-postgresql]

(PostgreSQL: SIGAP_BENCH_PG, default postgresql://127.0.0.1:5432/test)"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import fresh_database
from bot.evaluation import render_html, render_pdf
from handlers.statistics import Period, Statistics, gather
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Priority
from tests.support.statistics import generated

PG = os.environ.get("SIGAP_BENCH_PG", "postgresql://127.0.0.1:5432/test")
TARGETS = {Priority.URGENT: 5.0, Priority.HIGH: 15.0, Priority.NORMAL: 30.0}
TARGET_SECONDS = 1.0  # the statistics of 10,000 reports: well under a second
ROUNDS = 5


async def measure(url: str, count: int) -> dict[str, float]:
    await generated(count).store(url)
    database = Database(url)
    period = Period.year(2026, ZoneInfo("Asia/Jakarta"))
    times: list[float] = []
    stats: Statistics | None = None
    try:
        for _ in range(ROUNDS):
            began = time.perf_counter()
            async with database.read() as session:
                stats = await gather(session, period, TARGETS)
            times.append(time.perf_counter() - began)
    finally:
        await database.close()
    assert stats is not None and stats.total == count
    began = time.perf_counter()
    pdf = render_pdf(stats, "id")
    pdf_seconds = time.perf_counter() - began
    began = time.perf_counter()
    render_html(stats, "id")
    html_seconds = time.perf_counter() - began
    return {
        "statistics": statistics.median(times),
        "pdf": pdf_seconds,
        "html": html_seconds,
        "pdf_kb": len(pdf) / 1024,
    }


async def run(base: str, folder: Path, counts: list[int]) -> dict[int, dict[str, float]]:
    results = {}
    for count in counts:
        async with fresh_database(base, folder, f"evaluate_{count}") as url:
            database = Database(url)
            try:
                await upgrade(database)
            finally:
                await database.close()
            results[count] = await measure(url, count)
    return results


def report(backend: str, results: dict[int, dict[str, float]]) -> bool:
    for count, figures in results.items():
        print(
            f"{backend:<10} {count:>6} reports: statistics {figures['statistics'] * 1000:7.1f} ms"
            f"   PDF {figures['pdf'] * 1000:7.1f} ms ({figures['pdf_kb']:.0f} KiB)"
            f"   HTML {figures['html'] * 1000:7.1f} ms"
        )
    small, large = (results[c] for c in sorted(results))
    print(
        f"{backend:<10} ratio {max(results)}/{min(results)}: statistics "
        f"{large['statistics'] / small['statistics']:.2f}, PDF {large['pdf'] / small['pdf']:.2f}"
    )
    ok = large["statistics"] < TARGET_SECONDS
    print(f"{backend:<10} statistics {'under' if ok else 'OVER'} {TARGET_SECONDS:g} s")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--database-url", default="", help="PostgreSQL (default SIGAP_BENCH_PG)")
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args()
    counts = [args.reports // 10, args.reports]
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        print(f"Yearly evaluation: statistics (median of {ROUNDS}) and rendering")
        ok &= report("sqlite", asyncio.run(run("sqlite", Path(folder), counts)))
        if not args.no_postgresql:
            pg = args.database_url or PG
            ok &= report("postgresql", asyncio.run(run(pg, Path(folder), counts)))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
