"""Journeys on Telegram, through `sigap run` and the fake Bot API: residents report with
buttons, members act on alerts from their chats and from the task force's group, follow-ups
escalate until someone acknowledges, members join with a code from the CLI."""

from __future__ import annotations

import asyncio
import getpass
import re
from pathlib import Path

from tests.fakes.telegram import FakeTelegram
from tests.journeys.conftest import Start
from tests.journeys.harness import (
    ANDI,
    BUDI,
    CITRA,
    GROUP,
    RESIDENT,
    STORY,
    TelegramUser,
    reference_of,
    report_with_buttons,
    task_force,
    until,
    up_to_the_summary,
)


def edited(telegram: FakeTelegram, chat: int) -> list[str]:
    return [
        str(c.params["text"])
        for c in telegram.called("editMessageText")
        if int(c.params["chat_id"]) == chat
    ]


async def test_a_report_by_buttons_reaches_the_member_on_duty_who_acknowledges_it(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT)
    andi = TelegramUser(telegram, ANDI)
    reference = await report_with_buttons(resident)

    alert = await andi.sees(f"New report {reference}")
    assert "Malaysia" in alert and "Toapaya" in alert and "Fees demanded up front" in alert
    await andi.press("Details")
    details = await andi.sees("What happened:")
    assert STORY in details and "Reporter: anonymous." in details
    await andi.press("Acknowledge")
    await andi.sees(f"Thank you, Andi: report {reference} is yours")
    news = await resident.sees("There is news for you. Type STATUS to read it.")
    assert reference not in news
    texts = await until("the alert edited", lambda: edited(telegram, ANDI))
    assert "Acknowledged by Andi" in texts[-1]
    assert andi.button("Acknowledge") is None  # the alert's buttons are gone
    timeline = await sigap.cli("reports", "show", reference)
    assert "acknowledged" in timeline and "Andi" in timeline
    assert telegram.texts(BUDI) == [] and telegram.texts(CITRA) == []  # off duty: not alerted
    # Who read the story: Andi by Details, the operator by `reports show`; the newest first.
    looked = (await sigap.cli("audit", "--report", reference)).splitlines()
    assert looked[0].split()[:5] == ["TIME", "DOOR", "WHO", "REPORT", "WHAT"]
    operator, details = (line.split()[2:] for line in looked[1:])
    login = f"({getpass.getuser()})"
    assert operator == ["cli", "operator", login, reference, "story", "reports", "show"]
    assert details == ["bot", "Andi", reference, "story", "details"]
    await resident.press("Clear this chat")  # the button under the thank-you
    await until("the chat cleared", lambda: telegram.deleted[RESIDENT])


async def test_nobody_acknowledges_so_the_circle_widens_until_the_coordinator_does(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    # Follow-ups after 3 seconds: the second step (on duty + backup) reaches the coordinator.
    sigap = await start_sigap(
        "[escalation]\n"
        "ack_timeout_minutes = { urgent = 0.05, high = 0.05, normal = 0.05 }\n"
        "repeat_minutes = { urgent = 0.05, high = 0.05, normal = 0.05 }\n"
    )
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT)
    andi, citra = TelegramUser(telegram, ANDI), TelegramUser(telegram, CITRA)
    reference = await report_with_buttons(resident)
    await andi.sees(f"New report {reference}")
    followup = await citra.sees("Not yet acknowledged", within=20)
    assert reference in followup and "Already notified: Andi" in followup
    await citra.press("Acknowledge")
    await citra.sees(f"report {reference} is yours")
    await resident.sees("There is news for you")
    # Everything sent about the report says who took it, and nothing more follows.
    await until("Andi's alert edited", lambda: edited(telegram, ANDI))
    sent = {chat: len(telegram.texts(chat)) for chat in (ANDI, BUDI, CITRA)}
    await asyncio.sleep(4)  # longer than a follow-up period: none may come
    assert {chat: len(telegram.texts(chat)) for chat in sent} == sent


async def test_members_act_from_the_task_forces_group(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap(f"[alerts]\ntelegram_group_id = {GROUP}\n")
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT)
    group = TelegramUser(telegram, GROUP)
    reference = await report_with_buttons(resident)
    await group.sees(f"New report {reference}")
    await group.press("Details", user=BUDI)
    await group.sees("Budi, I sent you the details privately")
    await TelegramUser(telegram, BUDI).sees("What happened:")
    await group.press("Acknowledge", user=4242)  # someone in the group who is no member
    await group.sees("Not allowed")
    await group.press("Acknowledge", user=BUDI)
    await group.sees(f"Thank you, Budi: report {reference} is yours")
    await resident.sees("There is news for you")
    texts = await until("the group's alert edited", lambda: edited(telegram, GROUP))
    assert "Acknowledged by Budi" in texts[-1]


async def test_a_member_joins_with_a_code_from_the_cli_takes_duty_and_gets_the_next_alert(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    invitation = await sigap.cli("members", "invite", "--name", "Dewi Lestari")
    code = re.search(r"code ([A-Z0-9]{8})", invitation)
    assert code, invitation
    dewi = TelegramUser(telegram, 9004)
    await dewi.answer(f"/gabung {code[1]}", "Welcome to the task force, Dewi Lestari")
    await dewi.answer("/siaga 4", "You are on duty until")
    reference = await report_with_buttons(TelegramUser(telegram, RESIDENT))
    alert = await dewi.sees(f"New report {reference}")
    assert dewi.button("Acknowledge") is not None and "Malaysia" in alert
    listing = await sigap.cli("members", "list")
    assert "Dewi Lestari" in listing


async def test_an_addition_after_the_acknowledgement_reaches_who_took_the_report(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path, on_duty="Andi;Budi")
    resident = TelegramUser(telegram, RESIDENT)
    andi, budi = TelegramUser(telegram, ANDI), TelegramUser(telegram, BUDI)
    reference = await report_with_buttons(resident)
    await resident.press("Subscribe")  # the other button under the thank-you
    await resident.sees("For which area do you want them?")
    await andi.sees(reference)
    await budi.sees(reference)
    await budi.press("Acknowledge")
    await resident.sees("There is news for you")
    await resident.answer(f"tambah {reference}", f"What would you like to add to {reference}?")
    await resident.answer("He also asked for my cousin's KTP.", f"Added to {reference}")
    notice = await budi.sees("has new information from the reporter")
    assert "cousin's KTP" in notice
    await resident.press("Done")
    await resident.sees("The task force will see what you added")
    assert not any("KTP" in text for text in andi.texts())


async def test_a_double_tap_on_send_makes_one_report_and_hapus_clears_the_chat(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT)
    await up_to_the_summary(resident)
    send = resident.button("Send the report")
    assert send is not None
    for _ in range(2):  # the second tap comes before the button is gone
        telegram.push_update(
            telegram.callback(RESIDENT, send[1], message_id=send[0], language_code="en")
        )
    reference = await reference_of(resident)
    await resident.sees("That question is no longer open")
    await resident.sees("What would you like to do?")
    listing = await sigap.cli("reports", "list")
    assert listing.count("BTN-") == 1 and reference in listing

    await resident.send("/hapus")
    await until("messages deleted", lambda: telegram.called("deleteMessages"))
    messages = telegram._messages[RESIDENT]
    everything = set(messages) - {max(messages)}  # but the newest: the answer to /hapus
    assert everything <= telegram.deleted[RESIDENT]
    assert reference in await sigap.cli("reports", "list")  # the report stays stored


async def test_words_of_danger_alert_the_member_on_duty_as_urgent_after_two_answers(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT, language="id")
    andi = TelegramUser(telegram, ANDI)
    opening = "tolong, paspor adik saya ditahan agen di Malaysia, dia tidak bisa pulang"
    await resident.send(opening)
    first = await resident.sees("Polisi")  # the emergency contacts come first, before anything
    assert first == resident.texts()[0] and "110" in first
    await resident.sees("Di mana ini terjadi")
    await resident.press("Luar Bintan")
    await resident.sees("Siapa yang menerima tawaran ini")
    await resident.press("Keluarga saya")  # the second answer: the alert goes now
    sent = await resident.sees("sebagai laporan mendesak")
    reference = re.search(r"BTN-\d{4}-\d{5}", sent)
    assert reference is not None
    alert = await andi.sees(f"New report {reference[0]} — priority URGENT")
    assert opening in alert and "Outside Bintan" in alert

    # The other questions go on; each answer reaches the member who was alerted.
    await resident.sees("jawab beberapa pertanyaan lagi")
    await resident.press("Ya, boleh menghubungi saya")
    await andi.sees(f"Report {reference[0]} has new information from the reporter")
    await resident.sees("Kepada siapa Gugus Tugas boleh memberikan nomor Anda")
    await resident.press("Selesai")  # to no agency
    await resident.sees("nomor HP berapa")
    await resident.answer("batal", "Semua yang Anda ceritakan sudah diterima gugus tugas")
    shown = await sigap.cli("reports", "show", reference[0])
    assert "urgent" in shown and opening in shown
