"""Cancel, back, changing an answer, expiry, restarts, status, additions and language."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.app import App, build
from bot.config import Settings
from handlers.conversation.messages import Attachment
from storage import reports
from storage.models import Addition, Media, Report
from tests.support.answers import DETAILS, ENGLISH_REPORT
from tests.support.chat import Chat
from tests.support.clock import Clock

STORY = "They promised a factory job in Johor but want us to go by speedboat at night."


async def send_report(chat: Chat) -> str:
    await chat.dialog(ENGLISH_REPORT)
    screen = await chat.send("1")
    assert "Your reference number" in screen
    return screen.split("Your reference number: ")[1].split()[0]


async def test_cancel_works_at_every_step_and_forgets_the_draft(chat: Chat, app: App) -> None:
    for steps in range(2, len(ENGLISH_REPORT) + 1):
        await chat.dialog(ENGLISH_REPORT[:steps])
        screen = await chat.send("batal")
        answers = steps - 2  # after "bahasa en" and "lapor"
        if answers > 3:  # asked once first, the question waiting
            answers -= steps > 10  # the recruiter's Done ends an answer, it is not one
            assert f"Cancel this report? Your {answers} answers will be deleted." in screen
            assert ENGLISH_REPORT[steps - 1][1] in screen
            screen = await chat.send("batal")
        assert "Your report was cancelled and nothing was sent." in screen
        assert "What would you like to do?" in screen
    async with app.db.read() as session:
        assert (await session.exec(select(Report))).all() == []


async def test_an_answer_after_the_first_batal_goes_on_with_the_report(chat: Chat) -> None:
    await chat.dialog(ENGLISH_REPORT[:8])
    assert "Cancel this report? Your 6 answers will be deleted." in await chat.send("batal")
    await chat.dialog(ENGLISH_REPORT[8:10])  # answered: the draft goes on
    assert "Cancel this report? Your 8 answers" in await chat.send("batal")


async def test_cancelling_the_language_picker_keeps_the_draft(chat: Chat, app: App) -> None:
    await chat.dialog(ENGLISH_REPORT[:6])  # at "What kind of job or offer is it?"
    assert "Choose your language:" in await chat.send("bahasa")
    screen = await chat.send("batal")
    assert "Cancelled." in screen and "What kind of job or offer is it?" in screen
    await chat.dialog(ENGLISH_REPORT[6:])
    assert "Your reference number" in await chat.send("1")


async def test_cancel_deletes_the_draft_evidence(chat: Chat, app: App) -> None:
    await chat.dialog(ENGLISH_REPORT)
    await chat.send(media=[Attachment(b"%PDF-1.7 contract", "contract.pdf")])
    async with app.db.read() as session:
        (media,) = (await session.exec(select(Media))).all()
    path = app.services.media.path(media.sha256)
    assert path.exists()
    assert "Send BATAL again" in await chat.send("cancel")
    assert path.exists()  # asked first: nothing is deleted yet
    await chat.send("cancel")
    assert not path.exists()
    async with app.db.read() as session:
        assert (await session.exec(select(Media))).all() == []


async def test_back_returns_to_the_previous_question_with_the_answer_kept(chat: Chat) -> None:
    await chat.dialog(ENGLISH_REPORT[:5])  # at "Is a child involved?"
    screen = await chat.send("kembali")
    assert "Who received this offer" in screen
    screen = await chat.send("back")
    assert "May they contact you" in screen
    await chat.send("1")
    screen = await chat.send("3")  # a different answer replaces the kept one
    assert "Is a child (under 18) involved?" in screen


async def test_back_on_the_first_question_says_so(chat: Chat) -> None:
    await chat.dialog(ENGLISH_REPORT[:2])
    screen = await chat.send("back")
    assert "This is the first question." in screen
    assert "is any of these happening?" in screen


async def test_an_answer_is_changed_from_the_summary(chat: Chat, app: App) -> None:
    await chat.dialog([*ENGLISH_REPORT, *DETAILS])
    await chat.send("2")  # change an answer
    screen = await chat.press("Where")
    assert "Where did this happen" in screen
    screen = await chat.send("4")
    assert "Please check your report" in screen and "Gunung Kijang" in screen
    await chat.send("1")
    async with app.db.read() as session:
        (report,) = (await session.exec(select(Report))).all()
    assert report.area == "Gunung Kijang"


async def test_becoming_contactable_from_the_summary_asks_the_new_questions(chat: Chat) -> None:
    await chat.dialog(ENGLISH_REPORT)
    await chat.send("3")
    await chat.press("The task force may contact you")
    screen = await chat.send("2")
    assert "Who may the task force give your number to" in screen
    await chat.send("2")
    assert "Which phone number can the task force contact you on?" in chat.screen
    screen = await chat.send("0811 7000 123")
    assert "Please check your report" in screen and "+628117000123" in screen


async def test_a_draft_left_too_long_expires_and_the_resident_is_told_once(
    chat: Chat, app: App, clock: Clock
) -> None:
    await chat.dialog(ENGLISH_REPORT[:6])
    clock.advance(hours=25)
    screen = await chat.send("1")
    assert "Your unfinished report was left for too long and has been deleted" in screen
    assert "What would you like to do?" in screen
    screen = await chat.send("1")
    assert "left for too long" not in screen
    assert "is any of these happening?" in screen


async def test_a_draft_under_the_expiry_continues(chat: Chat, clock: Clock) -> None:
    await chat.dialog(ENGLISH_REPORT[:6])
    clock.advance(hours=23)
    assert "Where is the job supposed to be?" in await chat.send("1")


async def test_a_restart_continues_the_conversation_where_it_stood(
    settings: Settings, clock: Clock
) -> None:
    first = await build(settings, clock=clock)
    await Chat(first).dialog(ENGLISH_REPORT[:8])
    await first.close()

    second = await build(settings, clock=clock)  # a new process on the same database
    chat = Chat(second)
    screen = await chat.send("start")
    assert "You have an unfinished report" in screen
    assert "Which of these happened?" in screen
    await chat.dialog(ENGLISH_REPORT[8:])
    assert "Your reference number: BTN-2026-00001" in await chat.send("1")
    await second.close()


async def test_status_shows_only_the_residents_own_reports(app: App) -> None:
    alice, bob = Chat(app, sender="alice"), Chat(app, sender="bob")
    reference = await send_report(alice)
    await send_report(bob)
    screen = await alice.send("status")
    assert reference in screen and "received, waiting for the task force" in screen
    assert "BTN-2026-00002" not in screen
    carol = Chat(app, sender="carol")
    await carol.send("bahasa en")
    assert "You have not sent any report from this chat." in await carol.send("status")


async def test_status_in_the_middle_of_a_report_comes_back_to_the_question(chat: Chat) -> None:
    await chat.dialog(ENGLISH_REPORT[:4])
    screen = await chat.send("status")
    assert "You have not sent any report" in screen
    assert "Who received this offer" in screen


async def test_a_resident_adds_information_and_evidence_to_their_report(
    chat: Chat, app: App
) -> None:
    reference = await send_report(chat)
    screen = await chat.send(f"tambah {reference.lower()}")
    assert f"What would you like to add to {reference}?" in screen
    screen = await chat.send("The recruiter now says the boat leaves on Friday from Tanjung Uban.")
    assert f"Added to {reference}." in screen
    await chat.send(media=[Attachment(b"\x89PNG\r\n\x1a\n ticket", "ticket.png")])
    screen = await chat.send("done")
    assert f"The task force will see what you added to {reference}." in screen
    async with app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None and report.id is not None
        additions = (await session.exec(select(Addition))).all()
        events = await reports.timeline(session, report.id)
        files = await reports.media_of(session, report.id)
    assert [a.text for a in additions] == [
        "The recruiter now says the boat leaves on Friday from Tanjung Uban.",
        None,
    ]
    assert [e.kind for e in events] == ["submitted", "alerted", "addition", "addition"]
    assert [f.original_name for f in files] == ["ticket.png"]


async def test_adding_to_someone_elses_report_is_refused_without_saying_it_exists(
    app: App,
) -> None:
    alice, mallory = Chat(app, sender="alice"), Chat(app, sender="mallory")
    reference = await send_report(alice)
    await send_report(mallory)
    screen = await mallory.send(f"add {reference}")
    assert f"I found no report {reference} among the reports sent from this chat." in screen
    screen = await mallory.send("BTN-2026-99999")
    assert "I found no report BTN-2026-99999" in screen
    async with app.db.read() as session:
        assert (await session.exec(select(Addition))).all() == []


async def test_add_without_a_reference_picks_among_the_residents_reports(chat: Chat) -> None:
    first = await send_report(chat)
    second = await send_report(chat)
    screen = await chat.send("add")
    assert "Which report do you want to add information to?" in screen
    assert first in screen and second in screen
    screen = await chat.press(first)
    assert f"What would you like to add to {first}?" in screen


async def test_the_language_can_change_in_the_middle_of_a_report(chat: Chat) -> None:
    await chat.dialog(ENGLISH_REPORT[:4])
    screen = await chat.send("bahasa")
    assert "Choose your language:" in screen
    screen = await chat.send("1")
    assert "Who received this offer" not in screen  # asked again, in Indonesian
    screen = await chat.send("language en")
    assert "Language: English." in screen and "Who received this offer" in screen


async def test_the_client_language_is_the_default_for_a_new_conversation(app: App) -> None:
    from handlers.conversation.messages import Inbound
    from storage.models import Channel

    outcome = await app.conversations.handle(
        Inbound(Channel.CONSOLE, "tourist", text="hello", language_hint="en-GB")
    )
    assert "Welcome to Sigap" in "\n".join(getattr(r, "text", "") for r in outcome.replies)


async def test_many_residents_at_once_get_distinct_references(app: App) -> None:
    chats = [Chat(app, sender=f"resident-{i}") for i in range(8)]
    await asyncio.gather(*(c.dialog(ENGLISH_REPORT) for c in chats))
    await asyncio.gather(*(c.send("1") for c in chats))
    async with app.db.read() as session:
        refs = sorted(r.reference for r in await reports.listing(session))
    assert refs == [f"BTN-2026-{n:05d}" for n in range(1, 9)]


async def test_help_lists_the_emergency_contacts(chat: Chat) -> None:
    await chat.send("bahasa en")
    screen = await chat.send("help")
    assert "110" in screen and "0800-1000" in screen and "08111-129-129" in screen
