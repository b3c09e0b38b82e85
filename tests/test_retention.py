"""`[retention]` applied by its daily run, on data put in with old timestamps: a closed case's
reporter identity after its months (11 months kept, 13 gone), evidence unless the case is open
or referred, drafts and idle chats after their days; one run a day, finished by another
process when the first died; nothing removed when everything is kept forever."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select

from bot.app import App
from handlers.usecases import OPERATOR
from handlers.usecases import casework as cases
from handlers.usecases import retention as applying
from handlers.usecases.retention import months_before
from storage import broadcasts, chats, conversations, members, reports, workers
from storage.models import (
    AgencyKind,
    Channel,
    Erasure,
    EventKind,
    Media,
    MessageKind,
    Outbox,
    OutboxState,
    Outcome,
    Referral,
    ReferralState,
    Report,
    RetentionRun,
    Role,
)
from tests.support.clock import Clock
from tests.support.old_data import CONTACT, PNG, case, chat, evidence

OTHER_PNG = PNG + b"\x01"


async def worker(app: App, at: datetime) -> int:
    """A `sigap run` process, alive at `at` (its heartbeat then)."""
    async with app.db.write() as session:
        found = await workers.register(session, at)
    assert found.id is not None
    return found.id


async def report(app: App, reference: str) -> Report:
    async with app.db.read() as session:
        found = await reports.by_reference(session, reference)
    assert found is not None
    return found


async def kinds(app: App, reference: str) -> list[tuple[EventKind, str, dict[str, object]]]:
    found = await report(app, reference)
    async with app.db.read() as session:
        events = await reports.timeline(session, found.id or 0)
    return [(e.kind, e.actor, e.detail) for e in events]


def test_months_are_calendar_months() -> None:
    at = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert months_before(at, 1) == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    assert months_before(at, 13) == datetime(2025, 2, 28, 10, 0, tzinfo=UTC)
    assert months_before(at, 25) == datetime(2024, 2, 29, 10, 0, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 12) == datetime(2025, 1, 15, tzinfo=UTC)


async def test_a_case_closed_13_months_ago_loses_its_reporter_and_one_closed_11_months_ago_keeps_it(
    app: App, clock: Clock
) -> None:
    now = clock.now
    await case(
        app.db,
        "BTN-2025-00001",
        sender="5001",
        created_at=months_before(now, 14),
        closed_at=months_before(now, 13),
    )
    await case(
        app.db,
        "BTN-2025-00002",
        sender="5002",
        created_at=months_before(now, 14),
        closed_at=months_before(now, 11),
    )
    # Open for years: its reporter is still needed.
    await case(app.db, "BTN-2024-00003", sender="5003", created_at=months_before(now, 30))
    for sender in ("5001", "5002"):
        await chat(app.db, sender, now - timedelta(days=2), message_ids=("41", "42"))

    run = await applying.apply(app.services, await worker(app, now))

    assert run is not None and (run.identities, run.day) == (1, date(2026, 11, 28))
    gone = await report(app, "BTN-2025-00001")
    assert gone.sender.startswith("erased:") and gone.sender != "5001"
    assert (gone.contact_phone, gone.consent_contact, gone.consent_share_with) == (None, False, [])
    assert not gone.consent_share_with_police and gone.relay_stopped_at == now
    assert (gone.identity_erased_at, gone.identity_erased_by) == (now, Erasure.RETENTION)
    assert gone.story.startswith("Ditawari kerja") and gone.state == "closed"  # the case stays
    assert (EventKind.IDENTITY_ERASED, "sigap", {"by": "retention"}) in await kinds(
        app, "BTN-2025-00001"
    )
    async with app.db.read() as session:
        assert await reports.of_sender(session, Channel.TELEGRAM, "5001") == []
        # The chat's bookkeeping went with it: no report names the chat any more.
        assert await conversations.find(session, Channel.TELEGRAM, "5001") is None
        assert await chats.messages(session, Channel.TELEGRAM, "5001") == []
        assert await conversations.find(session, Channel.TELEGRAM, "5002") is not None
        assert len(await chats.messages(session, Channel.TELEGRAM, "5002")) == 2
    for kept in ("BTN-2025-00002", "BTN-2024-00003"):
        found = await report(app, kept)
        assert found.contact_phone == CONTACT and found.identity_erased_at is None, kept


async def test_evidence_goes_after_its_months_unless_the_case_is_open_or_referred(
    app: App, clock: Clock
) -> None:
    now, media = clock.now, app.services.media
    long_ago = months_before(now, 26)
    closed = await case(
        app.db,
        "BTN-2024-00001",
        sender="5001",
        created_at=long_ago,
        closed_at=months_before(now, 25),
    )
    lately = await case(
        app.db,
        "BTN-2024-00002",
        sender="5002",
        created_at=long_ago,
        closed_at=months_before(now, 23),
    )
    still_open = await case(app.db, "BTN-2024-00003", sender="5003", created_at=long_ago)
    referred = await case(
        app.db,
        "BTN-2024-00004",
        sender="5004",
        created_at=long_ago,
        closed_at=months_before(now, 25),
    )
    done_with = await case(
        app.db,
        "BTN-2024-00005",
        sender="5005",
        created_at=long_ago,
        closed_at=months_before(now, 25),
    )
    gone = await evidence(app.db, media, closed, long_ago)
    shared = await evidence(app.db, media, closed, long_ago, OTHER_PNG)
    for kept in (lately, still_open, referred):
        await evidence(app.db, media, kept, long_ago, OTHER_PNG)
    await evidence(app.db, media, done_with, long_ago, OTHER_PNG)
    async with app.db.write() as session:
        for found, state in ((referred, ReferralState.ACCEPTED), (done_with, ReferralState.DONE)):
            session.add(
                Referral(
                    report_id=found.id or 0,
                    created_at=long_ago,
                    updated_at=long_ago,
                    agency="Polres Bintan",
                    agency_kind=AgencyKind.POLICE,
                    channel=Channel.EMAIL,
                    address="reskrim@polres.example.id",
                    state=state,
                    document_sha256="ab" * 32,
                )
            )

    run = await applying.apply(app.services, await worker(app, now))

    assert run is not None and run.evidence_files == 3  # two of the first case, one of the last
    async with app.db.read() as session:
        left = {m.report_id for m in (await session.exec(select(Media))).all()}
    assert left == {lately.id, still_open.id, referred.id}
    assert not media.path(gone.sha256).exists()
    assert media.path(shared.sha256).exists()  # the other cases' evidence is the same file
    assert (EventKind.EVIDENCE_REMOVED, "sigap", {"files": 2}) in await kinds(app, "BTN-2024-00001")


async def test_drafts_and_idle_chats_go_after_their_days_but_not_a_members_or_one_that_said_stop(
    app: App, clock: Clock
) -> None:
    now, media = clock.now, app.services.media
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    async with app.db.write() as session:
        andi = await members.add(session, "Andi", Role.COORDINATOR, at=old)
        await members.link(session, andi, Channel.TELEGRAM, "9001")
    await chat(app.db, "9001", old, flow="broadcast", data={"text": "Waspada calo"})
    await chat(app.db, "6001", old, flow="cek", data={"text": "Lowongan kapal, bayar 5 juta"})
    drafting = await chat(
        app.db, "6002", now - timedelta(days=40), flow="report", data={"story": "x"}
    )
    stored = await media.put(PNG)
    async with app.db.write() as session:
        await reports.add_draft_media(session, drafting.id or 0, stored, name="ad.png", at=old)
    await chat(app.db, "6003", old, message_ids=("1", "2", "3"))
    await chat(app.db, "6004", recent, message_ids=("4",))
    stopped = await chat(app.db, "6005", now - timedelta(days=90))
    async with app.db.write() as session:
        stopped.opted_out_at = now - timedelta(days=90)
        session.add(stopped)
        for at in (old, recent):
            session.add(
                Outbox(
                    created_at=at,
                    updated_at=at,
                    channel=Channel.TELEGRAM,
                    address="6004",
                    kind=MessageKind.REPLY,
                    text="",
                    state=OutboxState.SENT,
                )
            )
        await broadcasts.subscribe(
            session, Channel.TELEGRAM, "6003", area=None, language="en", at=old
        )

    run = await applying.apply(app.services, await worker(app, now))

    assert run is not None and (run.drafts, run.chats) == (3, 3)
    async with app.db.read() as session:

        async def conversation(sender: str) -> tuple[str | None, dict[str, object]] | None:
            found = await conversations.find(session, Channel.TELEGRAM, sender)
            return None if found is None else (found.flow, found.data)

        assert await conversation("9001") == (None, {})  # the member's draft went, not its chat
        for gone in ("6001", "6002", "6003"):
            assert await conversation(gone) is None, gone
        assert await conversation("6004") is not None and await conversation("6005") is not None
        assert await chats.messages(session, Channel.TELEGRAM, "6003") == []
        assert len(await chats.messages(session, Channel.TELEGRAM, "6004")) == 1
        answers = (await session.exec(select(Outbox.created_at))).all()
        # A subscription is the resident's own choice: it stays.
        assert await broadcasts.unsubscribe(
            session, Channel.TELEGRAM, "6003", at=now, reason="stopped"
        )
    assert answers == [recent]
    assert not media.path(stored.sha256).exists()


async def test_a_day_is_applied_once_and_a_run_whose_process_died_is_finished_by_another(
    app: App, clock: Clock
) -> None:
    now = clock.now
    first = await worker(app, now)
    assert (await applying.apply(app.services, first)) is not None
    assert await applying.apply(app.services, first) is None  # done for today
    second = await worker(app, now)
    assert await applying.apply(app.services, second) is None

    # The next day, a process dies half-way (its heartbeat stops); another finishes the run,
    # adding to the counts already recorded.
    clock.advance(days=1)
    dead = await worker(app, clock.now - timedelta(minutes=5))
    async with app.db.write() as session:
        session.add(
            RetentionRun(
                day=date(2026, 11, 29),
                started_at=clock.now,
                touched_at=clock.now,
                claimed_by=dead,
                drafts=2,
            )
        )
    await chat(app.db, "6001", clock.now - timedelta(days=40), flow="cek", data={"text": "x"})
    busy = await worker(app, clock.now)
    async with app.db.write() as session:  # a live process's unfinished run is left to it
        session.add(
            RetentionRun(
                day=date(2026, 11, 30),
                started_at=clock.now,
                touched_at=clock.now,
                claimed_by=busy,
            )
        )
    taken = await applying.apply(app.services, second)
    assert taken is not None and taken.day == date(2026, 11, 29)
    assert (taken.claimed_by, taken.drafts, taken.chats) == (second, 3, 1)
    assert taken.finished_at == clock.now
    clock.advance(days=1)
    async with app.db.write() as session:
        await workers.beat(session, busy, clock.now)
    assert await applying.apply(app.services, second) is None
    async with app.db.read() as session:
        days = (await session.exec(select(RetentionRun.day).order_by(col(RetentionRun.day)))).all()
    assert days == [date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)]


async def test_nothing_is_removed_when_everything_is_kept_forever(app: App, clock: Clock) -> None:
    app.services.retention = app.services.retention.model_copy(
        update={"drafts_days": 0, "closed_identity_months": 0, "evidence_months": 0}
    )
    now = clock.now
    closed = await case(
        app.db,
        "BTN-2020-00001",
        sender="5001",
        created_at=months_before(now, 80),
        closed_at=months_before(now, 79),
    )
    await evidence(app.db, app.services.media, closed, months_before(now, 80))
    await chat(app.db, "6001", now - timedelta(days=400), flow="cek", data={"text": "x"})
    assert await applying.apply(app.services, await worker(app, now)) is None
    assert (await report(app, "BTN-2020-00001")).contact_phone == CONTACT
    async with app.db.read() as session:
        assert (await conversations.find(session, Channel.TELEGRAM, "6001")) is not None
        assert len((await session.exec(select(Media))).all()) == 1


async def test_a_case_is_closed_since_its_closing_and_open_again_when_reopened(
    app: App, clock: Clock
) -> None:
    await case(app.db, "BTN-2026-00001", sender="5001", created_at=clock.now)
    clock.advance(hours=3)
    async with app.services.work() as work:
        closed = await cases.close(work, "BTN-2026-00001", OPERATOR, Outcome.NOT_TRAFFICKING)
    assert closed.closed_at == clock.now
    clock.advance(hours=1)
    async with app.services.work() as work:
        reopened = await cases.reopen(work, "BTN-2026-00001", OPERATOR)
    assert reopened.closed_at is None
