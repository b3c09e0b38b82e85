"""The report conversation, as transcripts, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlmodel import select

from bot.app import App
from handlers.conversation.messages import Attachment, Choice, Location, Press
from storage import conversations, reports
from storage.models import Channel, Media, OfferKind, OfferSource, Priority, Report, Urgency
from tests.support.answers import (
    ANONYMOUS_TO_STORY,
    CONTACTABLE_TO_STORY,
    DETAILS,
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
    await chat.dialog([*ENGLISH_REPORT, *DETAILS])
    assert "Bintan Timur" in chat.screen
    assert "+6281234567890" in chat.screen and "Pak Budi" in chat.screen
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
    assert report.recruiter_link == "https://facebook.com/lowongan.malaysia"
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


async def test_a_complete_anonymous_report_takes_ten_answers(chat: Chat, app: App) -> None:
    await chat.dialog(START_IN_ENGLISH)
    answers = ["4", "1", "1", "2", "1", "1", "0", "skip", STORY, "1"]
    for answer in answers:
        await chat.send(answer)
    assert "Your reference number: BTN-2026-00001" in chat.screen
    report = await submitted(app)
    assert report.story == STORY and report.red_flags == []
    assert report.offer_source is OfferSource.UNKNOWN and report.area is None
    assert len(answers) == 10


async def test_what_identifies_the_recruiter_comes_in_one_question_and_is_sorted_out(
    chat: Chat, app: App
) -> None:
    await chat.dialog([*START_IN_ENGLISH, *ANONYMOUS_TO_STORY[:-1]])
    screen = await chat.send("Bu Rina from PT Sinar Jaya Abadi, wa 0812 3456 7890")
    assert "Phone numbers: +6281234567890" in screen
    assert "Agency or company: PT Sinar Jaya Abadi" in screen
    assert "Other: Bu Rina from" in screen
    screen = await chat.send("ig @lowongan_sg, transfer to BRI 1234 5678 9012 3")
    assert "Links and accounts: @lowongan_sg" in screen
    assert "Bank or e-wallet accounts: BRI 1234567890123" in screen
    assert "+6281234567890" in screen, "what came before stays"
    await chat.send("done")
    await chat.send(STORY)
    assert "PT Sinar Jaya Abadi" in chat.screen and "@lowongan_sg" in chat.screen
    await chat.send("1")
    report = await submitted(app)
    assert report.recruiter_agency == "PT Sinar Jaya Abadi"
    assert report.recruiter_link == "@lowongan_sg, BRI 1234567890123"
    assert report.recruiter_name is not None and "Bu Rina" in report.recruiter_name


async def test_an_urgent_report_alerts_after_four_answers_then_the_rest_is_added(
    chat: Chat, app: App
) -> None:
    await chat.send("bahasa en")
    await chat.send("report")
    await chat.press("danger now")
    screen = chat.screen
    assert "110" in screen and "129" in screen, "emergency contacts are shown at once"
    await chat.send(location=Location(1.0587, 104.4845))
    await chat.press("Someone I know")
    assert "What is happening now?" in chat.screen
    screen = await chat.send(
        "My cousin is locked in a house in Tanjung Uban, the agent took her phone"
    )
    assert "Your reference number: BTN-2026-00001" in screen
    report = await submitted(app)  # four answers: urgency, place, who, what is happening
    assert report.priority is Priority.URGENT and report.urgency is Urgency.DANGER_NOW
    assert (report.latitude, report.longitude) == (1.0587, 104.4845)
    assert report.offer_kind is OfferKind.UNKNOWN and report.anonymous

    assert "answer a few more questions" in screen
    await chat.press("Yes, they may contact me")
    await chat.send("0")  # the number given to no agency
    await chat.send(contact="+62 811-1234-5678")
    await chat.press("don't know")
    await chat.press("Online job")
    await chat.press("Cambodia")
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
    await chat.press("Skip")  # the recruiter
    await chat.press("Social media")
    await chat.send(media=[Attachment(PNG, "chat.png")])
    await chat.send(media=[Attachment(PDF, "contract.pdf")])
    screen = await chat.press("Done")
    assert "The task force has everything you told us" in screen

    report = await submitted(app)
    assert not report.anonymous and report.consent_contact and not report.consent_share_with_police
    assert report.consent_share_with == []
    assert report.contact_phone == "+6281112345678"
    assert report.red_flags == ["lie_to_officials"]
    assert report.offer_kind is OfferKind.ONLINE_JOB and report.destination == "Kamboja"
    async with app.db.read() as session:
        files = (await session.exec(select(Media))).all()
        assert report.id is not None
        added = [e.kind for e in await reports.timeline(session, report.id)]
    assert {f.content_type for f in files} == {"image/png", "application/pdf"}
    assert all(f.report_id == report.id and f.conversation_id is None for f in files)
    assert all([await app.services.media.read(f.sha256) in (PNG, PDF) for f in files])
    assert added.count("addition") >= 9, added


async def test_a_first_message_in_ones_own_words_opens_a_report_with_it(
    chat: Chat, app: App
) -> None:
    opening = "ada yg nawarin kerja di kapal ikan taiwan gaji 15jt tp suruh bayar 3jt dulu"
    screen = await chat.send(opening)
    assert "Terima kasih sudah bercerita" in screen
    assert "apakah salah satu dari ini sedang terjadi?" in screen
    for answer in ["4", "1", "1", "2", "2", "7", "selesai", "lewati"]:
        await chat.send(answer)
    assert opening in chat.screen and "Ada yang mau ditambahkan" in chat.screen
    screen = await chat.send("lewati")
    assert opening in screen and "Mohon periksa laporan Anda" in screen
    await chat.send("1")
    assert (await submitted(app)).story == opening


async def test_words_of_danger_show_the_emergency_contacts_first_and_alert_after_two_answers(
    chat: Chat, app: App
) -> None:
    opening = "tolong, paspor adik saya ditahan agen di Malaysia, dia tidak bisa pulang"
    screen = await chat.send(opening)
    assert screen.strip().startswith("Jika ada orang dalam bahaya"), screen
    assert "110" in screen
    await chat.send("11")  # outside Bintan
    screen = await chat.send("2")  # family
    assert "Nomor laporan Anda: BTN-2026-00001" in screen
    report = await submitted(app)
    assert report.priority is Priority.URGENT and report.story == opening


async def test_the_number_the_channel_knows_is_offered_as_the_contact(app: App) -> None:
    chat = Chat(app, known_phone="+6281299998888")
    await chat.dialog([*START_IN_ENGLISH, *CONTACTABLE_TO_STORY[:2]])
    screen = await chat.send("1")
    assert "This number: +6281299998888" in screen
    await chat.press("This number")
    await chat.dialog([*ANONYMOUS_TO_STORY[2:], (STORY, "Please check your report")])
    await chat.send("1")
    report = await submitted(app)
    assert report.contact_phone == "+6281299998888"
    assert report.consent_share_with_police
    assert report.consent_share_with == ["police"]


async def test_a_stale_button_never_changes_an_answer(chat: Chat, app: App) -> None:
    await chat.send("bahasa en")
    await chat.send("report")
    old = chat.question
    await chat.send("4")  # nothing urgent; now at the privacy question
    current = chat.question
    screen = await chat.send(press=Press(old.seq, "danger_now"))
    assert "This question has expired" in screen
    assert "May they contact you" in screen
    assert chat.question.seq != old.seq and chat.question.text == current.text
    await chat.send("1")
    await chat.send("back")
    await chat.send("back")
    assert "is any of these happening?" in chat.screen
    async with app.db.read() as session:
        conv = await conversations.find(session, Channel.CONSOLE, chat.sender)
    assert conv is not None and conv.data["urgency"] == "none"


async def test_becoming_urgent_from_the_summary_asks_what_is_missing_then_shows_it(
    chat: Chat, app: App
) -> None:
    await chat.dialog(ENGLISH_REPORT)
    await chat.send("3")  # change an answer
    await chat.press("Urgency")
    await chat.send("2")  # leaving within 48 hours
    assert "Where did this happen" in chat.screen  # the urgent path needs the place
    screen = await chat.send("1")
    assert "Please check your report" in screen and "Bintan Utara" in screen
    await chat.send("1")
    assert (await submitted(app)).priority is Priority.URGENT


async def test_someone_abroad_gets_the_numbers_that_work_from_there(chat: Chat) -> None:
    await chat.send("bahasa en")
    await chat.send("report")
    screen = await chat.send("3")  # already abroad and needs help
    assert "If someone is in danger, call now:" in screen and "110" in screen
    assert "From abroad:" in screen and "KBRI" in screen


async def test_priority_is_urgent_when_someone_is_leaving_soon(chat: Chat, app: App) -> None:
    await chat.send("bahasa en")
    await chat.send("report")
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
