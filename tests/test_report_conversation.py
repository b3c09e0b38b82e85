"""The report conversation, as transcripts, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlmodel import select

from bot.app import App
from handlers.conversation.messages import Attachment, Choice, Location, Press, Prompt
from storage import conversations, reports
from storage.models import Channel, Media, Priority, Report, Urgency
from tests.support.answers import (
    CONTACTABLE_TO_STORY,
    ENGLISH_REPORT,
    INDONESIAN_REPORT,
    START_IN_ENGLISH,
)
from tests.support.answers import ENGLISH_STORY as STORY
from tests.support.chat import Chat
from tests.support.clock import Clock

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"x" * 64


async def submitted(app: App) -> Report:
    async with app.db.read() as session:
        rows = (await session.exec(select(Report))).all()
    assert len(rows) == 1, rows
    return rows[0]


async def test_a_resident_reports_in_english_and_gets_a_reference(chat: Chat, app: App) -> None:
    await chat.dialog(ENGLISH_REPORT)
    assert "Bintan Timur" in chat.screen
    assert "+6281234567890" in chat.screen
    screen = await chat.send("1")
    reference = re.search(r"BTN-2026-\d{5}", screen)
    assert reference and reference[0] == "BTN-2026-00001"
    assert "No member of the task force can be reached right now" in screen  # none yet

    report = await submitted(app)
    assert report.reference == "BTN-2026-00001"
    assert report.anonymous and not report.consent_contact and report.contact_phone is None
    assert report.urgency is Urgency.NONE
    assert report.red_flags == ["upfront_fees", "unofficial_route"]
    assert report.priority is Priority.NORMAL
    assert report.destination == "Malaysia"
    assert report.area == "Bintan Timur"
    assert report.recruiter_name == "Pak Budi" and report.recruiter_agency is None
    assert report.story == STORY
    async with app.db.read() as session:
        assert report.id is not None
        assert await reports.recruiter_phones(session, report.id) == ["+6281234567890"]
        events = await reports.timeline(session, report.id)
    assert [e.kind for e in events] == ["submitted", "alerted"]
    assert events[0].actor == "reporter"


async def test_a_resident_reports_in_indonesian_by_default(chat: Chat, app: App) -> None:
    await chat.dialog([("halo", "Selamat datang"), *INDONESIAN_REPORT[:-1]])
    screen = await chat.send("1")
    assert "BTN-2026-00001" in screen
    assert "Terima kasih" in screen
    report = await submitted(app)
    assert report.language == "id"
    assert report.priority is Priority.NORMAL


async def test_the_whole_report_can_be_made_with_buttons(chat: Chat, app: App) -> None:
    await chat.send("bahasa en")
    await chat.send("report")
    await chat.press("task force may know who I am")
    await chat.press("Yes")  # may be contacted
    await chat.press("No")  # identity not shared with the police
    await chat.press("danger now")
    screen = chat.screen
    assert "110" in screen and "129" in screen, "emergency contacts are shown at once"
    await chat.press("Someone I know")
    await chat.press("don't know")
    await chat.press("Online job")
    await chat.press("Cambodia")
    await chat.press("Social media")
    await chat.press("Passport")
    screen = await chat.press("Told to lie")
    question = chat.question
    assert isinstance(question, Choice) and question.multiple
    assert question.selected == {"documents_held", "lie_to_officials"}
    assert "[x] Passport" in screen
    screen = await chat.send("status")  # asked again after the status: the toggles stay
    assert "[x] Passport" in screen
    await chat.press("Passport")  # toggled off again
    await chat.press("Done")
    for _ in range(4):
        await chat.press("Skip")
    await chat.send(STORY)
    await chat.send(media=[Attachment(PNG, "chat.png")])
    await chat.send(media=[Attachment(PDF, "contract.pdf")])
    assert "2 file(s) received" in chat.screen
    await chat.press("Done")
    await chat.send(location=Location(1.0587, 104.4845))
    question = chat.question
    assert isinstance(question, Prompt) and question.expects == "contact"
    await chat.send(contact="+62 811-1234-5678")
    assert "1.05870, 104.48450" in chat.screen
    await chat.press("Send the report")

    report = await submitted(app)
    assert report.priority is Priority.URGENT
    assert not report.anonymous and report.consent_contact and not report.consent_share_with_police
    assert report.contact_phone == "+6281112345678"
    assert report.red_flags == ["lie_to_officials"]
    assert (report.latitude, report.longitude) == (1.0587, 104.4845) and report.area is None
    async with app.db.read() as session:
        files = (await session.exec(select(Media))).all()
    assert {f.content_type for f in files} == {"image/png", "application/pdf"}
    assert all(f.report_id == report.id and f.conversation_id is None for f in files)
    assert all(app.services.media.path(f.sha256).read_bytes() in (PNG, PDF) for f in files)


async def test_the_number_the_channel_knows_is_offered_as_the_contact(app: App) -> None:
    chat = Chat(app, known_phone="+6281299998888")
    await chat.dialog(
        [
            *START_IN_ENGLISH,
            *CONTACTABLE_TO_STORY,
            (STORY, "photos, screenshots or documents"),
            ("done", "Where did this happen"),
        ]
    )
    screen = await chat.send("1")
    assert "This number: +6281299998888" in screen
    await chat.press("This number")
    await chat.send("1")
    report = await submitted(app)
    assert report.contact_phone == "+6281299998888"
    assert report.consent_share_with_police


async def test_a_stale_button_never_changes_an_answer(chat: Chat, app: App) -> None:
    await chat.send("bahasa en")
    await chat.send("report")
    old = chat.question
    await chat.send("1")  # anonymous; now at urgency
    current = chat.question
    screen = await chat.send(press=Press(old.seq, "contactable"))
    assert "This question has expired" in screen
    assert "Is any of these happening?" in screen
    assert chat.question.seq != old.seq and chat.question.text == current.text
    await chat.send("4")
    await chat.send("back")
    await chat.send("back")
    assert "Do you want to stay anonymous?" in chat.screen
    async with app.db.read() as session:
        conv = await conversations.find(session, Channel.CONSOLE, chat.sender)
    assert conv is not None and conv.data["privacy"] == "anonymous"


async def test_priority_is_urgent_when_someone_is_leaving_soon(chat: Chat, app: App) -> None:
    await chat.send("bahasa en")
    await chat.send("report")
    await chat.send("1")
    screen = await chat.send("2")
    assert "If someone is in danger, call now" in screen
    assert "SAPA" in screen


async def test_the_alert_goes_to_listeners_after_the_report_is_committed(
    chat: Chat, app: App
) -> None:
    seen: list[str] = []

    async def listener(report_id: int) -> None:
        async with app.db.read() as session:
            report = await reports.get(session, report_id)
            assert report is not None
            seen.append(report.reference)

    app.conversations.on_submit.append(listener)
    await chat.dialog(ENGLISH_REPORT)
    await chat.send("1")
    assert seen == ["BTN-2026-00001"]


async def test_references_count_up_per_year_in_the_local_time_zone(app: App, clock: Clock) -> None:
    # 31 Dec 2026 17:30 UTC is already 1 Jan 2027 in Jakarta.
    clock.now = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
    for sender in ("a", "b"):
        chat = Chat(app, sender=sender)
        await chat.dialog(ENGLISH_REPORT)
        await chat.send("1")
    async with app.db.read() as session:
        refs = sorted(r.reference for r in await reports.listing(session))
    assert refs == ["BTN-2027-00001", "BTN-2027-00002"]
