"""Case work after the acknowledgement: who may do what (the role matrix, for every action),
each action's event on the timeline, the reporter told of the outcome in their words, and the
reminders of a forgotten case; then the same through the chat, on Telegram's buttons and by
typed words (transcripts, no transport but the fake Bot API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlmodel import col, select

from bot.app import App
from handlers.conversation.turn import Work
from handlers.taskforce import lifecycle
from handlers.taskforce.reminders import remind
from handlers.usecases import NOT_ALLOWED, OPERATOR, Actor, Refused
from handlers.usecases import casework as cases
from storage import casework, members, reports
from storage.models import (
    Channel,
    EventKind,
    Member,
    MessageKind,
    Outbox,
    Outcome,
    ReportState,
    Role,
)
from tests.support.chat import Chat
from tests.support.task_force import ANDI, BUDI, CITRA, DEWI, RESIDENT, TaskForce

EKO = 9005  # an admin
STRANGER = 7777


async def staffed(force: TaskForce) -> dict[str, Member]:
    """Andi and Budi are members, Citra coordinates, Eko is an admin, Dewi was removed."""
    people = {
        "Andi": await force.add("Andi", ANDI),
        "Budi": await force.add("Budi", BUDI),
        "Citra": await force.add("Citra", CITRA, Role.COORDINATOR),
        "Eko": await force.add("Eko", EKO, Role.ADMIN),
        "Dewi": await force.add("Dewi", DEWI),
    }
    async with force.app.db.write() as session:
        dewi = await members.get(session, people["Dewi"].id or 0)
        assert dewi is not None
        await members.remove(session, dewi, force.clock())
        people["Dewi"] = dewi
    return people


async def acknowledged(force: TaskForce, by: Member) -> str:
    """A new report, acknowledged by `by`."""
    reference = await force.report()
    async with force.app.services.work() as work:
        await lifecycle.acknowledge(work, reference, by, Channel.TELEGRAM)
    return reference


Act = Callable[[Work, str, Actor], Awaitable[object]]

ACTIONS: dict[str, Act] = {
    "progress": lambda work, ref, actor: cases.progress(work, ref, actor),
    "note": lambda work, ref, actor: cases.note(work, ref, actor, "called the recruiter"),
    "assign": lambda work, ref, actor: cases.assign(work, ref, actor, "Budi"),
    "close": lambda work, ref, actor: cases.close(work, ref, actor, Outcome.SCAM_OR_FRAUD),
    "reopen": lambda work, ref, actor: cases.reopen(work, ref, actor),
}

# Who may do each action: the assignee (Andi) or coordinators (Citra, and Eko the admin);
# reopening only coordinators; never Budi (not assigned) or Dewi (removed).
MAY = {
    "progress": {"Andi", "Citra", "Eko", "operator"},
    "note": {"Andi", "Citra", "Eko", "operator"},
    "assign": {"Andi", "Citra", "Eko", "operator"},
    "close": {"Andi", "Citra", "Eko", "operator"},
    "reopen": {"Citra", "Eko", "operator"},
}


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_the_role_matrix_of_every_case_action(force: TaskForce, action: str) -> None:
    people = await staffed(force)
    actors: dict[str, Actor] = {**people, "operator": OPERATOR}
    for name, actor in actors.items():
        reference = await acknowledged(force, people["Andi"])
        if action == "reopen":
            async with force.app.services.work() as work:
                await cases.close(work, reference, OPERATOR, Outcome.NOT_TRAFFICKING)
        async with force.app.services.work() as work:
            try:
                await ACTIONS[action](work, reference, actor)
                done = True
            except Refused as refused:
                done = False
                if name == "Dewi":
                    assert refused.message == NOT_ALLOWED
                elif name == "Budi" and action != "reopen":
                    assert str(refused) == (
                        f"Only Andi, who has case {reference}, or a coordinator can do that."
                    )
                else:
                    assert str(refused) == "Only a coordinator can reopen a closed case."
        assert done == (name in MAY[action]), (action, name)


async def test_a_stranger_is_refused_every_case_word_and_the_attempt_is_recorded(
    force: TaskForce,
) -> None:
    people = await staffed(force)
    reference = await acknowledged(force, people["Andi"])
    words = [
        f"/kasus {reference}",
        f"PROSES {reference}",
        f"CATAT {reference} halo",
        f"ALIHKAN {reference} Budi",
        f"TUTUP {reference}",
        f"BUKA LAGI {reference}",
    ]
    for text in words:
        assert "Not allowed" in await force.say(STRANGER, text)
    refused = [e for e in await force.events(reference) if e.kind is EventKind.REFUSED]
    assert len(refused) == len(words)
    assert all(str(STRANGER) not in e.actor for e in refused)  # never the chat id


async def test_every_change_is_on_the_timeline_with_who_and_the_states(
    force: TaskForce,
) -> None:
    people = await staffed(force)
    reference = await acknowledged(force, people["Andi"])
    other = await acknowledged(force, people["Budi"])
    async with force.app.services.work() as work:
        await cases.progress(work, reference, people["Andi"], Channel.TELEGRAM)
        await cases.note(work, reference, people["Andi"], "visited the family")
        await cases.assign(work, reference, people["Citra"], "Budi")
        with pytest.raises(Refused, match="other report"):
            await cases.close(work, reference, people["Budi"], Outcome.DUPLICATE)
        with pytest.raises(Refused, match="itself"):
            await cases.close(work, reference, people["Budi"], Outcome.DUPLICATE, reference)
        await cases.close(work, reference, people["Budi"], Outcome.DUPLICATE, other.lower())
    async with force.app.services.work() as work:
        await cases.reopen(work, reference, people["Citra"])
    events = await force.events(reference)
    kinds = [
        (e.kind, e.actor, e.detail)
        for e in events
        if e.kind not in (EventKind.SUBMITTED, EventKind.ALERTED, EventKind.ACKNOWLEDGED)
    ]
    assert kinds[0] == (
        EventKind.STATE_CHANGED,
        "Andi",
        {"from": "acknowledged", "to": "in_progress"},
    )
    assert kinds[1][:2] == (EventKind.NOTE, "Andi")
    assert kinds[2][:2] == (EventKind.ASSIGNED, "Citra")
    assert kinds[2][2]["from"] == "Andi" and kinds[2][2]["to"] == "Budi"
    assert kinds[3] == (
        EventKind.STATE_CHANGED,
        "Budi",
        {"from": "in_progress", "to": "closed", "outcome": "duplicate", "duplicate_of": other},
    )
    assert kinds[4][:2] == (EventKind.REOPENED, "Citra")
    async with force.app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None
        assert (report.state, report.outcome, report.assignee_id) == (
            ReportState.IN_PROGRESS,
            None,
            people["Budi"].id,
        )
        assert report.acknowledged_by == people["Andi"].id  # kept as it was


async def test_the_reassigned_member_is_told_with_the_case(force: TaskForce) -> None:
    people = await staffed(force)
    reference = await acknowledged(force, people["Andi"])
    await force.deliver()
    answer = await force.say(ANDI, f"alihkan {reference} budi")
    assert f"Case {reference} is now Budi's" in answer
    await force.deliver()
    told = force.texts(BUDI)[-1]
    assert f"Case {reference} is now yours, assigned by Andi" in told
    assert "Malaysia" in told  # the case itself comes with it


async def test_closing_tells_the_reporter_neutrally_and_status_says_the_outcome(
    force: TaskForce, app: App
) -> None:
    people = await staffed(force)
    reference = await acknowledged(force, people["Andi"])
    await force.deliver()
    before = len(force.texts(RESIDENT))
    async with app.services.work() as work:
        await cases.close(work, reference, people["Andi"], Outcome.NOT_TRAFFICKING)
    await force.deliver()
    (news,) = force.texts(RESIDENT)[before:]
    assert news == "There is news for you. Type STATUS to read it."
    resident = Chat(app, sender=str(RESIDENT), channel=Channel.TELEGRAM)
    status = await resident.send("status")
    assert "closed: the task force looked into it and found no sign of trafficking" in status
    assert "called" not in status  # nothing of the investigation


async def test_a_forgotten_case_reminds_the_assignee_then_the_coordinators(
    force: TaskForce, app: App
) -> None:
    people = await staffed(force)
    reference = await acknowledged(force, people["Andi"])  # normal priority: 72 hours
    await force.deliver()
    force.clock.advance(hours=71)
    assert await remind(app.services) == 0
    force.clock.advance(hours=2)
    assert await remind(app.services) == 1
    await force.deliver()
    assert (
        f"Reminder: case {reference} (acknowledged) has had no update for 72 hours"
        in (force.texts(ANDI)[-1])
    )
    force.clock.advance(hours=73)
    assert await remind(app.services) == 1
    await force.deliver()
    for chat in (CITRA, EKO):
        assert f"Case {reference} (acknowledged), assigned to Andi" in force.texts(chat)[-1]
    # A note 10 hours later resets the clock: the coordinators' next reminder does not come,
    # and 72 hours after the note the assignee is reminded again.
    force.clock.advance(hours=10)
    async with app.services.work() as work:
        await cases.note(work, reference, people["Andi"], "still waiting for the family")
    force.clock.advance(hours=63)
    assert await remind(app.services) == 0  # the reminder due was outdated: moved on
    force.clock.advance(hours=10)
    assert await remind(app.services) == 1
    await force.deliver()
    assert "Reminder: case" in force.texts(ANDI)[-1]
    assert "Reminder: case" not in force.texts(CITRA)[-1]
    # Closed: no more reminders.
    async with app.services.work() as work:
        await cases.close(work, reference, people["Andi"], Outcome.SCAM_OR_FRAUD)
        report = await reports.by_reference(work.session, reference)
        assert report is not None and report.id is not None
        assert await casework.pending(work.session, report.id) == []
    force.clock.advance(hours=500)
    assert await remind(app.services) == 0


async def test_on_telegram_a_member_works_the_case_from_the_acknowledgement(
    force: TaskForce, app: App
) -> None:
    await staffed(force)
    await force.shifts((5, "08:00", "16:00", ["Andi"]))
    reference = await force.report()
    await force.deliver()
    answer = await force.press(ANDI, "Acknowledge")
    assert f"report {reference} is yours" in answer and "What next?" in answer
    assert "is in progress" in await force.press(ANDI, "In progress")
    assert "Write the note" in await force.press(ANDI, "Note")
    assert "Saved in the note" in await force.say(ANDI, "Recruiter's number is inactive.")
    assert "Note saved" in await force.press(ANDI, "Done")
    assert "How did case" in await force.press(ANDI, "Close")
    assert f"Case {reference} is closed: Scam or fraud" in await force.press(ANDI, "Scam or fraud")
    case = await force.say(ANDI, f"/kasus {reference}")
    assert "closed" in case and "Recruiter's number is inactive." in case
    assert "Reopen" not in str(force.fake.keyboard(ANDI))  # a member cannot reopen
    assert "Only a coordinator" in await force.say(ANDI, f"/bukalagi {reference}")
    assert "open again" in await force.say(CITRA, f"buka lagi {reference}")
    listing = await force.say(CITRA, "/kasus")
    assert "Open cases per member:" in listing and "Andi (1):" in listing


async def test_on_whatsapp_a_member_works_the_case_by_words(force: TaskForce, app: App) -> None:
    people = await staffed(force)
    async with app.db.write() as session:
        await members.link(session, people["Budi"], Channel.WHATSAPP, "+6281200000002")
    budi = Chat(app, sender="+6281200000002", channel=Channel.WHATSAPP)
    reference = await force.report()
    ack = await budi.send(f"TERIMA {reference}")
    assert "is yours" in ack and "1. In progress" in ack
    assert "is in progress" in await budi.send("1")
    assert "Note saved" in await budi.send(f"CATAT {reference} Sudah telepon keluarga.")
    assert "Your open cases (1):" in await budi.send("KASUS")
    assert "Not trafficking" in await budi.send(f"TUTUP {reference}")
    assert "Which report" in await budi.send("5")  # a duplicate: of which report?
    assert "There is no report BTN-2026-09999" in await budi.send("BTN-2026-09999")
    other = await force.report(sender="5002")
    assert "is closed: Duplicate" in await budi.send(other)
    async with app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None and report.duplicate_of == other
        query = select(Outbox).where(
            col(Outbox.report_id) == report.id, col(Outbox.kind) == MessageKind.REPORT_UPDATE
        )
        updates = (await session.exec(query)).all()
    assert len(updates) == 2  # acknowledged, closed: the neutral notice each time


async def test_a_typed_case_word_needs_its_reference(force: TaskForce) -> None:
    await staffed(force)
    assert "Write the case's reference too, e.g. TUTUP BTN-" in await force.say(ANDI, "tutup")
    assert "No open cases." in await force.say(ANDI, "kasus")
