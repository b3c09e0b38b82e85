"""Journeys of referral through `sigap run`: a member refers a report to a partner agency from
Telegram, the case file (a PDF) reaches the agency's Telegram chat or its mailbox (a local SMTP
server), it names the reporter only where they consented or a coordinator overrode it with a
reason (kept on the timeline), and the agency's Accept is recorded."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

from tests.fakes.telegram import FakeTelegram
from tests.journeys.conftest import Start
from tests.journeys.harness import (
    ANDI,
    CITRA,
    RESIDENT,
    STORY,
    Sigap,
    TelegramUser,
    details_to_the_summary,
    free_port,
    reference_of,
    task_force,
    the_offer,
    until,
)

POLICE, IMMIGRATION = -100777, -100778
PPA_MAIL = "ppa@bintan.example.org"
CONTACT = "+6281211112222"


class Mailbox:
    """aiosmtpd's handler: keeps every mail it receives."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 OK"


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    """A local SMTP server, and its port."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    yield box, port
    await asyncio.to_thread(controller.stop)


def config(smtp_port: int) -> str:
    return f"""
[smtp]
host = "127.0.0.1"
port = {smtp_port}
from = "sigap@bintan.example.org"
starttls = false

[referral]
[[referral.agencies]]
name = "Polres Bintan"
kind = "police"
telegram_chat = {POLICE}

[[referral.agencies]]
name = "Imigrasi Tanjung Uban"
kind = "immigration"
telegram_chat = {IMMIGRATION}
areas = ["Toapaya"]

[[referral.agencies]]
name = "UPTD PPA Bintan"
kind = "uptd_ppa"
email = "{PPA_MAIL}"
"""


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def case_file(telegram: FakeTelegram, chat: int) -> str:
    calls = await telegram.wait_for("sendDocument", chat_id=chat)
    return pdf_text(calls[-1].params["document"])


async def contactable_report(resident: TelegramUser) -> str:
    """A report whose number may go to the police only; its reference."""
    await resident.answer("/start", "What would you like to do?")
    await resident.press("Report a suspicious job offer")
    await resident.sees("is any of these happening?")
    await resident.press("None of these")
    await resident.sees("May they contact you")
    await resident.press("Yes, they may contact me")
    await resident.sees("Who may the task force give your number to")
    await resident.press("Police")
    await until("the tick", lambda: resident.button("✅ Police"))
    await resident.press("Done")
    await resident.sees("Which phone number can the task force contact you on?")
    await resident.answer("0812-1111-2222", "Who received this offer")
    await the_offer(resident)
    await resident.answer("Pak Budi 0812-3456-7890", "Noted")
    await resident.press("Done")
    await resident.sees("Tell us what happened")
    await resident.answer(STORY, "Please check your report")
    await details_to_the_summary(resident)
    await resident.press("Send the report")
    return await reference_of(resident)


async def taken_by_andi(sigap: Sigap, telegram: FakeTelegram, tmp_path: Path) -> str:
    await task_force(sigap, tmp_path)
    reference = await contactable_report(TelegramUser(telegram, RESIDENT))
    andi = TelegramUser(telegram, ANDI)
    await andi.sees(f"New report {reference}")
    await andi.press("Acknowledge")
    await andi.sees(f"report {reference} is yours")
    return reference


async def test_a_member_refers_with_consent_to_the_police_chat_which_accepts(
    start_sigap: Start,
    telegram: FakeTelegram,
    mailbox: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    sigap = await start_sigap(config(mailbox[1]), with_whatsapp=False)
    reference = await taken_by_andi(sigap, telegram, tmp_path)
    andi = TelegramUser(telegram, ANDI)
    await andi.answer(f"/rujuk {reference}", "to which agency?")
    await andi.press("Polres Bintan")
    await andi.sees("with the reporter's contact (they agreed)")

    text = await case_file(telegram, POLICE)
    assert reference in text and "Fees demanded up front" in text
    assert "+6281234567890" in text and CONTACT in text  # the recruiter's, the reporter's

    police = TelegramUser(telegram, POLICE)
    await police.press("Accept")
    await police.sees(f"Polres Bintan takes on case {reference}")
    await andi.sees("Polres Bintan accepted referral #1")
    listed = await sigap.cli("referrals", "list")
    assert re.search(rf"1\s+{reference}\s+Polres Bintan\s+police\s+\S+\s+accepted\s+yes", listed)
    assert "done" in await sigap.cli("referrals", "done", "1")
    timeline = await sigap.cli("reports", "show", reference)
    assert "referred" in timeline and "Polres Bintan (agency)" in timeline


async def test_without_consent_the_mail_goes_without_identity_and_a_coordinator_overrides(
    start_sigap: Start,
    telegram: FakeTelegram,
    mailbox: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    box, port = mailbox
    sigap = await start_sigap(config(port), with_whatsapp=False)
    reference = await taken_by_andi(sigap, telegram, tmp_path)
    andi = TelegramUser(telegram, ANDI)
    await andi.answer(f"/rujuk {reference}", "to which agency?")
    await andi.press("UPTD PPA Bintan")
    await andi.sees("did not agree that their number be given to UPTD PPA")
    assert andi.button("anyway") is None  # only a coordinator overrides
    await andi.press("Send it without the reporter's identity")
    await andi.sees("without the reporter's identity")

    (mail,) = await until("the mail to the UPTD PPA", lambda: box.mails)
    assert mail["To"] == PPA_MAIL and reference in str(mail["Subject"])
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == f"{reference}.pdf"
    text = pdf_text(attachment.get_content())
    assert reference in text and CONTACT not in text and "identity is withheld" in text

    citra = TelegramUser(telegram, CITRA)
    await citra.answer(f"/rujuk {reference}", "to which agency?")
    await citra.press("Imigrasi Tanjung Uban")
    await citra.press("Share the identity anyway")
    await citra.sees("Why must the reporter's identity be shared")
    reason = "The family must be reached today: the departure is tonight from Tanjung Uban."
    await citra.answer(reason, "your override is recorded")
    assert CONTACT in await case_file(telegram, IMMIGRATION)
    timeline = await sigap.cli("reports", "show", reference)
    assert "override" in timeline and reason in timeline and "Citra" in timeline
