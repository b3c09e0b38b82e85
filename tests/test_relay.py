"""The anonymous relay between a member and a reporter, on Telegram both sides: who may write
(the permission matrix), consent, the neutral notice, BUKA and the answer back, files both
ways, BERHENTI BALAS, and that neither side ever sees the other's chat id or name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.reports import show_report
from handlers.usecases.relay import may_relay
from storage import members, relay, reports
from storage.models import EventKind, Member, RelayDirection, Report, Role
from tests.support.answers import (
    CONTACTABLE_TO_STORY,
    DETAILS,
    ENGLISH_REPORT,
    ENGLISH_STORY,
    START_IN_ENGLISH,
)
from tests.support.task_force import ANDI, BUDI, CITRA, RESIDENT, TaskForce

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
STRANGER = 7777
CONSENTED = [*START_IN_ENGLISH, *CONTACTABLE_TO_STORY, (ENGLISH_STORY, "Please check your report")]
SATURDAY = 5  # the test clock's day
NOTICE = "There is a message for you. Type BUKA to read it."


async def acknowledged(force: TaskForce, answers: Any = CONSENTED) -> str:
    """Andi and Budi (members) and Citra (coordinator); a report Andi acknowledged."""
    await force.add("Andi", ANDI)
    await force.add("Budi", BUDI)
    await force.add("Citra", CITRA, Role.COORDINATOR)
    await force.shifts((SATURDAY, "08:00", "16:00", ["Andi", "Budi"]))
    reference = await force.report(answers=answers)
    await force.deliver()
    await force.press(ANDI, "Acknowledge")
    return reference


def everything(force: TaskForce, chat: int) -> str:
    """All the bot sent to a chat: messages, captions and edits."""
    calls = [
        c
        for c in force.fake.calls
        if str(c.params.get("chat_id", "")) == str(chat)
        and c.method in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText")
    ]
    return "\n".join(str(c.params) for c in calls)


def test_who_may_relay() -> None:
    """The case's assignee (first the member who acknowledged), coordinators and admins;
    never a removed member."""
    report = Report(acknowledged_by=1, assignee_id=1)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    taker = Member(id=1, name="Andi", role=Role.MEMBER, created_at=at)
    other = Member(id=2, name="Budi", role=Role.MEMBER, created_at=at)
    coordinator = Member(id=3, name="Citra", role=Role.COORDINATOR, created_at=at)
    admin = Member(id=4, name="Eko", role=Role.ADMIN, created_at=at)
    gone = Member(id=1, name="Andi", role=Role.MEMBER, created_at=at, removed_at=at)
    gone_coordinator = Member(id=3, name="C", role=Role.COORDINATOR, created_at=at, removed_at=at)
    assert may_relay(taker, report) and may_relay(coordinator, report)
    assert may_relay(admin, report)
    assert not may_relay(other, report)
    assert not may_relay(gone, report) and not may_relay(gone_coordinator, report)
    assert not may_relay(other, Report(acknowledged_by=None))
    assert not may_relay(taker, Report(acknowledged_by=1, assignee_id=2))  # reassigned


async def test_a_member_writes_and_the_reporter_reads_and_answers(force: TaskForce) -> None:
    reference = await acknowledged(force)
    assert "/balas " + reference in force.texts(ANDI)[-1]
    # The case's menu offers to write to the reporter.
    answer = await force.press(ANDI, "Reply to reporter")
    assert f"Write your message to the reporter of {reference}" in answer
    answer = await force.say(ANDI, "Can you tell us where the office is?")
    assert f"Sent to the reporter of {reference}" in answer
    await force.deliver()
    # The reporter's phone shows the neutral notice, and nothing of the report.
    assert force.texts(RESIDENT)[-1] == NOTICE

    answer = await force.say(RESIDENT, "buka")
    assert f"Message from the task force ({reference}):" in answer
    assert "Can you tell us where the office is?" in answer
    assert "Write your answer here" in answer and "STOP REPLIES" in answer
    answer = await force.say(RESIDENT, "Jalan Merdeka 5, above the bakery")
    assert "Sent. You can write more." in answer
    assert force.texts(ANDI)[-1] == (
        f"Reply from the reporter of {reference}: Jalan Merdeka 5, above the bakery"
    )
    photo = force.fake.add_file(PNG)
    update = force.fake.message(
        RESIDENT,
        language_code="en",
        photo=[{"file_id": photo, "file_unique_id": "p", "width": 9, "height": 9}],
    )
    await force._answer(RESIDENT, update)
    assert force.texts(ANDI)[-1] == f"Reply from the reporter of {reference}: (+1 file(s))"
    (sent_photo,) = force.fake.photos(ANDI)
    assert sent_photo.params["caption"] == reference
    assert "Thank you" in await force.say(RESIDENT, "selesai")
    # After SELESAI a message is a message again, not an answer.
    before = len(force.texts(ANDI))
    await force.say(RESIDENT, "status")
    assert len(force.texts(ANDI)) == before

    events = [e for e in await force.events(reference) if e.kind is EventKind.RELAYED]
    assert [e.detail["direction"] for e in events] == [
        "to_reporter",
        "from_reporter",
        "from_reporter",
    ]
    assert events[0].actor == "Andi" and events[1].actor == "reporter"
    assert events[1].detail["text"] == "Jalan Merdeka 5, above the bakery"
    assert len(events[2].detail["files"][0]) == 64  # by SHA-256
    # The reporter's photo is evidence of the report now.
    async with force.app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None and report.id is not None
        assert len(await reports.media_of(session, report.id)) == 1
    shown = await show_report(force.app, reference=reference)
    assert shown is not None and "relayed" in shown and "Jalan Merdeka 5" in shown

    # Neither side learns who the other is.
    for secret in (str(RESIDENT), "0812", "+62812"):
        assert secret not in everything(force, ANDI)
    for secret in (str(ANDI), "Andi", "Polres"):
        assert secret not in everything(force, RESIDENT)


async def test_the_message_can_come_with_the_command_and_with_a_file(force: TaskForce) -> None:
    reference = await acknowledged(force)
    photo = force.fake.add_file(PNG)
    update = force.fake.message(
        ANDI,
        language_code="en",
        caption=f"/balas {reference} Is this the man?",
        photo=[{"file_id": photo, "file_unique_id": "p", "width": 9, "height": 9}],
    )
    assert "Sent to the reporter" in await force._answer(ANDI, update)
    assert f"Sent to the reporter of {reference}" in await force.say(
        ANDI, f"BALAS {reference} And did he call again?"
    )
    await force.deliver()
    assert force.texts(RESIDENT).count(NOTICE) == 1  # one notice for what waits
    await force.say(RESIDENT, "buka")
    shown = "\n".join(force.texts(RESIDENT))
    assert "Is this the man?" in shown and "And did he call again?" in shown
    documents = [
        c for c in force.fake.called("sendDocument") if int(c.params["chat_id"]) == RESIDENT
    ]
    assert len(documents) == 1
    # Read: BUKA again finds nothing new.
    assert "There is no new message for you." in await force.say(RESIDENT, "buka")


async def test_the_permission_matrix(force: TaskForce) -> None:
    reference = await acknowledged(force)
    # A stranger: refused, and the attempt is on the timeline without their chat id.
    assert "Not allowed" in await force.say(STRANGER, f"/balas {reference} hello")
    (refused,) = [e for e in await force.events(reference) if e.kind is EventKind.REFUSED]
    assert str(STRANGER) not in refused.actor
    # A member not on the case.
    assert "Only the member who has case" in await force.say(BUDI, f"/balas {reference} hi")
    # The coordinator may.
    assert "Sent to the reporter" in await force.say(CITRA, f"/balas {reference} From Citra")
    # Andi, removed, may no more.
    async with force.app.db.write() as session:
        andi = await members.get(session, force.members["Andi"].id or 0)
        assert andi is not None
        await members.remove(session, andi, force.clock())
    assert "Not allowed" in await force.say(ANDI, f"/balas {reference} hi")
    async with force.app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None and report.id is not None
        written = await relay.of_report(session, report.id)
    assert [m.text for m in written] == ["From Citra"]
    # The reporter's answer goes to whoever wrote last: Citra.
    await force.say(RESIDENT, "buka")
    await force.say(RESIDENT, "Thanks Citra")
    assert force.texts(CITRA)[-1].endswith("Thanks Citra")
    assert not any("Thanks Citra" in t for t in force.texts(ANDI))


async def test_an_anonymous_reporter_cannot_be_written_to(force: TaskForce) -> None:
    reference = await acknowledged(force, (*ENGLISH_REPORT, *DETAILS))
    buttons = (
        [b["text"] for row in force.fake.keyboards(ANDI)[-1][1] for b in row]
        if (force.fake.keyboards(ANDI))
        else []
    )
    assert "Reply to reporter" not in buttons
    answer = await force.say(ANDI, f"/balas {reference} hello")
    assert f"The reporter of {reference} did not agree to be contacted" in answer
    await force.deliver()
    assert NOTICE not in force.texts(RESIDENT)


async def test_the_reporter_stops_replies(force: TaskForce) -> None:
    reference = await acknowledged(force)
    await force.say(ANDI, f"/balas {reference} first")
    await force.say(RESIDENT, "buka")
    assert "can no longer send you messages" in await force.say(RESIDENT, "berhenti balas")
    assert "has stopped replies" in await force.say(ANDI, f"/balas {reference} second")
    kinds = [e.kind for e in await force.events(reference)]
    assert EventKind.RELAY_STOPPED in kinds
    # A message now is no answer any more.
    await force.say(RESIDENT, "hello?")
    assert not any("hello?" in t for t in force.texts(ANDI))
    assert "no messages from the task force to stop" in await force.say(RESIDENT, "stop replies")


async def test_withdrawn_consent_hides_what_waits(force: TaskForce) -> None:
    reference = await acknowledged(force)
    await force.say(ANDI, f"/balas {reference} waiting")
    async with force.app.db.write() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None
        report.consent_contact = False
        session.add(report)
    assert "There is no new message for you." in await force.say(RESIDENT, "buka")
    assert "did not agree to be contacted" in await force.say(ANDI, f"/balas {reference} more")


async def test_batal_drops_the_message_and_words_are_part_of_it(force: TaskForce) -> None:
    reference = await acknowledged(force)
    assert "Write your message" in await force.say(ANDI, f"/balas {reference}")
    assert "nothing was sent" in await force.say(ANDI, "batal")
    await force.say(ANDI, f"/balas {reference}")
    # A command word inside the message is the message.
    assert "Sent to the reporter" in await force.say(ANDI, "status")
    async with force.app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None and report.id is not None
        (message,) = await relay.of_report(session, report.id)
    assert message.text == "status" and message.direction is RelayDirection.TO_REPORTER
    # "balas" from a resident with no reference is their own words, not a command.
    assert "Not allowed" not in await force.say(RESIDENT, "balas")
