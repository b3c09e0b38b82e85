"""The task force's use cases on their own, as any door (bot, CLI, dashboard) calls them: what
each returns, and what it refuses with which words (a member's catalog text, an operator's
plain English)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from bot.app import App
from handlers import library
from handlers.conversation.turn import Work
from handlers.usecases import (
    NOT_ALLOWED,
    OPERATOR,
    Actor,
    Refused,
    broadcasting,
    duty,
    membership,
)
from storage import broadcasts, members, roster
from storage.media import MediaStore
from storage.models import Channel, Member, Role
from storage.roster import ShiftRow
from tests.support.clock import Clock

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TEXT = "Waspada tawaran kerja yang meminta paspor Anda ditahan."


async def member(app: App, name: str, role: Role, telegram_id: int | None = None) -> Member:
    async with app.db.write() as session:
        made = await members.add(session, name, role, at=app.services.clock())
        if telegram_id is not None:
            await members.link(session, made, Channel.TELEGRAM, str(telegram_id))
    return made


async def test_coordinators_invite_members_and_only_an_admin_invites_coordinators(
    app: App,
) -> None:
    plain = await member(app, "Andi", Role.MEMBER)
    coordinator = await member(app, "Citra", Role.COORDINATOR)
    admin = await member(app, "Dewi", Role.ADMIN)
    now = app.services.clock()
    async with app.db.write() as session:

        async def invite(role: Role, by: Actor) -> membership.Invitation:
            return await membership.invite(Work(app.services, session, now), "Eko", role, by=by)

        with pytest.raises(Refused) as refused:
            await invite(Role.MEMBER, plain)
        assert refused.value.message == NOT_ALLOWED
        with pytest.raises(Refused) as refused:
            await invite(Role.COORDINATOR, coordinator)
        assert str(refused.value) == "Only an admin can invite coordinators and admins."
        made = await invite(Role.MEMBER, coordinator)
        assert (made.name, made.role, made.hours) == ("Eko", Role.MEMBER, 24)
        assert len(made.code) == 8
        assert (await invite(Role.ADMIN, admin)).role is Role.ADMIN
        assert (await invite(Role.COORDINATOR, OPERATOR)).role is Role.COORDINATOR
        stored = await members.invitation(session, made.code)
    assert stored is not None and stored.expires_at == now + timedelta(hours=24)


async def test_the_member_list_says_where_each_is_reached_and_who_is_on_duty(
    app: App, clock: Clock
) -> None:
    budi = await member(app, "Budi", Role.MEMBER, 9002)
    andi = await member(app, "Andi", Role.COORDINATOR)
    async with app.db.write() as session:
        work = Work(app.services, session, clock.now)
        await members.link(session, budi, Channel.WHATSAPP, "+6281234567890")
        assert budi.id is not None
        await roster.add_override(
            session, budi.id, clock.now, clock.now + timedelta(hours=1), on_duty=True
        )
        listed = await membership.listing(work)
    assert [(x.member.name, x.on_duty) for x in listed] == [("Andi", False), ("Budi", True)]
    assert listed[0].member.id == andi.id and listed[0].addresses == []
    assert membership.reached_at(listed[1].addresses) == ("telegram:9002 whatsapp:+6281234567890")


async def test_the_roster_view_names_who_is_on_duty_who_is_next_and_who_gets_alerts(
    app: App, clock: Clock
) -> None:
    andi = await member(app, "Andi", Role.MEMBER)
    budi = await member(app, "Budi", Role.MEMBER)
    citra = await member(app, "Citra", Role.COORDINATOR)
    assert andi.id and budi.id
    # 2026-11-28 03:00 UTC is Saturday 10:00 in Jakarta.
    async with app.db.write() as session:
        work = Work(app.services, session, clock.now)
        await roster.replace_shifts(
            session,
            [ShiftRow(5, "08:00", "16:00", (andi.id,)), ShiftRow(5, "16:00", "08:00", (budi.id,))],
        )
        now = await duty.view(work)
        later = await duty.view(work, clock.now + timedelta(days=1))
    assert [m.name for m in now.on_duty] == ["Andi"]
    assert now.upcoming is not None and [m.id for m in now.people(now.upcoming.member_ids)] == [
        budi.id
    ]
    assert now.upcoming.at == clock.now + timedelta(hours=6)
    assert [m.name for m in now.coordinators] == ["Citra"] and citra.id in now.members
    assert later.on_duty == [] and len(later.shifts) == 2


async def test_duty_is_taken_for_1_to_72_hours_and_left_only_when_on_duty(
    app: App, clock: Clock
) -> None:
    andi = await member(app, "Andi", Role.MEMBER)
    async with app.db.write() as session:
        work = Work(app.services, session, clock.now)
        for hours in (0, 73):
            with pytest.raises(Refused) as refused:
                await duty.take(work, andi, hours)
            assert refused.value.values == {"maximum": 72}
            assert str(refused.value) == ("Give the number of hours, from 1 to 72, e.g. /siaga 8.")
        with pytest.raises(Refused, match=r"You are not on duty now\."):
            await duty.leave(work, andi)
        until = await duty.take(work, andi, duty.DEFAULT_HOURS)
        assert until == clock.now + timedelta(hours=8)
        assert andi.id in (await duty.view(work)).members
        assert [m.name for m in (await duty.view(work)).on_duty] == ["Andi"]
        await duty.leave(work, andi)
        assert (await duty.view(work)).on_duty == []


def test_a_draft_is_checked_for_its_library_message_areas_language_and_text(app: App) -> None:
    services = app.services

    def refusal(**draft: Any) -> Refused:
        with pytest.raises(Refused) as refused:
            broadcasting.check(services, broadcasting.Draft(**draft))
        return refused.value

    assert str(refusal(library_id="nope")) == (
        "no message 'nope' in the library (see `sigap broadcast library`)"
    )
    assert str(refusal(text=TEXT, areas=["Toapaya", "Atlantis"])).startswith(
        "unknown area(s) ['Atlantis']; areas are ['Bintan Utara'"
    )
    assert str(refusal(text=TEXT, language="fr")) == "language must be one of ['id', 'en']"
    short = refusal(text="too short")
    assert str(short) == "the text must have 20 to 3000 characters"  # the operator's words
    assert short.message == "The message must have {minimum} to {maximum} characters."
    assert short.values == {"minimum": 20, "maximum": 3000}
    assert str(refusal(text="x" * 3001)) == "the text must have 20 to 3000 characters"
    broadcasting.check(services, broadcasting.Draft(text=TEXT, areas=["Toapaya"], language="en"))
    broadcasting.check(services, broadcasting.Draft(library_id="signs"))  # no text needed


def test_an_image_is_refused_when_empty_too_large_or_not_an_image(app: App) -> None:
    small = dataclasses.replace(app.services, media=MediaStore(app.services.media.root, 2**20))
    for data, why in (
        (b"", "an empty file, not an image"),
        (PNG + b"\x00" * 2**20, "larger than the 1 MB limit"),
        (b"%PDF-1.4 a leaflet", "not a JPEG, PNG or WebP image"),
        (b"GIF89a" + PNG, "not a JPEG, PNG or WebP image"),
    ):
        with pytest.raises(Refused) as refused:
            broadcasting.check_image(small, data)
        assert str(refused.value) == why
    broadcasting.check_image(small, PNG)


async def test_a_draft_reaches_its_subscribers_and_each_language_reads_its_text(
    app: App, clock: Clock
) -> None:
    async with app.db.write() as session:
        work = Work(app.services, session, clock.now)
        for chat, area, language in ((1, "Toapaya", "id"), (2, "Toapaya", "en"), (3, None, "id")):
            await broadcasts.subscribe(
                session, Channel.TELEGRAM, str(chat), area=area, language=language, at=clock.now
            )
        own = await broadcasting.reach(work, broadcasting.Draft(text=TEXT, areas=["Toapaya"]))
        ready = await broadcasting.reach(
            work,
            broadcasting.Draft(library_id="signs", language="en"),
        )
    assert own.texts == {"id": TEXT, "en": TEXT}
    signs = library.get("signs")
    assert signs is not None and ready.texts == {"id": signs.texts["id"], "en": signs.texts["en"]}
    assert ready.count == 1


async def test_only_coordinators_store_a_broadcast_and_the_operators_is_nobodys(
    app: App, clock: Clock
) -> None:
    andi = await member(app, "Andi", Role.MEMBER)
    citra = await member(app, "Citra", Role.COORDINATOR)
    draft = broadcasting.Draft(text=TEXT, areas=["Toapaya"], image_sha256="ab" * 32)
    later = clock.now + timedelta(days=1)
    async with app.db.write() as session:
        work = Work(app.services, session, clock.now)
        with pytest.raises(Refused) as refused:
            await broadcasting.create(work, draft, later, by=andi)
        assert refused.value.message == NOT_ALLOWED
        theirs = await broadcasting.create(work, draft, later, by=citra)
        operators = await broadcasting.create(work, draft, clock.now, by=OPERATOR)
    assert (theirs.created_by, theirs.due_at, theirs.areas) == (citra.id, later, ["Toapaya"])
    assert theirs.image_sha256 == "ab" * 32
    assert operators.created_by is None and operators.due_at == clock.now
    assert broadcasting.local_time(app.services, later) == "2026-11-29 10:00"


async def test_a_broadcast_is_cancelled_once_and_an_unknown_one_is_refused(
    app: App, clock: Clock
) -> None:
    draft = broadcasting.Draft(text=TEXT)
    async with app.db.write() as session:
        work = Work(app.services, session, clock.now)
        made = await broadcasting.create(
            work,
            draft,
            clock.now + timedelta(hours=1),
            by=OPERATOR,
        )
        assert made.id is not None
        assert await broadcasting.cancel(work, made.id) == 0
        with pytest.raises(Refused) as refused:
            await broadcasting.cancel(work, made.id)
        assert str(refused.value) == f"broadcast #{made.id} is already cancelled"
        with pytest.raises(Refused) as refused:
            await broadcasting.cancel(work, 999)
        assert str(refused.value) == "no broadcast #999"
        got = await broadcasting.progress(session, made.id)
    assert (got.sent, got.failed, got.blocked, got.settled) == (0, 0, 0, 0)
