"""`[retention]`, applied once a day by `sigap run` (bot/scheduler.py `retention`):

- `drafts_days`: every flow's unfinished answers (and their files), then the chat bookkeeping
  of that age: message ids, answers sent, redelivery keys, and the conversations of chats idle
  that long with nothing open (handlers/residents/report.py `expire_left` is the draft expiry
  of the housekeeping job too, with intake's draft_expiry_hours, for reports);
- `closed_identity_months`: the reporter's identity of cases closed that long ago
  (usecases/erasure.py), the case kept, anonymised;
- `evidence_months`: the evidence files of cases closed that long ago, received as long ago,
  unless an agency still works on a referral of the case.

One process applies a day's run (storage/retention.py `claim_day`); it goes in batches, each
one transaction with its counts, so a run killed half-way is finished by the next one and
counts exactly what went."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from handlers.conversation.turn import Services
from handlers.residents.report import expire_left
from handlers.usecases.erasure import expire_identities
from storage import chats, reports, retention
from storage.models import EventKind, Report, RetentionRun

BATCH = 200
BOOKKEEPING_BATCH = 1000


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day when it
    is shorter: 31 March less one month is 28 or 29 February)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def apply(services: Services, worker: int) -> RetentionRun | None:
    """The day's run, if it is this worker's to do (None otherwise, and when everything is
    kept forever): removes what is due and returns the run with its counts."""
    rules = services.retention
    if not (rules.drafts_days or rules.closed_identity_months or rules.evidence_months):
        return None
    now = services.clock()
    async with services.work() as work:
        day = now.astimezone(services.bot.zone).date()
        run = await retention.claim_day(work.session, day, worker, work.now)
    if run is None:
        return None
    assert run.id is not None
    if rules.drafts_days:
        before = now - timedelta(days=rules.drafts_days)
        await _drafts(services, run.id, before)
        await _chats(services, run.id, before)
    if rules.closed_identity_months:
        await _identities(services, run.id, months_before(now, rules.closed_identity_months))
    if rules.evidence_months:
        await _evidence(services, run.id, months_before(now, rules.evidence_months))
    async with services.work() as work:
        return await retention.finish(work.session, run.id, work.now)


async def _drafts(services: Services, run_id: int, before: datetime) -> None:
    while True:
        async with services.work() as work:
            done, files = await expire_left(work, None, before, BATCH)
            await retention.count(work.session, run_id, work.now, drafts=done)
        for sha256 in files:
            await services.media.delete(sha256)
        if done < BATCH:
            return


async def _chats(services: Services, run_id: int, before: datetime) -> None:
    group = services.alerts.telegram_group_id
    keep = [str(group)] if group else []  # the task force's group keeps its language
    while True:
        async with services.work() as work:
            session = work.session
            messages = await retention.forget_messages_before(session, before, BOOKKEEPING_BATCH)
            answers = await retention.forget_answers_before(session, before, BOOKKEEPING_BATCH)
            gone = await retention.forget_idle_chats(session, before, BATCH, keep=keep)
            await retention.count(session, run_id, work.now, chats=gone)
        if messages < BOOKKEEPING_BATCH and answers < BOOKKEEPING_BATCH and gone < BATCH:
            break
    async with services.work() as work:
        await chats.forget_seen(work.session, before)


async def _identities(services: Services, run_id: int, before: datetime) -> None:
    while True:
        async with services.work() as work:
            done = await expire_identities(work, before, BATCH)
            await retention.count(work.session, run_id, work.now, identities=done)
        if done < BATCH:
            return


async def _evidence(services: Services, run_id: int, before: datetime) -> None:
    """Each batch deletes the files before their rows: a run killed in between leaves rows
    that the next run deletes again (the files already gone), never a file nobody knows of."""
    while True:
        async with services.work() as work:
            session = work.session
            found = await retention.expired_evidence(session, before, BATCH)
            ids = [media.id for media, _ in found if media.id is not None]
            unused = await retention.unused_files(session, [m.sha256 for m, _ in found], ids)
            for sha256 in unused:
                await services.media.delete(sha256)
            await retention.delete_media(session, ids)
            per_report: dict[int, tuple[Report, int]] = {}
            for _, report in found:
                assert report.id is not None
                per_report[report.id] = (report, per_report.get(report.id, (report, 0))[1] + 1)
            for report, files in per_report.values():
                await reports.add_event(
                    session,
                    report,
                    EventKind.EVIDENCE_REMOVED,
                    at=work.now,
                    actor="sigap",
                    detail={"files": files},
                )
            await retention.count(session, run_id, work.now, evidence_files=len(ids))
        if len(found) < BATCH:
            return
