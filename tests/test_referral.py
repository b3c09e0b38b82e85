"""Referral to partner agencies: the consent rules, who may refer and record answers (the role
matrix), the case file read back from its PDF, and the members' and agencies' transcripts on
Telegram (the fake Bot API server)."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from PIL import Image
from pypdf import PdfReader

from bot.app import App
from handlers.conversation.messages import Attachment
from handlers.settings import Agency, ReferralSettings
from handlers.taskforce import case_file as case_file_module
from handlers.usecases import OPERATOR, Refused
from handlers.usecases import referral as usecase
from handlers.usecases.referral import Identity, consents, identity, may_handle
from storage import audit, referrals, reports
from storage.models import (
    AgencyKind,
    Channel,
    Door,
    EventKind,
    Member,
    ReferralState,
    Report,
    ReportState,
    Role,
)
from tests.support.answers import DETAILS, ENGLISH_REPORT, Turns
from tests.support.chat import Chat
from tests.support.task_force import ANDI, BUDI, CITRA, DEWI, RESIDENT, TaskForce

POLICE_CHAT, IMMIGRATION_CHAT = -100777, -100778
CONTACT = "+6281211112222"
AGENCIES = [
    Agency(name="Polres Bintan", kind=AgencyKind.POLICE, telegram_chat=POLICE_CHAT),
    Agency(
        name="Imigrasi Tanjung Uban",
        kind=AgencyKind.IMMIGRATION,
        telegram_chat=IMMIGRATION_CHAT,
        areas=["Bintan Timur"],
    ),
    Agency(name="UPTD PPA Bintan", kind=AgencyKind.UPTD_PPA, email="ppa@bintan.example.org"),
]

# A contactable English report whose number may go to the police and the UPTD PPA, with an
# image as evidence (sent after the last of these answers), in Bintan Timur.
CONTACTABLE_REPORT: Turns = [
    *ENGLISH_REPORT[:3],
    ("2", "Who may the task force give your number to"),
    ("1,3", "Which phone number can the task force contact you on?"),
    ("0812-1111-2222", "Who received this offer"),
    *ENGLISH_REPORT[4:],
    *DETAILS[:2],
]
AFTER_THE_IMAGE: Turns = DETAILS[2:]


def png(colour: tuple[int, int, int] = (200, 30, 30), size: int = 900) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size // 2), colour).save(out, "PNG")
    return out.getvalue()


def person(member_id: int, role: Role) -> Member:
    return Member(id=member_id, name=f"m{member_id}", role=role, created_at=datetime.now(UTC))


def a_report(**fields: object) -> Report:
    values: dict[str, object] = {
        "anonymous": False,
        "consent_contact": True,
        "contact_phone": CONTACT,
        "consent_share_with": ["police", "kp2mi"],
        "acknowledged_by": 1,
        "assignee_id": 1,
    }
    return Report(**(values | fields))


# The rules, alone.


def test_the_identity_goes_only_where_the_reporter_consented_or_a_coordinator_overrides() -> None:
    report = a_report()
    assert identity(report, AgencyKind.POLICE) is Identity.CONSENT
    assert identity(report, AgencyKind.KP2MI) is Identity.CONSENT
    assert identity(report, AgencyKind.UPTD_PPA) is Identity.WITHHELD
    assert identity(report, AgencyKind.IMMIGRATION) is Identity.WITHHELD  # never asked
    assert identity(report, AgencyKind.UPTD_PPA, override=True) is Identity.OVERRIDE
    assert identity(report, AgencyKind.POLICE, override=True) is Identity.CONSENT


def test_an_anonymous_reporter_has_no_identity_to_share_even_with_an_override() -> None:
    report = a_report(anonymous=True, consent_contact=False, contact_phone=None)
    assert consents(report) == []
    assert identity(report, AgencyKind.POLICE, override=True) is Identity.ANONYMOUS


def test_a_report_from_before_the_kinds_keeps_its_police_consent() -> None:
    report = a_report(consent_share_with=[], consent_share_with_police=True)
    assert consents(report) == [AgencyKind.POLICE]
    assert identity(report, AgencyKind.POLICE) is Identity.CONSENT


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (person(1, Role.MEMBER), True),  # took the report
        (person(2, Role.MEMBER), False),  # another member
        (person(3, Role.COORDINATOR), True),
        (person(4, Role.ADMIN), True),
        (OPERATOR, True),
    ],
)
def test_the_member_who_took_the_report_and_coordinators_may_handle_it(
    actor: Member, allowed: bool
) -> None:
    assert may_handle(actor, a_report()) is allowed


def test_nobody_but_coordinators_handles_a_report_nobody_took() -> None:
    report = a_report(acknowledged_by=None, assignee_id=None)
    assert not may_handle(person(1, Role.MEMBER), report)
    assert may_handle(person(3, Role.COORDINATOR), report)


# Through the bot.


async def reported(force: TaskForce, answers: Turns = CONTACTABLE_REPORT) -> tuple[str, bytes]:
    """A report with an image, acknowledged by Andi; its reference and the image."""
    force.app.services.referral = ReferralSettings(agencies=AGENCIES)
    for name, chat, role in [
        ("Andi", ANDI, Role.MEMBER),
        ("Budi", BUDI, Role.MEMBER),
        ("Citra", CITRA, Role.COORDINATOR),
        ("Dewi", DEWI, Role.ADMIN),
    ]:
        await force.add(name, chat, role)
    image = png()
    chat = Chat(force.app, sender=str(RESIDENT), channel=Channel.TELEGRAM)
    await chat.dialog(answers)
    await chat.send(media=[Attachment(image, "offer.png")])
    await chat.dialog(AFTER_THE_IMAGE)
    screen = await chat.send("1")
    reference = screen.split("reference number: ")[1].split()[0]
    await force.deliver()
    await force.say(ANDI, f"/ack {reference}")
    return reference, image


async def looks(force: TaskForce) -> list[tuple[str, str, str, str]]:
    """The audit, oldest first: (door, who, what, where)."""
    async with force.app.db.read() as session:
        found = await audit.entries(session)
    return [(e.row.door, e.who, e.row.what, e.row.place) for e in reversed(found)]


def case_file(force: TaskForce, chat: int) -> str:
    """The text of the newest case file sent to the chat."""
    calls = [c for c in force.fake.called("sendDocument") if int(c.params["chat_id"]) == chat]
    assert calls, f"no document sent to {chat}"
    data = calls[-1].params["document"]
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_a_member_refers_with_consent_and_the_case_file_names_the_reporter(
    force: TaskForce,
) -> None:
    reference, image = await reported(force)
    details = await force.say(ANDI, f"/detail {reference}")
    assert f"Reporter may be contacted at {CONTACT}." in details
    assert "Their number may be given to: Police, UPTD PPA" in details  # what they chose
    screen = await force.say(ANDI, f"/rujuk {reference}")
    assert f"Refer report {reference} to which agency?" in screen
    _, rows = force.fake.keyboard(ANDI)
    labels = [b["text"] for row in rows for b in row]
    assert labels[0].startswith("Imigrasi Tanjung Uban")  # it covers the report's area
    screen = await force.press(ANDI, "Polres Bintan — Police")
    assert "Referral #1" in screen and "with the reporter's contact (they agreed)" in screen
    await force.deliver()

    text = case_file(force, POLICE_CHAT)
    assert reference in text
    assert "Fees demanded up front" in text and "Unofficial route" in text
    assert "+6281234567890" in text  # the recruiter's number
    assert hashlib.sha256(image).hexdigest() in text
    assert CONTACT in text
    async with force.app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None and report.id is not None
        assert report.state is ReportState.REFERRED
        (referral,) = await referrals.of_report(session, report.id)
    assert referral.with_identity and referral.state is ReferralState.SENT
    kinds = [e.kind for e in await force.events(reference)]
    assert EventKind.REFERRED in kinds and EventKind.STATE_CHANGED in kinds
    # Andi read the details (with the image), then his case file left with the contact.
    assert await looks(force) == [
        ("bot", "Andi", "story", "details"),
        ("bot", "Andi", "contact", "details"),
        ("bot", "Andi", "evidence", "details"),
        ("bot", "Andi", "export", "case file to Polres Bintan"),
        ("bot", "Andi", "contact", "case file to Polres Bintan"),
    ]


async def test_without_consent_a_member_sends_the_case_file_without_the_identity(
    force: TaskForce,
) -> None:
    reference, image = await reported(force)
    await force.say(ANDI, f"/rujuk {reference}")
    screen = await force.press(ANDI, "Imigrasi Tanjung Uban — Immigration")
    assert "did not agree that their number be given to Immigration" in screen
    _, rows = force.fake.keyboard(ANDI)
    labels = [b["text"] for row in rows for b in row]
    assert not any("anyway" in label for label in labels)  # no override for a member
    screen = await force.press(ANDI, "Send it without the reporter's identity")
    assert "without the reporter's identity" in screen
    await force.deliver()
    text = case_file(force, IMMIGRATION_CHAT)
    assert CONTACT not in text and "identity is withheld" in text
    assert hashlib.sha256(image).hexdigest() in text
    assert await looks(force) == [("bot", "Andi", "export", "case file to Imigrasi Tanjung Uban")]


async def test_a_coordinator_overrides_with_a_reason_and_the_timeline_keeps_it(
    force: TaskForce,
) -> None:
    reference, _ = await reported(force)
    await force.say(CITRA, f"/rujuk {reference}")
    await force.press(CITRA, "Imigrasi Tanjung Uban — Immigration")
    screen = await force.press(CITRA, "Share the identity anyway, with a reason")
    assert "Why must the reporter's identity be shared" in screen
    assert "state the reason" in await force.say(CITRA, "ok")
    reason = "The victim is held at the port; immigration must call the family today."
    screen = await force.say(CITRA, reason)
    assert "your override is recorded" in screen
    await force.deliver()
    assert CONTACT in case_file(force, IMMIGRATION_CHAT)
    (referred,) = [e for e in await force.events(reference) if e.kind is EventKind.REFERRED]
    assert referred.actor == "Citra" and referred.detail["identity"] == "override"
    assert referred.detail["override_reason"] == reason


async def test_another_member_may_not_refer_nor_record_and_the_agency_answers_only_from_its_chat(
    force: TaskForce,
) -> None:
    reference, _ = await reported(force)
    screen = await force.say(BUDI, f"/rujuk {reference}")
    assert "Only the member who took report" in screen
    await force.say(ANDI, f"/rujuk {reference}")
    await force.press(ANDI, "Polres Bintan — Police")
    await force.deliver()
    assert "Only the member who took report" in await force.say(BUDI, "/rujukan 1 diterima")

    # The Accept button pressed in another chat (its callback data copied) changes nothing.
    message_id, rows = force.fake.keyboard(POLICE_CHAT)
    accept = next(b for row in rows for b in row if b["text"] == "Accept")
    update = force.fake.callback(
        IMMIGRATION_CHAT, accept["callback_data"], message_id=message_id, language_code="en"
    )
    before = len(force.texts(IMMIGRATION_CHAT))
    await force._answer(IMMIGRATION_CHAT, update)
    assert "not for this chat" in "\n".join(force.texts(IMMIGRATION_CHAT)[before:])

    screen = await force.press(POLICE_CHAT, "Accept")
    assert f"Polres Bintan takes on case {reference}" in screen
    assert any("Polres Bintan accepted referral #1" in t for t in force.texts(ANDI))
    screen = await force.say(ANDI, "/rujukan 1 ditolak")
    assert "cannot become rejected" in screen
    screen = await force.say(ANDI, "/rujukan 1 selesai")
    assert "is done" in screen
    changes = [e for e in await force.events(reference) if e.kind is EventKind.REFERRAL_CHANGED]
    assert [(e.actor, e.detail["to"]) for e in changes] == [
        ("Polres Bintan (agency)", "accepted"),
        ("Andi", "done"),
    ]


async def test_a_rejection_asks_for_its_reason_from_the_list(force: TaskForce) -> None:
    reference, _ = await reported(force)
    await force.say(ANDI, f"/rujuk {reference}")
    await force.press(ANDI, "Polres Bintan — Police")
    screen = await force.say(ANDI, "/rujukan")
    assert "Open referrals:" in screen
    await force.press(ANDI, f"#1 {reference} → Polres Bintan (sent)")
    screen = await force.press(ANDI, "Rejected by the agency")
    assert "Why did the agency reject it?" in screen
    screen = await force.say(ANDI, "Not in their jurisdiction: the recruiter is in Batam.")
    assert "is rejected" in screen
    assert "There are no open referrals." in await force.say(ANDI, "/rujukan")
    screen = await force.say(DEWI, f"/rujuk {reference}")  # an admin may refer it again
    assert "to which agency?" in screen


async def test_the_operator_records_answers_and_a_closed_report_is_not_referred(
    force: TaskForce,
) -> None:
    reference, _ = await reported(force)
    async with force.app.services.work() as work:
        # The UPTD PPA, by email.
        done = await usecase.refer(work, reference, 2, by=OPERATOR, door=Door.CLI)
    assert done.identity is Identity.CONSENT and done.referral.channel is Channel.EMAIL
    async with force.app.services.work() as work:
        with pytest.raises(Refused, match="state the reason"):
            await usecase.change(work, 1, ReferralState.REJECTED, by=OPERATOR, reason="")
        await usecase.change(work, 1, ReferralState.REVOKED, by=OPERATOR)
        report = await reports.by_reference(work.session, reference)
        assert report is not None
        report.state = ReportState.CLOSED
        work.session.add(report)
    async with force.app.services.work() as work:
        with pytest.raises(Refused, match="is closed"):
            await usecase.refer(work, reference, 0, by=OPERATOR, door=Door.CLI)


async def test_a_resident_who_writes_rujuk_is_telling_their_story(app: App) -> None:
    chat = Chat(app)
    screen = await chat.send("rujukan")
    assert "Tidak diizinkan" not in screen
    assert "Tidak diizinkan" in await chat.send("/rujuk BTN-2026-00001")


def test_the_case_file_prints_names_in_any_script_dejavu_has() -> None:
    """Helvetica would print these as black boxes (text extraction then loses them)."""
    words = "Nguyễn Thị Hằng, Дмитрий Ковалёв, «agen» — 50 % dibayar di muka"
    made = case_file_module.render(
        case_file_module.CaseFile(
            title="BTN-2026-00001",
            subtitle=words,
            sections=[("Perekrut", [words])],
            timeline_heading="Riwayat",
            timeline=[("2026-11-29 10:00", words, "Andi")],
            evidence_heading="Bukti",
            no_evidence="-",
        )
    )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(made)).pages)
    assert text.count(words) >= 2, text
    assert b"DejaVuSans" in made
