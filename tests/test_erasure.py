"""Forgetting a reporter: HAPUS DATA on Telegram (buttons) and WhatsApp (typed yes or no),
what a member sees and may do afterwards, and an admin erasing one report's reporter with a
reason. The reports stay, anonymised; nothing names the chat any more."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from bot.app import App
from bot.reports import erase_identity, show_report
from handlers.usecases import Refused, casework
from storage import audit, broadcasts, conversations, reports
from storage.models import (
    Channel,
    Erasure,
    EventKind,
    MessageKind,
    Outbox,
    OutboxState,
    Outcome,
    Report,
    Role,
    Seen,
    Subscription,
)
from tests.support.answers import ANONYMOUS_TO_STORY, ENGLISH_STORY, START_IN_ENGLISH
from tests.support.chat import Chat
from tests.support.task_force import ANDI, DEWI, RESIDENT, TaskForce
from tests.test_dashboard_security import link_of, login, web  # noqa: F401 (web: a fixture)
from tests.test_relay import NOTICE, acknowledged

ANONYMOUS = [*START_IN_ENGLISH, *ANONYMOUS_TO_STORY, (ENGLISH_STORY, "Please check your report")]
KEPT = "What we kept, and why"


async def stored(app: App, reference: str) -> Report:
    async with app.db.read() as session:
        found = await reports.by_reference(session, reference)
    assert found is not None
    return found


async def test_a_reporter_who_asks_to_be_forgotten_is_removed_from_every_report(
    force: TaskForce,
) -> None:
    reference = await acknowledged(force)
    second = await force.report(answers=ANONYMOUS)
    async with force.app.db.write() as session:
        shared = await reports.by_reference(session, reference)
        assert shared is not None
        shared.latitude, shared.longitude = 1.0712, 104.4523  # where they were, perhaps
        session.add(shared)
        await broadcasts.subscribe(
            session, Channel.TELEGRAM, str(RESIDENT), area=None, language="en", at=force.clock()
        )
        failed = Outbox(
            created_at=force.clock(),
            updated_at=force.clock(),
            channel=Channel.TELEGRAM,
            address=str(RESIDENT),
            kind=MessageKind.REPLY,
            text="",
            state=OutboxState.FAILED,
        )
        session.add(failed)

    asked = await force.say(RESIDENT, "hapus data")
    assert "Delete your data?" in asked and "the 2 report(s) you sent" in asked
    answer = await force.press(RESIDENT, "Yes, delete my data")
    assert "Done: your data is deleted." in answer and KEPT in answer
    assert "UU PDP, No. 27 of 2022" in answer and "legal obligation" in answer
    assert any(c.method == "deleteMessages" for c in force.fake.calls)  # the chat cleared

    tombstones = set()
    for ref in (reference, second):
        report = await stored(force.app, ref)
        assert report.sender.startswith("erased:") and report.channel is Channel.TELEGRAM
        assert (report.contact_phone, report.consent_contact, report.consent_share_with) == (
            None,
            False,
            [],
        )
        assert report.identity_erased_by is Erasure.REPORTER
        assert (report.latitude, report.longitude) == (None, None)
        assert report.story == ENGLISH_STORY  # what the report says stays
        tombstones.add(report.sender)
        erased = [e for e in await force.events(ref) if e.kind is EventKind.IDENTITY_ERASED]
        assert [(e.actor, e.detail) for e in erased] == [("reporter", {"by": "reporter"})]
    assert len(tombstones) == 2  # two erased reports cannot be told to be one person's
    async with force.app.db.read() as session:
        subscription = (await session.exec(select(Subscription))).one()
        about = await session.exec(select(Outbox).where(col(Outbox.report_id).is_not(None)))
        to_the_chat = [r for r in about.all() if r.address == str(RESIDENT)]
    assert subscription.ended_at is not None and subscription.address.startswith("erased:")
    assert to_the_chat == []  # the neutral notices about the reports name no chat now
    async with force.app.db.read() as session:
        answer = await session.get(Outbox, failed.id)
    assert answer is not None and answer.state is OutboxState.CANCELLED  # never retried
    assert answer.address.startswith("erased:")

    # The chat no longer reaches its reports.
    assert "You have not sent any report from this chat." in await force.say(RESIDENT, "status")
    # The task force cannot write to them, and is told why.
    refused = await force.say(ANDI, f"/balas {reference} Are you safe?")
    assert f"The reporter of {reference} has asked to be forgotten" in refused
    details = await force.say(ANDI, f"/rincian {reference}")
    assert "The reporter asked to be forgotten on Nov 28, 2026" in details
    assert "1111" not in details
    case = await force.say(ANDI, f"/kasus {reference}")
    assert "the reporter asked to be forgotten: their identity erased" in case
    before = len(force.texts(RESIDENT))
    async with force.app.services.work() as work:
        await casework.close(work, reference, force.members["Andi"], Outcome.NOT_TRAFFICKING)
    await force.deliver()
    assert force.texts(RESIDENT)[before:] == []  # no "there is news" to whoever has the chat
    assert NOTICE not in force.texts(RESIDENT)


async def test_no_keeps_everything_and_goes_back_to_the_unfinished_report(
    force: TaskForce,
) -> None:
    reference = await acknowledged(force)
    await force.dialog(RESIDENT, START_IN_ENGLISH[1:])
    asked = await force.say(RESIDENT, "delete my data")
    assert "Delete your data?" in asked
    answer = await force.press(RESIDENT, "No, keep it")
    assert "Nothing was deleted." in answer and "is any of these happening?" in answer
    assert (await stored(force.app, reference)).sender == str(RESIDENT)
    assert "May they contact you" in await force.say(RESIDENT, "4")  # the report goes on


async def test_on_whatsapp_yes_or_no_is_typed(app: App) -> None:
    resident = Chat(app, sender="+6281234567890", channel=Channel.WHATSAPP)
    await resident.dialog(ANONYMOUS)
    screen = await resident.send("1")
    reference = screen.split("reference number: ")[1].split()[0]

    asked = await resident.send("HAPUS DATA")
    assert "1. Yes, delete my data" in asked and "Reply with 1 or 2." in asked
    assert "Nothing was deleted." in await resident.send("tidak")
    assert (await stored(app, reference)).identity_erased_at is None
    await resident.send("hapus data")
    assert "Please answer with the number of an option." in await resident.send("maybe")
    answer = await resident.send("ya")
    assert "Please delete this chat yourself" in answer and KEPT in answer
    assert (await stored(app, reference)).sender.startswith("erased:")
    # Asked again, there is nothing left to erase.
    assert "You have sent no report from this chat." in await resident.send("hapus data")
    assert "nothing about you was kept" in await resident.send("1")


async def test_an_admin_erases_one_reports_reporter_with_a_reason(
    force: TaskForce,
) -> None:
    first = await acknowledged(force)
    second = await force.report(answers=ANONYMOUS)
    app = force.app

    said = await erase_identity(app, first.lower(), "the reporter asked by telephone")
    assert f"{first}: the reporter's identity is erased" in said
    assert "Another report still names their chat" in said
    shown = await show_report(app, reference=first)
    assert shown is not None and "identity erased on 2026-11-28 10:00 (by an admin)" in shown
    assert "1111" not in shown and "identity_erased" in shown
    async with app.db.read() as session:
        (entry,) = [e for e in await audit.entries(session) if e.row.what is Seen.ERASURE]
        assert await conversations.find(session, Channel.TELEGRAM, str(RESIDENT)) is not None
    assert (entry.reference, entry.row.reason, entry.row.place) == (
        first,
        "the reporter asked by telephone",
        "reports erase",
    )
    refused = await force.say(ANDI, f"/balas {first} hello")
    assert f"The reporter's identity of {first} has been removed" in refused

    try:
        await erase_identity(app, first, "again, by mistake")
    except Refused as refusal:
        assert (
            str(refusal) == f"The reporter's identity of {first} was already erased, on 2026-11-28."
        )
    else:
        raise AssertionError("erased twice")
    try:
        await erase_identity(app, "BTN-2026-09999", "a mistyped reference")
    except Refused as refusal:
        assert str(refusal) == "There is no report BTN-2026-09999."
    else:
        raise AssertionError("no such report")

    # The chat's other report goes too: nothing names the chat, so it is forgotten.
    said = await erase_identity(app, second, "the reporter asked by telephone")
    assert "Their chat is forgotten too." in said
    async with app.db.read() as session:
        assert await conversations.find(session, Channel.TELEGRAM, str(RESIDENT)) is None
        kinds = (
            await session.exec(select(Outbox.kind).where(col(Outbox.address) == str(RESIDENT)))
        ).all()
    assert MessageKind.REPORT_UPDATE not in kinds


async def test_the_dashboard_says_the_reporter_is_forgotten_and_offers_no_reply(
    web: httpx.AsyncClient,  # noqa: F811
    force: TaskForce,
) -> None:
    reference = await acknowledged(force)
    other = await force.report(sender="5002", answers=ANONYMOUS)
    andi = await login(web, await link_of(force, ANDI))
    page = (await andi.get(f"/dasbor/kasus/{reference}")).text
    assert 'id="contact"' in page and 'id="reply"' in page
    await force.say(RESIDENT, "hapus data")
    await force.press(RESIDENT, "Yes, delete my data")
    page = (await andi.get(f"/dasbor/kasus/{reference}")).text
    assert '<span id="erased">The reporter asked to be forgotten on' in page
    assert 'id="contact"' not in page and 'id="reply"' not in page and "1111" not in page
    assert "the reporter asked to be forgotten: their identity erased" in page  # the timeline

    await erase_identity(force.app, other, "asked on the hotline")
    await force.add("Dewi", DEWI, Role.ADMIN)
    dewi = await login(web, await link_of(force, DEWI))
    listed = (await dewi.get("/dasbor/audit")).text
    rows = [r for r in listed.split("<tr>") if "asked on the hotline" in r]
    assert rows, listed
    row = rows[0]
    assert "identity erased" in row and other in row and "reports erase" in row
