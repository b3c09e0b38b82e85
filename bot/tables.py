"""The operator's plain tables, and the one `sigap reports list` prints: apart from
bot/reports.py so that listing the reports loads the storage alone, none of the flows, and
most often not even the models (storage/listing.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from storage import listing

if TYPE_CHECKING:
    from sqlalchemy import Row

    from bot.app import App
    from bot.config import Settings


def local(app: App, moment: datetime) -> str:
    return in_zone(app.services.bot.zone, moment)


def in_zone(zone: tzinfo, moment: datetime) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def table(header: list[str], rows: list[list[str]]) -> str:
    """Plain columns, as wide as their widest cell."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def listing_table(settings: Settings, *, limit: int | None = None) -> str:
    """The newest reports: read at once from a database ready for work, else after the start
    every command makes (bot.app.build: it migrates the database and opens its seals)."""
    rows = listing.read_if_ready(settings.storage.url, settings.privacy.keyring(), limit)
    if rows is None:
        rows = asyncio.run(read_after_start(settings, limit))
    if not rows:
        return "no reports yet"
    zone = settings.bot.zone
    cells = [
        [r.reference, in_zone(zone, r.created_at), r.priority, r.offer_kind, r.area or "-", r.state]
        for r in rows
    ]
    return table(["REFERENCE", "TIME", "PRIORITY", "KIND", "AREA", "STATE"], cells)


async def read_after_start(settings: Settings, limit: int | None) -> list[Row[Any]]:
    """The newest reports, read after the start `sigap run` makes (and with its engine)."""
    from bot.app import build

    app = await build(settings)
    try:
        async with app.db.engine.connect() as connection:
            return list(await connection.execute(listing.newest_reports(limit)))
    finally:
        await app.close()
