"""Journeys on WhatsApp, through `sigap run` and the fake Twilio API: a resident reports by
typing, a member who has not written for a day gets the alert as an approved template, then
takes the report and reads it by typing ACK and DETAIL."""

from __future__ import annotations

import re

from tests.fakes.twilio import FakeTwilio
from tests.journeys.conftest import Start
from tests.journeys.harness import Sigap, WhatsAppUser, until

RESIDENT, EKO = "+6281234567890", "+6281377770000"
ALERT_TEMPLATE = "HX" + "a1" * 16
STORY = "Calo menjanjikan kerja di pabrik Johor, berangkat malam lewat pelabuhan kecil."
# No urgency, anonymous, me, no child, work abroad, the first destination, no warning sign
# ("0"), nothing about the recruiter: then the story.
TO_THE_STORY = ["4", "1", "1", "2", "1", "1", "0", "skip"]


async def report_by_typing(resident: WhatsAppUser) -> str:
    await resident.answer("REPORT", "is any of these happening?")
    for body in TO_THE_STORY:
        await resident.send(body)
    await resident.answer(STORY, "Please check your report")
    thanks = await resident.answer("1", "Your reference number")
    found = re.search(r"BTN-\d{4}-\d{5}", thanks)
    assert found, thanks
    return found[0]


async def with_eko(
    start_sigap: Start, twilio: FakeTwilio
) -> tuple[Sigap, WhatsAppUser, WhatsAppUser]:
    """The service with an alert template and Eko, a member on WhatsApp; a resident and Eko."""
    sigap = await start_sigap(f'[whatsapp.templates]\nalert = "{ALERT_TEMPLATE}"\n')
    await sigap.cli("members", "add", "--name", "Eko", "--whatsapp", "0813-7777-0000")
    return sigap, WhatsAppUser(sigap, twilio, RESIDENT), WhatsAppUser(sigap, twilio, EKO)


async def test_a_report_on_whatsapp_reaches_a_member_by_template_who_takes_it_by_typing(
    start_sigap: Start, twilio: FakeTwilio
) -> None:
    sigap, resident, eko = await with_eko(start_sigap, twilio)
    reference = await report_by_typing(resident)

    # Eko has not written in the last 24 hours: only the approved template may reach him.
    alert = await until("the alert to Eko", lambda: twilio.to(EKO))
    assert alert[0].params["ContentSid"] == ALERT_TEMPLATE
    assert reference in alert[0].params["ContentVariables"]
    details = await eko.answer(f"DETAIL {reference}", "What happened:")
    assert STORY in details and "Reporter: anonymous." in details
    await eko.answer(f"ACK {reference}", f"Thank you, Eko: report {reference} is yours")
    news = await resident.sees("There is news for you. Type STATUS to read it.")
    assert reference not in news
    status = await resident.answer("STATUS", "being handled by the task force, since")
    assert reference in status
    timeline = await sigap.cli("reports", "show", reference)
    assert "acknowledged" in timeline and "Eko" in timeline
    assert twilio.contract_violations == []


async def test_stop_ends_every_message_but_answers(start_sigap: Start, twilio: FakeTwilio) -> None:
    sigap = await start_sigap()
    resident = WhatsAppUser(sigap, twilio, RESIDENT)
    await resident.answer("BERHENTI", "You will get no more messages from us")
    await resident.answer("BANTUAN", "110")  # answers still come
    await resident.answer("MULAI LAGI", "Messages from us are on again")


async def test_a_first_message_in_ones_own_words_becomes_the_report_the_member_reads(
    start_sigap: Start, twilio: FakeTwilio
) -> None:
    sigap, resident, eko = await with_eko(start_sigap, twilio)
    opening = "ada yg nawarin kerja di kapal ikan taiwan gaji 15jt tp suruh bayar 3jt dulu"
    # Answered in Indonesian, the language it is written in.
    await resident.answer(opening, "Terima kasih sudah bercerita. Tulisan Anda sudah saya simpan.")
    for body in TO_THE_STORY:  # nine answers, then Send: ten in all
        await resident.send(body)
    summary = await resident.answer("lewati", "Mohon periksa laporan Anda")
    assert opening in summary
    thanks = await resident.answer("1", "Nomor laporan Anda")
    reference = re.search(r"BTN-\d{4}-\d{5}", thanks)
    assert reference is not None
    await until("the alert to Eko", lambda: twilio.to(EKO))
    details = await eko.answer(f"DETAIL {reference[0]}", "What happened:")
    assert opening in details
    assert opening in await sigap.cli("reports", "show", reference[0])
