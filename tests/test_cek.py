"""CEK, a resident's check of an offer, as transcripts: every kind of input (a number written
oddly, an agency with "PT.", a link, a whole advert in Indonesian and in English, a
screenshot's caption, a photo alone), the four answers (confirmed dangerous, confirmed
cleared, known but unconfirmed, unknown: the last two identical), the rate limit, the stored
checks (no resident's identity), the coordinators' alert when many chats check one number,
and "Report it", which starts a report with the advert kept."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot import intel as intel_cli
from bot.app import App
from handlers.conversation.messages import Attachment
from handlers.conversation.text import Word, word
from handlers.residents.cek import ANSWER_MAX
from handlers.settings import CekSettings
from handlers.usecases import OPERATOR, Actor
from handlers.usecases import intel as usecase
from storage import conversations
from storage.models import (
    Channel,
    CheckAlert,
    Identifier,
    OfferCheck,
    OfferCheckIdentifier,
    Role,
    Verdict,
)
from tests.support.answers import DETAILS, ENGLISH_REPORT, Turns
from tests.support.chat import Chat
from tests.support.clock import Clock
from tests.support.task_force import CITRA, TaskForce

NUMBER = "+6281377771234"
DANGER = "this number has been confirmed by the task force as used in job scams"
NO_WARNING = "The task force has no confirmed warning about"

ADVERT_ID = """Lowongan kerja admin online di Kamboja!!
Gaji 15 juta/bulan, tidak perlu pengalaman, tiket & mess ditanggung.
Biaya proses 3 jt transfer ke rek BCA 1234567890 a.n. pribadi.
Hub WA 0813-7777-1234 (PT. Maju Jaya Abadi)"""
ADVERT_EN = """URGENT hiring: customer service staff in Cambodia, salary USD 1500/month, no
experience needed, free flight and accommodation. Only a passport and typing test.
Contact wa.me/6281377771234 or https://www.facebook.com/LokerJohor/?ref=share"""


def with_recruiter(answer: str) -> Turns:
    turns = [(answer if s.startswith("Pak Budi") else s, e) for s, e in ENGLISH_REPORT]
    return [*turns, *DETAILS]


async def case(force: TaskForce, recruiter: str = "Pak Rudi, 0813-7777-1234") -> str:
    return await force.report("7001", with_recruiter(recruiter))


async def mark(
    force: TaskForce, value: str, verdict: Verdict, reference: str, by: Actor = OPERATOR
) -> None:
    async with force.app.services.work() as work:
        await usecase.mark(work, by, value, verdict, reference)


async def english(app: App, sender: str) -> Chat:
    chat = Chat(app, sender=sender)
    await chat.send("bahasa en")
    return chat


# The word.


def test_cek_is_the_check_and_status_stays_status() -> None:
    assert word("cek") == (Word.CEK, "")
    assert word("/cek 0812 3456 7890") == (Word.CEK, "0812 3456 7890")
    assert word("check PT Maju Jaya") == (Word.CEK, "PT Maju Jaya")
    assert word("CEK\nLowongan kerja") == (Word.CEK, "Lowongan kerja")  # a forwarded advert
    assert word("status") == (Word.STATUS, "")
    assert word("cek status") == (Word.STATUS, "")


# Every kind of input.


@pytest.mark.parametrize(
    "written",
    [
        "0813.7777.1234",
        "(0813) 7777-1234",
        "+62 813 7777 1234",
        "6281377771234",
        "wa.me/6281377771234",
        "0813 - 7777 - 1234",
    ],
)
async def test_a_number_in_odd_formats_finds_the_confirmed_warning(
    force: TaskForce, written: str
) -> None:
    await mark(force, "0813-7777-1234", Verdict.DANGEROUS, await case(force))
    chat = await english(force.app, "5101")
    screen = await chat.send(f"cek {written}")
    assert f"⚠️ {NUMBER}: {DANGER}" in screen
    assert "Do not pay them" in screen
    assert "aduannomor.id" in screen and "(Type LAPOR to report it.)" in screen


async def test_an_agency_name_with_pt_and_written_another_way(force: TaskForce) -> None:
    await mark(force, "PT Maju Jaya Abadi", Verdict.DANGEROUS, await case(force))
    chat = await english(force.app, "5102")
    for written in ["PT. Maju Jaya Abadi", "pt maju jaya abadii", "Maju Jaya Abadi Sdn Bhd"]:
        screen = await chat.send(f"cek {written}")
        assert "this agency has been confirmed by the task force" in screen, written
        assert "siskop2mi.bp2mi.go.id" in screen
    # A word missing is another company (identifiers.py's threshold): nothing confirmed.
    assert NO_WARNING in await chat.send("cek PT Maju Jaya")


async def test_a_link_is_checked_by_its_host_and_path(force: TaskForce) -> None:
    await mark(force, "facebook.com/lokerjohor", Verdict.DANGEROUS, await case(force))
    chat = await english(force.app, "5103")
    screen = await chat.send("cek https://www.Facebook.com/LokerJohor/?ref=x")
    assert "this link has been confirmed by the task force as used in job scams" in screen


async def test_a_whole_advert_in_indonesian_is_answered_in_one_message(app: App) -> None:
    chat = Chat(app, sender="5104")
    await chat.send("cek")
    screen = await chat.send(ADVERT_ID)
    assert len(chat.replies) == 1, screen  # one message
    for shown in ["PT Maju Jaya Abadi", NUMBER, "BCA 1234567890"]:
        assert shown in screen
    assert "Kamboja" in screen  # the heaviest sign, explained in Indonesian
    assert "siskop2mi.bp2mi.go.id" in screen and "cekrekening.id" in screen
    assert "0800-1000" in screen  # the KP2MI call centre from the config
    assert "Tanda bahaya dalam tawaran ini:" in screen and "The task force" not in screen
    text = chat.replies[0].text  # type: ignore[union-attr]
    assert len(text) <= ANSWER_MAX
    assert "ketuk" not in screen.lower() and "tap" not in screen.lower()


async def test_a_whole_advert_in_english_with_cek_on_the_line_before(app: App) -> None:
    chat = await english(app, "5105")
    screen = await chat.send("check\n" + ADVERT_EN)
    assert len(chat.replies) == 1
    assert f"{NO_WARNING} {NUMBER}, facebook.com/LokerJohor" in screen or NO_WARNING in screen
    assert "Warning signs in this offer:" in screen
    assert "Indonesia permits no placement of migrant workers in Cambodia" in screen
    assert "Report it to the task force" in screen


async def test_a_screenshot_with_a_caption_is_checked_and_a_photo_alone_asks_for_text(
    app: App,
) -> None:
    chat = await english(app, "5106")
    picture = Attachment(b"\x89PNG fake", "advert.png")
    screen = await chat.send("cek Hub 0813 7777 1234 kerja di Johor", media=[picture])
    assert f"{NO_WARNING} {NUMBER}" in screen
    screen = await chat.send(media=[picture])  # no caption
    assert "I cannot read pictures. Please send the text of the advert" in screen
    await chat.send("batal")
    await chat.send("cek")
    assert "I cannot read pictures" in await chat.send(media=[picture])


async def test_cek_alone_asks_and_batal_closes_it(app: App) -> None:
    chat = await english(app, "5107")
    assert "Send me the phone number, the agency's name" in await chat.send("cek")
    screen = await chat.send("batal")
    assert "The check is closed." in screen and "What would you like to do?" in screen
    async with app.db.read() as session:
        assert (await session.exec(select(OfferCheck))).all() == []  # nothing checked


async def test_the_menu_has_the_check(app: App) -> None:
    chat = await english(app, "5108")
    await chat.send("menu")
    screen = await chat.press("Check a job offer before you go")
    assert "Send me the phone number" in screen
    assert "0813 7777 1234" not in screen
    screen = await chat.send("0813 7777 1234")
    assert f"{NO_WARNING} {NUMBER}" in screen


async def test_nothing_found_still_says_where_to_check(app: App) -> None:
    chat = await english(app, "5109")
    screen = await chat.send("cek is this job real?")
    assert "I found no phone number, account, agency name or link" in screen
    assert "siskop2mi.bp2mi.go.id" in screen


# The four answers, and what never leaks.


async def test_confirmed_dangerous_cleared_unconfirmed_and_unknown(force: TaskForce) -> None:
    reference = await case(force, "Pak Rudi, 0813-7777-1234, PT Sinar Harapan Bangsa")
    citra = await force.add("Citra", CITRA, Role.COORDINATOR)
    andi = await force.add("Andi", 9001)
    await mark(force, "0813-7777-1234", Verdict.DANGEROUS, reference, citra)
    await mark(force, "PT Sinar Harapan Bangsa", Verdict.CLEARED, reference, citra)
    await mark(force, "0857 1122 3344", Verdict.DANGEROUS, reference, andi)  # not confirmed
    chat = await english(force.app, "5110")
    screen = await chat.send("cek 0813-7777-1234, PT Sinar Harapan Bangsa, 0857 1122 3344")
    assert f"⚠️ {NUMBER}: {DANGER}" in screen
    assert "✅ PT Sinar Harapan Bangsa: confirmed by the task force as a registered agency" in (
        screen
    )
    assert "scammers use the names of real agencies" in screen
    assert f"{NO_WARNING} +6285711223344." in screen  # the pending mark is not said
    # Cleared later, and confirmed: the latest confirmed verdict wins.
    await mark(force, "0813-7777-1234", Verdict.CLEARED, reference, citra)
    screen = await chat.send("cek 0813-7777-1234")
    assert "✅ +6281377771234: confirmed by the task force as belonging to a registered agency" in (
        screen
    )


async def test_a_number_in_many_reports_without_a_confirmed_mark_is_answered_as_unknown(
    force: TaskForce,
) -> None:
    references = [
        await force.report(f"70{n}", with_recruiter("Pak Rudi, 0813-7777-1234")) for n in range(3)
    ]
    andi = await force.add("Andi", 9001)
    await mark(force, "0813-7777-1234", Verdict.DANGEROUS, references[0], andi)  # pending
    chat = await english(force.app, "5111")

    async def answer(text: str, number: str) -> str:
        await chat.send(text)
        return chat.replies[-1].text.replace(number, "NUMBER")  # type: ignore[union-attr]

    known = await answer("cek 0813-7777-1234", NUMBER)
    unknown = await answer("cek 0899-1234-5678", "+6289912345678")
    assert known == unknown
    advert = "Kerja di Johor gaji 8 juta, hubungi {} segera, tiket gratis"
    assert await answer(advert.format("0813-7777-1234"), NUMBER) == await answer(
        advert.format("0899-1234-5678"), "+6289912345678"
    )
    for leak in ["report", "laporan", "BTN-", "3", "Andi", "pending", "mark"]:
        assert leak not in known.replace("Report it to the task force", ""), leak


# The rate limit.


async def test_the_rate_limit_is_per_chat_and_kind(app: App, clock: Clock) -> None:
    app.services.cek = CekSettings(per_hour=3)
    chat = await english(app, "5112")
    for n in range(3):
        assert NO_WARNING in await chat.send(f"cek 0813 7777 12{n}0")
    refused = await chat.send("cek 0813 7777 1299")
    assert "You have checked many offers in the last hour. Please try again later" in refused
    assert "+6281377771299" not in refused  # not looked up
    other = await english(app, "5113")  # another chat is not limited
    assert NO_WARNING in await other.send("cek 0813 7777 1299")
    clock.advance(minutes=61)
    assert NO_WARNING in await chat.send("cek 0813 7777 1299")
    async with app.db.read() as session:
        assert len((await session.exec(select(OfferCheck))).all()) == 5  # the refusal is none


# What is stored, and the coordinators' alert.


async def test_every_check_is_stored_without_the_residents_identity(app: App) -> None:
    first = await english(app, "628111222333")
    await first.send("cek 0813-7777-1234 PT Maju Jaya Abadi")
    await first.send("cek 0813 7777 1234")
    await (await english(app, "628444555666")).send("cek wa.me/6281377771234")
    async with app.db.read() as session:
        stored = (await session.exec(select(OfferCheck))).all()
        links = (await session.exec(select(OfferCheckIdentifier))).all()
        identifiers = {i.id: i for i in (await session.exec(select(Identifier))).all()}
    assert [c.identifiers for c in stored] == [2, 1, 1]
    assert len({c.chat for c in stored}) == 2 and all(len(c.chat) == 64 for c in stored)
    for row in [*stored, *links]:
        dumped = str(row.model_dump())
        assert "628111222333" not in dumped and "628444555666" not in dumped
    assert {identifiers[link.identifier_id].value for link in links} == {
        NUMBER,
        "maju jaya abadi",
    }
    shown = await intel_cli.show(app, "0813 7777 1234")
    assert "checked by residents in the last 7 days: 3 time(s), from 2 chat(s)" in shown
    listing = await intel_cli.checked(app, 7)
    assert listing.splitlines()[1].split()[:4] == [NUMBER, "phone", "3", "2"]
    assert "628111222333" not in listing + shown


async def test_many_chats_checking_one_number_alert_the_coordinators_once_a_week(
    force: TaskForce, clock: Clock
) -> None:
    force.app.services.cek = CekSettings(alert_after_chats=3)
    await force.add("Citra", CITRA, Role.COORDINATOR)
    await force.add("Andi", 9001)

    async def checks(*senders: str) -> None:
        for sender in senders:
            await Chat(force.app, sender=sender).send("cek 0813 7777 1234")
        await force.deliver()

    await checks("6001", "6001", "6002")  # two chats
    assert not any("Residents are checking" in t for t in force.texts(CITRA))
    await checks("6003")
    alerts = [t for t in force.texts(CITRA) if "Residents are checking" in t]
    assert alerts == [
        f"Residents are checking {NUMBER} (phone): 3 different chats in the last 7 "
        f"days. Who they are is not kept. /intel {NUMBER} shows what is known of it."
    ]
    assert force.texts(9001) == []  # members are not told, coordinators are
    await checks("6004", "6005")
    assert len([t for t in force.texts(CITRA) if "Residents are checking" in t]) == 1
    clock.advance(days=8)
    await checks("6006", "6007", "6008")
    assert len([t for t in force.texts(CITRA) if "Residents are checking" in t]) == 2
    async with force.app.db.read() as session:
        assert [a.chats for a in (await session.exec(select(CheckAlert))).all()] == [3, 3]


# Report it.


async def test_report_it_on_telegram_starts_a_report_with_the_advert_kept(
    force: TaskForce,
) -> None:
    resident = 5120
    await force.say(resident, "check " + ADVERT_EN)
    started = await force.press(resident, "Report it")
    assert "Thank you for telling us. I have kept what you wrote." in started
    assert "is any of these happening?" in started
    async with force.app.db.read() as session:
        conv = await conversations.find(session, Channel.TELEGRAM, str(resident))
    assert conv is not None and conv.flow == "report"
    assert conv.data["opening"] == ADVERT_EN


async def test_lapor_typed_under_the_answer_keeps_the_advert_too(app: App) -> None:
    chat = await english(app, "5121")
    await chat.send("cek " + ADVERT_EN)
    screen = await chat.send("LAPOR")
    assert "I have kept what you wrote" in screen
    async with app.db.read() as session:
        conv = await conversations.find(session, Channel.CONSOLE, "5121")
    assert conv is not None and conv.data["opening"] == ADVERT_EN
    # Elsewhere LAPOR starts an empty report, as before.
    other = await english(app, "5122")
    assert "I have kept" not in await other.send("LAPOR")


async def test_the_answer_stays_short_with_everything_in_it(force: TaskForce) -> None:
    reference = await case(force)
    for value in ["0813-7777-1234", "PT Maju Jaya Abadi", "rek BCA 1234567890"]:
        await mark(force, value, Verdict.DANGEROUS, reference)
    chat = Chat(force.app, sender="5123")
    await chat.send("bahasa id")
    await chat.send("cek\n" + ADVERT_ID + "\npaspor ditahan, berangkat lewat pelabuhan tikus")
    text = chat.replies[-1].text  # type: ignore[union-attr]
    assert len(text) <= ANSWER_MAX, len(text)
    assert text.count("⚠️") == 3 and "siskop2mi" in text
