"""The task force on duty: alerts, follow-ups that escalate without a cap, acknowledgement,
and the roster; with a travelled clock, delivery through python-telegram-bot to a fake Bot API
server. No test sleeps to wait for a job: it moves the clock and runs the job."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import bot.outbox
from bot.app import App, build
from bot.config import Settings
from bot.outbox import Delivery
from bot.reports import show_report
from bot.scheduler import Jobs
from handlers.taskforce.alerts import follow_up
from storage import conversations, escalation, members, outbox, reports, workers
from storage.models import (
    Channel,
    EventKind,
    Followup,
    FollowupState,
    MessageKind,
    Outbox,
    OutboxState,
    Report,
    ReportEvent,
    Role,
)
from storage.settings import StorageSettings
from tests.fakes.telegram import FakeTelegram
from tests.support.answers import INDONESIAN_REPORT
from tests.support.chat import Chat
from tests.support.clock import Clock
from tests.support.database import truncate
from tests.support.keys import KEYED
from tests.support.task_force import ANDI, BUDI, CITRA, DEWI, RESIDENT, TaskForce

# Saturday 28 Nov 2026, 10:00 in Jakarta (03:00 UTC): the test clock.
SATURDAY = 5


async def staffed(force: TaskForce) -> None:
    """Andi and Budi on a Saturday day shift; Citra coordinates; Dewi is off."""
    await force.add("Andi", ANDI)
    await force.add("Budi", BUDI)
    await force.add("Citra", CITRA, Role.COORDINATOR)
    await force.add("Dewi", DEWI)
    await force.shifts((SATURDAY, "08:00", "16:00", ["Andi", "Budi"]))


async def test_a_new_report_alerts_the_members_on_duty_at_once(force: TaskForce) -> None:
    await staffed(force)
    reference = await force.report()
    await force.deliver()
    for chat in (ANDI, BUDI):
        (alert,) = force.fake.sent(chat)
        text = alert.params["text"]
        assert f"New report {reference}" in text and "priority Normal" in text
        for part in (
            "Work abroad",
            "Malaysia",
            "Bintan Timur",
            "Fees demanded up front",
            "Recruiter numbers: +6281234567890",
            "A man offered my sister",
        ):
            assert part in text, part
        assert "earlier" not in text  # no "named in 0 earlier reports"
        labels = [b["text"] for row in alert.params["reply_markup"]["inline_keyboard"] for b in row]
        assert labels == ["Acknowledge", "Details"]
    assert force.fake.sent(CITRA) == [] and force.fake.sent(DEWI) == []
    (alerted,) = [e for e in await force.events(reference) if e.kind is EventKind.ALERTED]
    assert alerted.detail["members"] == ["Andi", "Budi"]

    second = await force.report(sender="5002")
    await force.deliver()
    assert f"New report {second}" in force.texts(ANDI)[-1]
    assert f"same phone (+6281234567890) as {reference}" in force.texts(ANDI)[-1]
    await force.later(30)  # the follow-ups name them the same way
    followups = [t for t in force.texts(CITRA) if "Not yet acknowledged" in t]
    assert [t.count(f"(+6281234567890) as {reference}") for t in followups] == [0, 1]


async def alerts_in_db(app: App) -> list[Outbox]:
    async with app.db.read() as session:
        query = select(Outbox).where(col(Outbox.kind) == MessageKind.ALERT)
        return list((await session.exec(query.order_by(col(Outbox.id)))).all())


async def test_a_new_reports_alerts_leave_from_the_process_that_stored_them_without_a_claim(
    force: TaskForce, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `sigap run` wires it: the confirm's transaction stores the alerts claimed by this
    process, which sends them as soon as it commits, side by side; the delivery job's claim
    has nothing to do with them."""
    await staffed(force)
    worker = await force.delivery.register()
    force.app.conversations.sender = force.delivery
    claims = []
    claim = outbox.claim

    async def counted(*args: Any, **kwargs: Any) -> Any:
        taken = await claim(*args, **kwargs)
        claims.extend(row.kind for row in taken)
        return taken

    monkeypatch.setattr(outbox, "claim", counted)
    reference = await force.report()
    for chat in (ANDI, BUDI):
        (alert,) = await force.fake.wait_for("sendMessage", chat_id=chat)
        assert f"New report {reference}" in alert.params["text"]
    await force.delivery.stop(grace=5)
    assert MessageKind.ALERT not in claims
    stored = await alerts_in_db(force.app)
    assert [(a.state, a.attempts, a.claimed_by) for a in stored] == [
        (OutboxState.SENT, 1, worker)
    ] * 2


class DiesAfterTheCommit(Delivery):
    """A process that stops dead right after the confirm commits: it sends nothing."""

    def send_claimed(self, rows: Sequence[Outbox]) -> None:
        pass


async def test_alerts_stored_by_a_process_that_died_are_sent_once_by_another(
    force: TaskForce, app: App, clock: Clock
) -> None:
    await staffed(force)
    dead = DiesAfterTheCommit(app.services, {Channel.TELEGRAM: force.channel})
    await dead.register()
    app.conversations.sender = dead
    reference = await force.report()
    assert [a.state for a in await alerts_in_db(app)] == [OutboxState.SENDING] * 2
    await force.deliver()  # another process, while the first one still seems alive
    assert force.fake.sent(ANDI) == [] and force.fake.sent(BUDI) == []
    clock.advance(seconds=workers.LEASE.total_seconds() + 1)  # its heartbeat is too old
    await force.deliver()
    for chat in (ANDI, BUDI):
        (alert,) = force.fake.sent(chat)
        assert f"New report {reference}" in alert.params["text"]
    assert [(a.state, a.attempts) for a in await alerts_in_db(app)] == [(OutboxState.SENT, 2)] * 2


async def test_alerts_beyond_what_goes_out_at_once_are_left_to_the_delivery_job(
    force: TaskForce, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.outbox, "CLAIMED_AT_ONCE", 1)
    await staffed(force)
    worker = await force.delivery.register()
    force.app.conversations.sender = force.delivery
    await force.report()
    await force.fake.wait_for("sendMessage", chat_id=ANDI)
    await force.deliver()
    assert len(force.fake.sent(ANDI)) == len(force.fake.sent(BUDI)) == 1
    stored = await alerts_in_db(force.app)
    assert [(a.state, a.claimed_by) for a in stored] == [(OutboxState.SENT, worker)] * 2


async def test_each_member_is_alerted_in_the_language_of_their_chat(force: TaskForce) -> None:
    """Budi has written to the bot in Indonesian; Andi never has, so he reads the default."""
    await staffed(force)
    async with force.app.db.write() as session:
        await conversations.load(
            session, Channel.TELEGRAM, str(BUDI), language="id", now=force.clock()
        )
    reference = await force.report()
    await force.deliver()
    assert f"New report {reference}" in force.texts(ANDI)[-1]
    assert f"Laporan baru {reference}" in force.texts(BUDI)[-1]


async def test_an_alert_lists_the_five_latest_earlier_reports_with_the_same_number(
    force: TaskForce,
) -> None:
    await staffed(force)
    earlier = [await force.report(sender=str(6000 + n)) for n in range(6)]
    latest = await force.report(sender="6100")
    await force.deliver()
    alert = force.texts(ANDI)[-1]
    assert f"New report {latest}" in alert
    listed = ", ".join(reversed(earlier[1:]))  # the latest first
    assert f"same phone (+6281234567890) as {listed} and 1 more" in alert
    assert earlier[0] not in alert


async def test_escalation_goes_through_every_step_then_repeats_without_cap(
    force: TaskForce,
) -> None:
    await staffed(force)
    reference = await force.report()
    await force.deliver()
    assert len(force.texts(ANDI)) == 1 and force.texts(CITRA) == []

    assert await force.later(29) == 0  # normal priority: 30 minutes before the next step
    assert await force.later(1) == 1  # step 2, on duty + backup (the coordinators)
    assert "has waited 30 minutes" in force.texts(CITRA)[-1]
    assert "Already notified: Andi, Budi" in force.texts(CITRA)[-1]
    assert len(force.texts(ANDI)) == 2 and force.texts(DEWI) == []

    await force.later(30)  # step 3, the coordinators
    assert len(force.texts(CITRA)) == 2 and len(force.texts(ANDI)) == 2
    await force.later(30)  # step 4, all members
    assert len(force.texts(DEWI)) == 1 and "has waited 90 minutes" in force.texts(DEWI)[-1]
    for repeat in range(1, 6):  # then all members again and again
        await force.later(30)
        assert len(force.texts(DEWI)) == 1 + repeat
    steps = [
        e.detail["step"] for e in await force.events(reference) if e.kind is EventKind.FOLLOWED_UP
    ]
    assert steps == [1, 2, 3, 3, 3, 3, 3, 3]


async def test_an_acknowledgement_stops_everything_and_updates_every_alert(
    force: TaskForce, app: App
) -> None:
    await staffed(force)
    reference = await force.report()
    await force.deliver()
    await force.later(30)
    sent = {(chat, 1000 + i) for chat in (ANDI, BUDI, CITRA) for i in range(len(force.texts(chat)))}
    answer = await force.press(ANDI, "Acknowledge")
    assert f"report {reference} is yours" in answer
    await force.deliver()

    edits = force.fake.called("editMessageText")
    edited = {(c.params["chat_id"], c.params["message_id"]) for c in edits}
    assert edited == sent  # every alert and follow-up, to everyone
    assert all("✅ Acknowledged by Andi at 10:30." in c.params["text"] for c in edits)
    assert all("reply_markup" not in c.params for c in edits)

    before = {chat: len(force.texts(chat)) for chat in (ANDI, BUDI, CITRA, DEWI)}
    for _ in range(5):
        assert await force.later(30) == 0
    assert {chat: len(force.texts(chat)) for chat in before} == before
    # The reporter is told there is news, and nothing more; STATUS shows it.
    assert force.texts(RESIDENT)[-1] == "There is news for you. Type STATUS to read it."
    assert force.texts(RESIDENT)[-2].startswith("For your safety")  # the end of the report
    status = await force.say(RESIDENT, "status")
    assert f"• {reference}, sent Nov 28, 2026: being handled by the task force" in status
    assert "since Nov 28, 2026 at 10:30" in status
    async with app.db.read() as session:
        report = await reports.by_reference(session, reference)
        followups = (await session.exec(select(Followup))).all()
    assert report is not None and report.state == "acknowledged"
    assert report.acknowledged_by == force.members["Andi"].id
    assert [f.state for f in followups][-1] is FollowupState.CANCELLED
    kinds = [e.kind for e in await force.events(reference)]
    assert kinds == ["submitted", "alerted", "followed_up", "acknowledged"]


async def test_an_acknowledgement_during_a_follow_up_being_sent(
    force: TaskForce, fake: FakeTelegram
) -> None:
    """The follow-up already on its way is then marked acknowledged; nothing after it goes."""
    await staffed(force)
    await force.report()
    await force.deliver()
    force.clock.advance(minutes=30)
    assert await follow_up(force.app.services) == 1
    fake.latency = 0.3  # the follow-ups are in flight...
    delivering = asyncio.create_task(force.deliver())
    await fake.wait_for("sendMessage", 4)
    answer = await force.press(BUDI, "Acknowledge")  # ...when Budi takes the report
    assert "is yours" in answer
    await delivering
    fake.latency = 0
    await force.deliver()
    for chat in (ANDI, BUDI, CITRA):
        sent = [c for c in force.fake.sent(chat) if "ack:" in str(c.params.get("reply_markup"))]
        edits = [c for c in force.fake.called("editMessageText") if c.params["chat_id"] == chat]
        assert len(edits) == len(sent), chat  # whatever went out says who took it
    assert await force.later(60) == 0


async def test_a_second_acknowledgement_changes_nothing(force: TaskForce) -> None:
    await staffed(force)
    reference = await force.report()
    await force.deliver()
    late = force.fake.keyboard(BUDI)  # Budi's alert, before the acknowledgement edits it
    await force.press(ANDI, "Acknowledge")
    force.clock.advance(minutes=3)
    answer = await force.press(BUDI, "Acknowledge", shown=late)
    assert f"Report {reference} was already acknowledged by Andi" in answer
    answer = await force.say(ANDI, f"ACK {reference}")
    assert "already acknowledged by Andi" in answer
    kinds = [e.kind for e in await force.events(reference)]
    assert kinds.count(EventKind.ACKNOWLEDGED) == 1


async def test_a_resident_or_removed_member_pressing_an_alert_is_refused(
    force: TaskForce, app: App
) -> None:
    await staffed(force)
    reference = await force.report()
    assert "Not allowed" in await force.say(7777, f"ACK {reference}")
    assert "Not allowed" in await force.say(7777, f"DETAIL {reference}")
    async with app.db.write() as session:
        await members.remove(session, force.members["Andi"], force.clock())
    assert "Not allowed" in await force.press(ANDI, "Acknowledge")
    events = await force.events(reference)
    refused = [e for e in events if e.kind is EventKind.REFUSED]
    assert len(refused) == 3 and "not a member" in refused[0].actor
    assert EventKind.ACKNOWLEDGED not in [e.kind for e in events]


async def test_nobody_on_duty_alerts_the_coordinators_and_says_so(force: TaskForce) -> None:
    await force.add("Citra", CITRA, Role.COORDINATOR)
    await force.add("Dewi", DEWI)
    reference = await force.report()
    await force.deliver()
    assert f"New report {reference}" in force.texts(CITRA)[0]
    assert force.texts(DEWI) == []
    answer = await force.say(DEWI, "/piket")
    assert "Nobody is on duty now: alerts go to the coordinators (Citra (Polres))." in answer


async def test_a_shift_across_midnight(force: TaskForce, app: App) -> None:
    await force.add("Andi", ANDI)
    await force.add("Citra", CITRA, Role.COORDINATOR)
    await force.shifts((SATURDAY, "22:00", "06:00", ["Andi"]))
    force.clock.now = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)  # Saturday 23:00 in Jakarta
    assert "On duty now: Andi" in await force.say(ANDI, "/piket")
    force.clock.now = datetime(2026, 11, 28, 22, 30, tzinfo=UTC)  # Sunday 05:30
    assert "On duty now: Andi" in await force.say(ANDI, "/piket")
    force.clock.now = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # Sunday 06:30
    answer = await force.say(ANDI, "/piket")
    assert "Nobody is on duty now" in answer and "Next: Sat 5 Dec 22:00, Andi" in answer


async def test_overrides_put_a_member_on_and_off_duty(force: TaskForce) -> None:
    await staffed(force)
    answer = await force.say(DEWI, "/siaga 2")
    assert "You are on duty until Sat 28 Nov 12:00." in answer
    assert "Dewi" in await force.say(DEWI, "/piket")
    assert "You are off duty now." in await force.say(ANDI, "/selesai")
    assert "You are not on duty now." in await force.say(ANDI, "/selesai")
    before = len(force.texts(ANDI)), len(force.texts(DEWI))
    reference = await force.report()
    await force.deliver()
    assert len(force.texts(ANDI)) == before[0]
    assert f"New report {reference}" in force.texts(DEWI)[before[1]]
    force.clock.advance(hours=2)
    assert "Dewi" not in (await force.say(DEWI, "/piket")).split("\n")[0]
    assert "Give the number of hours" in await force.say(DEWI, "/siaga 500")


async def test_a_restart_in_the_middle_of_an_escalation(
    force: TaskForce, settings: Settings, clock: Clock, fake: FakeTelegram
) -> None:
    await staffed(force)
    reference = await force.report()
    await force.deliver()
    await force.later(30)
    # The service is down for two hours: the follow-up due meanwhile goes once, not four times.
    clock.advance(hours=2)
    restarted = await build(settings, clock=clock)
    assert await follow_up(restarted.services) == 1
    assert await follow_up(restarted.services) == 0
    steps = [
        e.detail["step"] for e in await force.events(reference) if e.kind is EventKind.FOLLOWED_UP
    ]
    assert steps == [1, 2]
    async with restarted.db.read() as session:
        pending = (
            await session.exec(select(Followup).where(col(Followup.state) == FollowupState.PENDING))
        ).all()
    assert [p.due_at for p in pending] == [clock() + timedelta(minutes=30)]
    await restarted.close()


async def test_invitations_used_expired_and_wrong(force: TaskForce, app: App) -> None:
    await force.add("Citra", CITRA, Role.COORDINATOR)
    answer = await force.say(CITRA, "/undang Eko Saputra")
    code = answer.split("code ")[1].split(",")[0]
    assert "valid for 24 hours" in answer
    welcome = await force.say(9100, f"/gabung {code.lower()}")
    assert "Welcome to the task force, Eko Saputra." in welcome
    assert "already been used" in await force.say(9101, f"/gabung {code}")

    answer = await force.say(CITRA, "/undang Fajar")
    late = answer.split("code ")[1].split(",")[0]
    force.clock.advance(hours=25)
    assert "has expired" in await force.say(9102, f"/gabung {late}")

    for _ in range(3):
        assert "not valid" in await force.say(9103, "/gabung WRONG123")
    await force.say(9103, "/lapor")  # starting and cancelling a flow resets nothing
    await force.say(9103, "/batal")
    assert "Too many wrong codes. Please try again in 1 minute(s)." in await force.say(
        9103, "/gabung WRONG123"
    )
    force.clock.advance(minutes=1)
    assert "not valid" in await force.say(9103, "/gabung WRONG123")
    assert "try again in 2 minute(s)" in await force.say(9103, "/gabung WRONG123")
    assert "Not allowed" in await force.say(9100, "/undang Gita")  # a member cannot invite
    assert "Only an admin" in await force.say(CITRA, "/undang koordinator Gita")
    async with app.db.read() as session:
        eko = await members.by_address(session, Channel.TELEGRAM, "9100")
    assert eko is not None and eko.role is Role.MEMBER


async def test_an_unreachable_member_is_reported_to_the_coordinators(
    force: TaskForce, fake: FakeTelegram, app: App
) -> None:
    await staffed(force)
    fake.block(ANDI)
    reference = await force.report()
    await force.deliver()
    await force.deliver()
    assert (
        "Andi could not be reached on any channel for report " + reference
        in (force.texts(CITRA)[-1])
    )
    kinds = [e.kind for e in await force.events(reference)]
    assert EventKind.UNREACHABLE in kinds
    async with app.db.read() as session:
        failed = (
            await session.exec(select(Outbox).where(col(Outbox.state) == OutboxState.FAILED))
        ).all()
    assert [(r.address, r.error_code) for r in failed] == [(str(ANDI), "blocked")]


async def test_an_addition_reaches_whoever_acknowledged(force: TaskForce) -> None:
    await staffed(force)
    reference = await force.report()
    chat = Chat(force.app, sender=str(RESIDENT), channel=Channel.TELEGRAM)
    await chat.send(f"add {reference}")
    await chat.send("The boat leaves on Friday night from a jetty near Tanjung Uban.")
    await force.deliver()
    assert "new information from the reporter: The boat leaves" in force.texts(ANDI)[-1]
    assert "new information" in force.texts(BUDI)[-1]
    await force.press(BUDI, "Acknowledge")
    await chat.send("He also asked for my cousin's KTP.")
    await force.deliver()
    assert "KTP" in force.texts(BUDI)[-1]
    assert not any("KTP" in t for t in force.texts(ANDI))


async def test_what_the_bot_sends_a_reporter_on_its_own_is_neutral_on_a_lock_screen(
    force: TaskForce, app: App
) -> None:
    """Nothing the bot sends unasked to a reporter names a report, its reference or its
    subject, in either language, whatever happens to the report."""
    await staffed(force)
    english = await force.report()
    indonesian_chat = Chat(app, sender="5002", channel=Channel.TELEGRAM)
    await indonesian_chat.dialog([("bahasa id", "Bahasa Indonesia"), *INDONESIAN_REPORT])
    indonesian = indonesian_chat.screen.split("Nomor laporan Anda: ")[1].split()[0]
    await force.deliver()
    await force.later(30)

    def alert(chat: int, reference: str) -> tuple[int, list[list[dict[str, Any]]]]:
        return next(
            shown
            for shown in force.fake.keyboards(chat)
            if any(b["callback_data"] == f"ack:{reference}" for row in shown[1] for b in row)
        )

    late = alert(BUDI, english)
    await force.press(ANDI, "Acknowledge", shown=alert(ANDI, english))
    await force.press(ANDI, "Acknowledge", shown=alert(ANDI, indonesian))
    await force.press(BUDI, "Acknowledge", shown=late)  # too late: changes nothing
    await Chat(app, sender=str(RESIDENT), channel=Channel.TELEGRAM).send(f"add {english}")
    await force.later(30)

    async with app.db.read() as session:
        rows = (await session.exec(select(Outbox).order_by(col(Outbox.id)))).all()
    unasked = {
        (row.address, row.text): row.variables
        for row in rows
        if row.address in (str(RESIDENT), "5002") and row.kind is not MessageKind.REPLY
    }
    assert sorted(text for _address, text in unasked) == [
        "Ada kabar untuk Anda. Ketik STATUS untuk membacanya.",
        "There is news for you. Type STATUS to read it.",
    ]
    for (_address, text), variables in unasked.items():
        said = (text + " " + " ".join(map(str, variables.values()))).casefold()
        for word in ("report", "laporan", english.casefold(), indonesian.casefold()):
            assert word not in said, (word, text)
        for subject in ("malaysia", "restaurant", "restoran", "sister", "kakak"):
            assert subject not in said, (subject, text)
    status = await indonesian_chat.send("status")
    assert f"• {indonesian}, dikirim 28 Nov 2026: sedang ditangani Gugus Tugas sejak" in status
    assert "sejak 28 Nov 2026 pukul 10:30" in status


async def test_details_show_the_contact_only_with_consent(force: TaskForce) -> None:
    await staffed(force)
    await force.report()
    await force.deliver()
    answer = await force.press(ANDI, "Details")
    assert "A man offered my sister a job" in answer and "Reporter: anonymous." in answer
    assert str(RESIDENT) not in answer


async def test_group_alerts_and_acknowledgement_from_the_group(
    app: App, fake: FakeTelegram, clock: Clock
) -> None:
    group = -1001234
    app.services.alerts = app.services.alerts.model_copy(update={"telegram_group_id": group})
    force = TaskForce(app, fake, clock)
    await force.channel.bot.initialize()
    await staffed(force)
    reference = await force.report()
    await force.deliver()
    assert f"New report {reference}" in force.texts(group)[0]
    answer = await force.press(group, "Acknowledge", user=4242)
    assert "Not allowed" in answer
    answer = await force.press(group, "Acknowledge", user=BUDI)
    assert f"report {reference} is yours" in answer
    await force.deliver()
    assert any(c.params["chat_id"] == group for c in fake.called("editMessageText"))
    await force.channel.bot.shutdown()


async def test_reports_show_lists_the_timeline(force: TaskForce) -> None:
    await staffed(force)
    reference = await force.report()
    await force.later(30)
    await force.say(7777, f"ACK {reference}")
    await force.press(ANDI, "Acknowledge")
    shown = await show_report(force.app, reference=reference)
    assert shown is not None
    for kind in ("submitted", "alerted", "followed_up", "refused", "acknowledged  by Andi"):
        assert kind in shown, kind


async def open_reports(
    session: AsyncSession, count: int, at: datetime, *, due: datetime
) -> list[int]:
    """`count` urgent reports nobody acknowledged, each with its step-1 follow-up `due`."""
    ids = []
    for n in range(count):
        report = Report(
            reference=f"BTN-2026-{n:05d}",
            created_at=at,
            priority="urgent",
            channel=Channel.TELEGRAM,
            sender=f"r{n}",
            language="id",
            urgency="danger_now",
            affected="me",
            child_involved="no",
            offer_kind="work_abroad",
            destination="Malaysia",
            offer_source="agent",
            story="x" * 20,
        )
        session.add(report)
        await session.flush()
        assert report.id is not None
        await escalation.schedule(session, report.id, 1, due)
        ids.append(report.id)
    return ids


async def test_follow_ups_claimed_in_batches_go_out_once_each_with_the_next_step(
    force: TaskForce,
) -> None:
    """300 due at once: two batches (250 and 50), each message, event and next step once."""
    await force.add("Citra", CITRA, Role.COORDINATOR)
    async with force.app.db.write() as session:
        ids = await open_reports(session, 300, force.clock(), due=force.clock())
    force.clock.advance(minutes=1)
    assert await follow_up(force.app.services) == 300
    assert await follow_up(force.app.services) == 0
    async with force.app.db.read() as session:
        rows = (
            await session.exec(select(Outbox).where(col(Outbox.kind) == MessageKind.FOLLOWUP))
        ).all()
        events = (
            await session.exec(
                select(ReportEvent).where(col(ReportEvent.kind) == EventKind.FOLLOWED_UP)
            )
        ).all()
        pending = (
            await session.exec(select(Followup).where(col(Followup.state) == FollowupState.PENDING))
        ).all()
    assert sorted(r.report_id or 0 for r in rows) == ids  # one each, to Citra
    assert {(r.address, r.state) for r in rows} == {(str(CITRA), OutboxState.PENDING)}
    first = min(rows, key=lambda r: r.report_id or 0)
    assert first.text.startswith("Not yet acknowledged: report BTN-2026-00000")
    assert [b["label"] for b in first.buttons if "label" in b] == ["Acknowledge", "Details"]
    assert sorted(e.report_id for e in events) == ids
    assert {e.detail["members"][0] for e in events} == {"Citra"}
    assert sorted(f.report_id for f in pending) == ids
    assert {f.step for f in pending} == {2}
    assert {f.due_at for f in pending} == {force.clock() + timedelta(minutes=5)}
    await force.deliver()
    assert len(force.texts(CITRA)) == 300


async def test_the_running_scheduler_sends_a_follow_up_when_it_falls_due(
    settings: Settings,
) -> None:
    """Due 300 ms after one of the job's runs: sent then, not at its next run a second
    later. (The real clock: this is about when the scheduler wakes up.)"""
    app = await build(settings)
    async with app.db.write() as session:
        citra = await members.add(session, "Citra", Role.COORDINATOR, at=datetime.now(UTC))
        await members.link(session, citra, Channel.TELEGRAM, str(CITRA))
    jobs = Jobs(app.services, Delivery(app.services, {}))
    jobs.start()
    try:
        for _ in range(500):  # past the start, when every job runs at once
            if "followups" in jobs.last_ok:
                break
            await asyncio.sleep(0.01)
        due = jobs.scheduler.get_job("followups").next_run_time + timedelta(milliseconds=300)
        async with app.db.write() as session:
            await open_reports(session, 1, datetime.now(UTC), due=due)
        for _ in range(100):  # the scheduler, not the test, decides when it goes out
            async with app.db.read() as session:
                row = (
                    await session.exec(
                        select(Outbox).where(col(Outbox.kind) == MessageKind.FOLLOWUP)
                    )
                ).first()
            if row is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        await jobs.stop(grace=5)
        await app.close()
    assert row is not None, "no follow-up within 5 seconds"
    assert row.created_at - due < timedelta(milliseconds=300)  # at the next run: 700


async def test_two_schedulers_on_one_postgresql_database_send_each_follow_up_once(
    postgres_database: str, tmp_path: Any, clock: Clock
) -> None:
    """Two processes' worth of engines claim the same due follow-ups concurrently."""
    truncate(postgres_database)
    settings = Settings(
        privacy=KEYED, storage=StorageSettings(url=postgres_database, media_dir=tmp_path / "media")
    )
    first, second = await build(settings, clock=clock), await build(settings, clock=clock)
    async with first.db.write() as session:
        citra = await members.add(session, "Citra", Role.COORDINATOR, at=clock())
        await members.link(session, citra, Channel.TELEGRAM, str(CITRA))
        await open_reports(session, 300, clock(), due=clock())
    clock.advance(minutes=1)
    counts = await asyncio.gather(
        follow_up(first.services, batch=20), follow_up(second.services, batch=20)
    )
    assert sum(counts) == 300 and all(counts), counts
    async with first.db.read() as session:
        rows = (
            await session.exec(select(Outbox).where(col(Outbox.kind) == MessageKind.FOLLOWUP))
        ).all()
        events = (
            await session.exec(
                select(ReportEvent).where(col(ReportEvent.kind) == EventKind.FOLLOWED_UP)
            )
        ).all()
    assert len(rows) == 300 and len({r.report_id for r in rows}) == 300
    assert len(events) == 300
    await first.close()
    await second.close()
