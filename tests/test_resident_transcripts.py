"""Residents as they really write (typos, no punctuation, Indonesian, English and Malay mixed,
emoji, run-on voice-note text, numbers as words, thanks in the middle), on SQLite and
PostgreSQL. Each transcript checks that nothing they said is lost (the stored report, or the
draft) and that every answer of the bot is the one that makes sense next."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.app import App
from storage import conversations, reports
from storage.models import Channel, Priority, Report, Urgency
from tests.support.chat import Chat

EMERGENCY = "Jika ada orang dalam bahaya, segera hubungi:"
URGENCY_QUESTION = "apakah salah satu dari ini sedang terjadi?"
ADDED_TO_STORY = "Sudah saya tambahkan ke cerita Anda."


async def stored(app: App) -> Report:
    async with app.db.read() as session:
        rows = (await session.exec(select(Report))).all()
    assert len(rows) == 1, rows
    return rows[0]


async def phones_of(app: App, report: Report) -> list[str]:
    assert report.id is not None
    async with app.db.read() as session:
        return await reports.recruiter_phones(session, report.id)


async def draft(app: App, chat: Chat) -> dict[str, Any]:
    async with app.db.read() as session:
        conv = await conversations.find(session, Channel.CONSOLE, chat.sender)
    assert conv is not None
    return conv.data


def everything(report: Report) -> str:
    """All the free text a report keeps, for "is this word still there"."""
    parts = [report.story, report.recruiter_name, report.recruiter_agency, report.recruiter_link]
    return "\n".join(p for p in parts if p)


async def test_a_story_in_several_messages_with_thanks_in_between_loses_nothing(
    chat: Chat, app: App
) -> None:
    opening = (
        "ada yg nawarin kerja di johor gaji 8jt tp disuruh bayar dulu 3 juta, agennya "
        "bilang berangkat lewat pelabuhan tikus 😟"
    )
    more = "Tambah lagi dia minta uang 2 juta buat medical"
    await chat.dialog(
        [
            ("halo min", "Selamat datang"),
            (opening, "Terima kasih sudah bercerita"),
            (more, ADDED_TO_STORY),  # a second message, not a wrong answer
            ("4", "Bolehkah mereka menghubungi Anda"),
            ("makasih kak", "Sama-sama"),
        ]
    )
    assert "Bolehkah mereka menghubungi Anda" in chat.screen, "the question stands"
    await chat.dialog(
        [
            ("1", "Siapa yang menerima tawaran ini"),
            ("2", "Apakah ada anak"),
            ("tidak", "Apa jenis pekerjaan"),
            ("1", "Katanya tempat kerjanya di mana?"),
            ("1", "Mana saja yang terjadi?"),
            ("1 3", "mengenali perekrutnya"),
            (
                "namanya pak anton dari PT Maju Jaya Sentosa, wa nya 0812 3456 7890",
                "+6281234567890",
            ),
            ("terus ada nomor lain +60 12-345 6789 sama wa.me/6281399990000", "+60123456789"),
            ("ig nya @loker_johor_resmi, suruh transfer ke rek BRI 1234567890", "BRI 1234567890"),
            ("selesai", "Anda menulis"),
        ]
    )
    assert opening in chat.screen and more in chat.screen, "the story step shows what was told"
    addition = "dia juga bilang kerja kat Johor tu majikan baik, tak boleh bawa hp"
    screen = await chat.send(addition)
    assert "Mohon periksa laporan Anda" in screen
    assert "PT Maju Jaya Sentosa" in screen and "@loker_johor_resmi" in screen
    assert "Nomor laporan Anda: BTN-2026-00001" in await chat.send("1")

    report = await stored(app)
    for said in (opening, more, addition):
        assert said in report.story
    assert report.recruiter_agency == "PT Maju Jaya Sentosa"
    assert report.recruiter_link == "@loker_johor_resmi, BRI 1234567890"
    assert report.recruiter_name is not None
    assert "pak anton" in report.recruiter_name and "makasih" not in report.recruiter_name
    assert sorted(await phones_of(app, report)) == [
        "+60123456789",
        "+6281234567890",
        "+6281399990000",
    ]
    assert report.red_flags == ["upfront_fees", "unofficial_route"]


async def test_words_of_danger_first_show_the_emergency_contacts_and_alert_after_two_answers(
    chat: Chat, app: App
) -> None:
    opening = "tolong adik saya disekap di rumah majikan kat Johor, hp nya diambil 😭😭"
    screen = await chat.send(opening)
    assert screen.strip().startswith(EMERGENCY), screen
    assert "110" in screen and "Dua pertanyaan singkat dulu" in screen
    answers = ["sebelas", "dua"]  # outside Bintan, family: numbers as words
    assert "Siapa yang menerima tawaran ini" in await chat.send(answers[0])
    screen = await chat.send(answers[1])
    assert "Nomor laporan Anda: BTN-2026-00001" in screen
    assert len(answers) == 2, "the alert after two answers"
    report = await stored(app)
    assert report.priority is Priority.URGENT and report.urgency is Urgency.DANGER_NOW
    assert report.story == opening and report.area == "Luar Bintan"

    # The questions after the alert: a greeting is greeted, and words are added at once.
    assert "beberapa pertanyaan lagi" in screen
    assert "Halo!" in await chat.send("halo min")
    assert "Bolehkah mereka menghubungi Anda" in chat.screen
    more = "tak boleh balik, majikan simpan paspor dia, gaji tiga bulan belum dibayar"
    screen = await chat.send(more)
    assert "Ditambahkan ke BTN-2026-00001." in screen
    assert "Bolehkah mereka menghubungi Anda" in screen, "the question stands"
    report = await stored(app)
    assert opening in report.story and more in report.story
    assert report.id is not None
    async with app.db.read() as session:
        timeline = await reports.timeline(session, report.id)
    assert [e.kind for e in timeline].count("addition") == 1


async def test_help_in_english_is_a_word_of_danger_too(chat: Chat, app: App) -> None:
    opening = "help my sister cant go home, agent hold her passport in KL 🙏🙏"
    screen = await chat.send(opening)  # answered in English, the language it is written in
    assert screen.strip().startswith("If someone is in danger, call now:"), screen
    await chat.send("11")
    screen = await chat.send("3")
    assert "BTN-2026-00001" in screen
    report = await stored(app)
    assert report.story == opening and report.priority is Priority.URGENT


async def test_the_urgent_path_alerts_after_four_answers_with_a_run_on_story(
    chat: Chat, app: App
) -> None:
    story = (
        "jadi gini kak ponakan saya umur 17 dibawa sama calo namanya bu yati ke batam "
        "katanya mau dikerjain di spa terus diseberangin ke singapur malam ini jam sebelas "
        "lewat pelabuhan kecil hp nya udah dimatiin dari tadi sore saya takut banget"
    )
    answers = ["lapor", "2", "1", "2", story]  # LAPOR is not an answer
    await chat.send(answers[0])
    screen = await chat.send(answers[1])  # leaving within 48 hours
    assert screen.strip().startswith(EMERGENCY), "the emergency contacts come first"
    assert "Di mana ini terjadi" in screen
    assert "Siapa yang menerima tawaran ini" in await chat.send(answers[2])
    assert "Apa yang sedang terjadi?" in await chat.send(answers[3])
    screen = await chat.send(answers[4])
    assert "Nomor laporan Anda: BTN-2026-00001" in screen
    assert len(answers[1:]) <= 4, "at most four answers before the alert"
    report = await stored(app)
    assert report.story == story and report.urgency is Urgency.LEAVING_SOON
    assert report.priority is Priority.URGENT

    screen = await chat.send("batal")  # no more questions; the report stays
    assert "Semua yang Anda ceritakan sudah diterima gugus tugas" in screen
    assert (await stored(app)).story == story


async def test_a_complete_report_takes_ten_answers_typed_as_residents_type(
    chat: Chat, app: App
) -> None:
    story = (
        "sepupu sy ditawarin kerja di kilang elektronik di Johor gajinya lima belas juta "
        "sebulan katanya, ga perlu pengalaman, berangkat minggu depan lewat batam pake "
        "visa melancong"
    )
    answers: list[tuple[str, str]] = [
        ("lapor", URGENCY_QUESTION),
        ("empat", "Bolehkah mereka menghubungi Anda"),  # none of these
        ("satu", "Siapa yang menerima tawaran ini"),  # anonymous
        ("3", "Apakah ada anak"),  # someone I know
        ("tidak", "Apa jenis pekerjaan"),  # the option's label
        ("1", "Katanya tempat kerjanya di mana?"),
        ("1", "Mana saja yang terjadi?"),
        ("0", "mengenali perekrutnya"),  # no warning sign
        ("lewati", "Ceritakan apa yang terjadi"),
        (story, "Mohon periksa laporan Anda"),
        ("1", "Nomor laporan Anda: BTN-2026-00001"),
    ]
    await chat.dialog(answers)
    assert len(answers[1:]) <= 10, "a complete report in at most ten answers"
    report = await stored(app)
    assert report.story == story and report.red_flags == []
    assert report.anonymous and report.affected == "someone_i_know"
    assert report.child_involved == "no" and report.destination == "Malaysia"
    assert report.recruiter_name is None and report.priority is Priority.NORMAL


async def test_a_story_that_begins_with_a_command_word_is_kept_as_a_story(
    chat: Chat, app: App
) -> None:
    opening = "Status saya belum jelas, agen bilang visa kerja tapi ternyata visa turis"
    await chat.dialog(
        [
            (opening, "Terima kasih sudah bercerita"),
            ("Lapor pak, ada calo di kijang nawarin kerja di singapur", ADDED_TO_STORY),
            ("assalamualaikum", "Halo!"),
        ]
    )
    assert URGENCY_QUESTION in chat.screen
    assert (await draft(app, chat))["opening"] == (
        f"{opening}\n\nLapor pak, ada calo di kijang nawarin kerja di singapur"
    )
    for answer in ["4", "1", "1", "2", "2", "1", "2", "-"]:
        await chat.send(answer)
    assert "Ada yang mau ditambahkan" in chat.screen
    more = "Tambah lagi, agennya minta KTP dan KK asli dititip ke dia"
    assert "Mohon periksa laporan Anda" in await chat.send(more)
    await chat.send("1")
    report = await stored(app)
    assert opening in report.story and "calo di kijang" in report.story
    assert more in report.story


async def test_batal_once_with_many_answers_and_bahasa_in_the_middle_keep_the_draft(
    chat: Chat, app: App
) -> None:
    await chat.dialog(
        [
            ("lapor", URGENCY_QUESTION),
            ("4", "Bolehkah mereka menghubungi Anda"),
            ("1", "Siapa yang menerima tawaran ini"),
            ("bahasa", "Pilih bahasa Anda"),
            ("batal", "Dibatalkan."),  # only the language picker
            ("1", "Apakah ada anak"),
            ("3", "Apa jenis pekerjaan"),
            ("2", "Katanya tempat kerjanya di mana?"),
        ]
    )
    before = await draft(app, chat)
    screen = await chat.send("batal")
    assert "Batalkan laporan ini? 5 jawaban Anda akan dihapus." in screen
    assert "Katanya tempat kerjanya di mana?" in screen, "the question waits"
    assert {k: v for k, v in (await draft(app, chat)).items() if k != "cancelling"} == before
    await chat.dialog(
        [
            ("bahasa", "Pilih bahasa Anda"),
            ("english", "Where is the job supposed to be?"),
            ("3", "Which of these happened?"),
            ("2,3", "identifies the recruiter"),
        ]
    )
    kept = await draft(app, chat)
    assert (kept["privacy"], kept["affected"], kept["child"], kept["offer"]) == (
        "anonymous",
        "me",
        "unknown",
        "ship_crew",
    )
    assert kept["red_flags"] == ["documents_held", "unofficial_route"]
    assert "Send BATAL again" in await chat.send("batal")
    assert "Your report was cancelled" in await chat.send("batal")
    async with app.db.read() as session:
        assert (await session.exec(select(Report))).all() == []


async def test_words_written_where_options_are_asked_go_with_the_story(
    chat: Chat, app: App
) -> None:
    await chat.dialog(
        [
            ("bahasa en", "Language: English."),
            ("report", "is any of these happening?"),
            ("4", "May they contact you"),
            ("1", "Who received this offer"),
            ("2", "Is a child (under 18) involved?"),
            ("3", "What kind of job or offer is it?"),
            ("1", "Where is the job supposed to be?"),
        ]
    )
    told = "kerja kat Johor, majikan nya orang cina katanya, tinggal di asrama kilang"
    screen = await chat.send(told)
    assert "I have added that to your story." in screen
    assert "Where is the job supposed to be?" in screen
    assert "Please answer with the number" not in screen
    assert (await draft(app, chat))["opening"] == told
    await chat.dialog([("1", "Which of these happened?"), ("0", "identifies the recruiter")])
    await chat.dialog([("skip", "You wrote")])
    assert told in chat.screen
    assert "Please check your report" in await chat.send("skip")
    await chat.send("1")
    assert (await stored(app)).story == told


async def test_thanks_at_the_recruiter_question_is_not_the_recruiters_name(
    chat: Chat, app: App
) -> None:
    await chat.dialog(
        [
            ("bahasa en", "Language: English."),
            ("report", "is any of these happening?"),
            *[(answer, "") for answer in ["4", "1", "1", "2", "1", "1"]],
            ("0", "identifies the recruiter"),
        ]
    )
    screen = await chat.send("makasih kak 🙏")
    assert "You're welcome." in screen and "identifies the recruiter" in screen
    assert "Other: makasih" not in screen
    screen = await chat.send("Pak Budi, wa +62 812-3456-7890")
    assert "Other: Pak Budi" in screen and "+6281234567890" in screen
    await chat.send("thanks!")
    assert "You're welcome." in chat.screen
    assert (await draft(app, chat))["recruiter"] == ["Pak Budi, wa +62 812-3456-7890"]


async def test_a_long_description_of_the_recruiter_is_kept_whole(chat: Chat, app: App) -> None:
    description = (
        "namanya bang Jefri, orangnya tinggi pakai kacamata, sering nongkrong di warung kopi "
        "dekat pelabuhan Tanjung Uban tiap sore, katanya dia kerja sama orang Malaysia "
        "namanya Ah Seng yang punya kilang di Pasir Gudang, dia udah bawa lima orang dari "
        "kampung kami tahun lalu dan sampai sekarang dua orang belum ada kabar sama sekali"
    )
    story = "adik ipar sy diajak bang Jefri kerja di kilang, disuruh kumpul di pelabuhan"
    await chat.dialog(
        [
            ("lapor", URGENCY_QUESTION),
            *[(answer, "") for answer in ["4", "1", "2", "2", "1", "1"]],
            ("0", "mengenali perekrutnya"),
            (description, "Sudah dicatat"),
            ("selesai", "Ceritakan apa yang terjadi"),
            (story, "Mohon periksa laporan Anda"),
            ("1", "Nomor laporan Anda"),
        ]
    )
    report = await stored(app)
    assert description in everything(report), "every word of the description is kept"
    assert story in report.story
    assert report.recruiter_name is not None and report.recruiter_name.startswith(
        "namanya bang Jefri"
    )
