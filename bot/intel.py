"""What `sigap intel` does: what is known of a recruiter's identifier, marks and their
confirmation as the operator (handlers/usecases/intel.py, as OPERATOR: the operator's marks
are confirmed at once), and indexing the reports stored before identifiers were."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from bot.admin import table
from bot.app import App
from handlers.intel import indexing
from handlers.usecases import OPERATOR
from handlers.usecases import intel as usecase
from storage import checks, reports
from storage.models import Report, Verdict

REINDEX_BATCH = 200  # reports per transaction
CHECKED_DAYS = 7  # `intel show` counts the residents' checks of this many days


def local(app: App, moment: datetime) -> str:
    return moment.astimezone(app.services.bot.zone).strftime("%Y-%m-%d %H:%M")


async def show(app: App, value: str) -> str:
    async with app.services.work(write=False) as work:
        known = await usecase.about(work, OPERATOR, value)
        identifier = known.identifier
        assert identifier.id is not None
        since = work.now - timedelta(days=CHECKED_DAYS)
        times, chats = await checks.counts_since(work.session, identifier.id, since)
    lines = [
        f"{identifier.shown}  ({identifier.kind}: {identifier.value})",
        f"checked by residents in the last {CHECKED_DAYS} days: {times} time(s), from "
        f"{chats} chat(s)",
        f"reports naming it ({len(known.reports)}):",
        *(
            f"  {n.report.reference}  {n.report.state}"
            f"{'/' + n.report.outcome if n.report.outcome else ''}  in {n.source}"
            for n in known.reports
        ),
        f"marks ({len(known.marks)}):",
        *(
            f"  #{m.id}  {m.verdict}  by {m.by} {local(app, m.created_at)}, citing {reference}; "
            + (
                f"confirmed by {m.confirmed_by} {local(app, m.confirmed_at)}"
                if m.confirmed_at is not None
                else "pending (not shown to residents)"
            )
            for m, reference in known.marks
        ),
    ]
    return "\n".join(lines)


async def checked(app: App, days: int, limit: int = 50) -> str:
    """The identifiers residents checked most in the last `days` days (CEK), with how many
    different chats checked each: never which ones."""
    async with app.services.work(write=False) as work:
        found = await checks.most_checked(work.session, work.now - timedelta(days=days), limit)
    if not found:
        return f"nothing checked in the last {days} day(s)"
    rows = [[i.shown, i.kind, str(n), str(c)] for i, n, c in found]
    return table(["IDENTIFIER", "KIND", "CHECKS", "CHATS"], rows)


async def mark(app: App, value: str, verdict: Verdict, reference: str) -> str:
    async with app.services.work() as work:
        done = await usecase.mark(work, OPERATOR, value, verdict, reference)
    return (
        f"mark #{done.mark.id}: {done.identifier.shown} ({done.identifier.kind}) {verdict}, "
        f"citing {done.report.reference}; confirmed"
    )


async def confirm(app: App, mark_id: int) -> str:
    async with app.services.work() as work:
        done = await usecase.confirm(work, OPERATOR, mark_id)
    return f"mark #{mark_id} confirmed: {done.identifier.shown} {done.mark.verdict}"


async def pending(app: App) -> str:
    async with app.services.work(write=False) as work:
        found = await usecase.pending(work, OPERATOR)
    if not found:
        return "no marks waiting for confirmation"
    rows = [
        [
            str(p.mark.id),
            p.identifier.shown,
            p.identifier.kind,
            p.mark.verdict,
            p.mark.by,
            p.reference,
            local(app, p.mark.created_at),
        ]
        for p in found
    ]
    return table(["ID", "IDENTIFIER", "KIND", "VERDICT", "BY", "CASE", "MARKED"], rows)


async def reindex(app: App) -> str:
    """Extracts and links the identifiers of every stored report and its additions (what is
    linked already stays): for the reports stored before 0013, and after a change of the
    extraction. Safe to run again, and while the service runs."""
    done, new, last = 0, 0, 0
    while True:
        async with app.services.work() as work:
            query = (
                select(Report)
                .where(col(Report.id) > last)
                .order_by(col(Report.id))
                .limit(REINDEX_BATCH)
            )
            batch = list((await work.session.exec(query)).all())
            for report in batch:
                assert report.id is not None
                new += await indexing.index_report(work.session, report, work.now)
                for addition in await reports.additions_of(work.session, report.id):
                    if addition.text:
                        new += await indexing.index_addition(
                            work.session, report, addition.text, work.now
                        )
        if not batch:
            break
        done += len(batch)
        last = batch[-1].id or last
    return f"{done} report(s) indexed, {new} new link(s)"
