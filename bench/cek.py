"""CEK answer time: the whole handling of a resident's `cek` message through the conversation
layer (Conversations.handle: the conversation loaded and locked, the identifiers extracted,
the confirmed marks looked up, the risk scored, the check stored with its identifiers, the
weekly counts, the answer written to the outbox; all in one transaction), in process, with
100,000 stored identifiers (60% phone numbers, 15% accounts, 15% agencies, the rest links,
handles and e-mails; 60 of them with a confirmed mark), against the same checks with an
empty identifier table, in the same run. SQLite, then PostgreSQL.

    python3 dev.py bench cek [--identifiers 100000] [--checks 400] [--database-url URL]
(PostgreSQL: SIGAP_BENCH_PG, default postgresql://127.0.0.1:5432/test; --no-postgresql skips)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy import text as sql

from bench.common import KEYED, fresh_database
from bot.app import App, build
from bot.config import Settings
from handlers.conversation.messages import Inbound
from handlers.intel.identifiers import agency_key
from handlers.settings import CekSettings
from handlers.usecases import OPERATOR
from handlers.usecases import intel as usecase
from storage.models import Channel, Identifier, IdentifierKind, Verdict
from storage.settings import StorageSettings
from tests.support.answers import DETAILS, ENGLISH_REPORT

PG = os.environ.get("SIGAP_BENCH_PG", "postgresql://127.0.0.1:5432/test")
TARGET_P99_MS = 50.0

WORDS = [
    "maju", "jaya", "abadi", "bintang", "samudra", "timur", "utara", "mandiri", "sejahtera",
    "karya", "sinar", "harapan", "bangsa", "global", "mitra", "prima", "sentosa", "makmur",
    "nusantara", "cahaya", "gemilang", "berkah", "indah", "mulia", "perkasa", "anugerah",
    "cipta", "dinamika", "surya", "tunggal", "persada", "lestari", "rezeki", "putra", "putri",
    "mas", "agung", "golden", "star", "ocean", "pacific", "asia", "united", "link",
]  # fmt: skip


def phone(n: int) -> str:
    return f"+62812{n:08d}"[:14]


def agency(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, rng.choice((2, 3, 3, 4))))


def seeded(count: int, seed: int = 14) -> list[dict[str, object]]:
    """`count` identifiers of every kind, as stored (normalised values)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows: dict[tuple[str, str], dict[str, object]] = {}

    def add(kind: IdentifierKind, value: str, shown: str) -> None:
        rows.setdefault(
            (kind.value, value), {"kind": kind, "value": value, "shown": shown, "created_at": now}
        )

    shares = [
        (IdentifierKind.PHONE, 0.60),
        (IdentifierKind.ACCOUNT, 0.15),
        (IdentifierKind.AGENCY, 0.15),
        (IdentifierKind.LINK, 0.05),
        (IdentifierKind.HANDLE, 0.03),
        (IdentifierKind.EMAIL, 0.02),
    ]
    for kind, share in shares:
        wanted = len(rows) + int(count * share)
        n = 0
        while len(rows) < wanted:
            n += 1
            if kind is IdentifierKind.PHONE:
                add(kind, phone(n), phone(n))
            elif kind is IdentifierKind.ACCOUNT:
                digits = str(rng.randrange(10**9, 10**12))
                add(kind, digits, "BRI " + digits)
            elif kind is IdentifierKind.AGENCY:
                name = agency(rng)
                add(kind, agency_key(name), "PT " + name.title())
            elif kind is IdentifierKind.LINK:
                add(kind, f"facebook.com/loker{n}", f"facebook.com/loker{n}")
            elif kind is IdentifierKind.HANDLE:
                add(kind, f"kerja{n}", f"@kerja{n}")
            else:
                add(kind, f"hr{n}@agen.com", f"hr{n}@agen.com")
    return list(rows.values())[:count]


async def fill(app: App, count: int) -> list[dict[str, object]]:
    rows = seeded(count)
    async with app.db.write() as session:
        for start in range(0, len(rows), 5000):
            await session.exec(insert(Identifier).values(rows[start : start + 5000]))  # type: ignore[call-overload]
    async with app.db.write() as session:
        # The planner's statistics, as PostgreSQL's autovacuum keeps them on a live database
        # (right after a bulk insert they are missing).
        await session.exec(sql("ANALYZE"))  # type: ignore[call-overload]
    return rows


async def a_case(app: App) -> str:
    """A report to cite in the marks (through the conversation, as a resident sends it)."""
    sender = "bench-reporter"
    for answer, _question in [*ENGLISH_REPORT, *DETAILS]:
        await app.conversations.handle(Inbound(Channel.CONSOLE, sender, text=answer))
    out = await app.conversations.handle(Inbound(Channel.CONSOLE, sender, text="1"))
    screen = " ".join(getattr(r, "text", "") for r in out.replies)
    return screen.split("reference number: ")[1].split()[0]


async def mark_some(app: App, rows: list[dict[str, object]], reference: str) -> None:
    """60 confirmed marks, agencies among them (the only agencies a check matches fuzzily)."""
    rng = random.Random(7)
    for row in rng.sample(rows, 60):
        async with app.services.work() as work:
            verdict = rng.choice([Verdict.DANGEROUS, Verdict.CLEARED])
            await usecase.mark(work, OPERATOR, str(row["shown"]), verdict, reference)


def messages(rows: list[dict[str, object]], count: int) -> list[str]:
    """What residents send: a known number, an unknown one, an agency's name, the same with
    a typo (matched fuzzily against every stored agency of a similar length), an advert with
    four identifiers (each written as people write them)."""
    rng = random.Random(3)
    phones = [str(r["shown"]) for r in rows if r["kind"] is IdentifierKind.PHONE]
    agencies = [str(r["shown"]) for r in rows if r["kind"] is IdentifierKind.AGENCY]
    sent = []
    for n in range(count):
        known = rng.choice(phones) if phones else phone(n + 1)
        local = "0" + known[3:6] + "-" + known[6:10] + "-" + known[10:]
        name = rng.choice(agencies) if agencies else "PT " + agency(rng).title()
        sent.append(
            [
                f"cek {local}",
                f"cek 0899 {n:04d} {n % 10000:04d}",
                f"cek {name}",
                f"cek {name}i",
                f"cek\nLowongan admin online di Kamboja, gaji 15 juta, tiket gratis. {name}, "
                f"hub WA {local}, transfer biaya ke rek BCA {1234500000 + n}, "
                f"info fb.com/loker{n}",
            ][n % 5]
        )
    return sent


async def measure(app: App, sent: list[str]) -> list[float]:
    app.conversations.answered_by_outbox = {Channel.TELEGRAM}  # the answer is an outbox row
    for n, text in enumerate(sent[:20]):  # warm-up
        await app.conversations.handle(Inbound(Channel.TELEGRAM, f"warm{n}", text=text))
    times = []
    for n, text in enumerate(sent):
        began = time.perf_counter()
        out = await app.conversations.handle(Inbound(Channel.TELEGRAM, str(500_000 + n), text=text))
        times.append(time.perf_counter() - began)
        assert out.replies, text
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q) - 1))]


async def run(url: str, media: Path, identifiers: int, checks: int) -> dict[str, list[float]]:
    results = {}
    for name, count in (("empty", 0), ("filled", identifiers)):
        async with fresh_database(url, media, f"cek_{name}") as database:
            settings = Settings(
                privacy=KEYED,
                storage=StorageSettings(url=database, media_dir=media),
                cek=CekSettings(per_hour=10_000, secret="bench"),
            )
            app = await build(settings)
            try:
                began = time.monotonic()
                rows = await fill(app, count)
                reference = await a_case(app)
                if rows:
                    await mark_some(app, rows, reference)
                print(f"  {name}: {count} identifiers stored in {time.monotonic() - began:.1f} s")
                results[name] = await measure(app, messages(rows, checks))
            finally:
                await app.close()
    return results


KINDS = ("known number", "unknown number", "agency", "agency, typo", "advert")


def report(backend: str, results: dict[str, list[float]]) -> bool:
    figures = {
        name: (statistics.median(t) * 1000, percentile(t, 0.99) * 1000)
        for name, t in results.items()
    }
    for name, (p50, p99) in figures.items():
        count = len(results[name])
        print(f"{backend:<10} {name:<7} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   ({count})")
    filled = results["filled"]
    for k, kind in enumerate(KINDS):
        some = filled[k :: len(KINDS)]
        print(
            f"{'':<10} filled, {kind:<14} p50 {statistics.median(some) * 1000:6.1f} ms"
            f"   max {max(some) * 1000:6.1f} ms"
        )
    (b50, b99), (f50, f99) = figures["empty"], figures["filled"]
    print(f"{backend:<10} ratio filled/empty: p50 {f50 / b50:.2f}, p99 {f99 / b99:.2f}")
    ok = f99 < TARGET_P99_MS
    print(f"{backend:<10} p99 {'under' if ok else 'OVER'} the {TARGET_P99_MS:.0f} ms target")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identifiers", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=400)
    parser.add_argument("--database-url", default="", help="PostgreSQL (default SIGAP_BENCH_PG)")
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        print(f"CEK answer time, {args.checks} checks, {args.identifiers} identifiers")
        sqlite = asyncio.run(run("sqlite", Path(folder), args.identifiers, args.checks))
        ok &= report("sqlite", sqlite)
        if not args.no_postgresql:
            pg = args.database_url or PG
            postgres = asyncio.run(run(pg, Path(folder), args.identifiers, args.checks))
            ok &= report("postgresql", postgres)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
