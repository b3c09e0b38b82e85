"""The operator's plain tables, and the one `sigap reports list` prints: apart from
bot/reports.py so that listing the reports loads the storage alone, none of the flows."""

from __future__ import annotations

from datetime import datetime

from bot.app import App
from storage import reports


def local(app: App, moment: datetime) -> str:
    return moment.astimezone(app.services.bot.zone).strftime("%Y-%m-%d %H:%M")


def table(header: list[str], rows: list[list[str]]) -> str:
    """Plain columns, as wide as their widest cell."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


async def listing_table(app: App, *, limit: int | None = None) -> str:
    async with app.db.read() as session:
        rows = [
            [
                r.reference,
                local(app, r.created_at),
                r.priority,
                r.offer_kind,
                r.area or "-",
                r.state,
            ]
            for r in await reports.listing(session, limit=limit)
        ]
    if not rows:
        return "no reports yet"
    return table(["REFERENCE", "TIME", "PRIORITY", "KIND", "AREA", "STATE"], rows)
