"""The dashboard's roster (/dasbor/piket) and members (/dasbor/anggota) pages: who may see and
change what, CSRF on every form, and the changes made through the bot's use cases."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from bot.app import App
from bot.config import ServerSettings
from bot.dashboard import Dashboard
from storage import members, roster
from storage.models import Role
from storage.roster import ShiftRow
from tests.support.task_force import ANDI, BUDI, CITRA, DEWI, TaskForce
from tests.test_dashboard_security import BASE, csrf_of, link_of, login


@pytest.fixture
async def site(app: App, force: TaskForce) -> AsyncIterator[httpx.AsyncClient]:
    app.settings = app.settings.model_copy(update={"server": ServerSettings(public_url=BASE)})
    app.services.dashboard_url = app.settings.dashboard_url
    panel = Dashboard(app)
    web = Starlette(routes=panel.routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url=BASE, follow_redirects=False
    ) as client:
        yield client


async def shifts(force: TaskForce) -> list[ShiftRow]:
    async with force.app.db.read() as session:
        return await roster.shifts(session)


async def people(force: TaskForce) -> None:
    await force.add("Andi", ANDI)
    await force.add("Budi", BUDI)
    await force.add("Citra", CITRA, Role.COORDINATOR)
    await force.add("Dewi", DEWI, Role.ADMIN)
    await force.shifts((0, "08:00", "16:00", ["Andi"]), (0, "16:00", "08:00", ["Budi"]))


async def test_everyone_sees_the_roster_only_coordinators_edit_it(
    site: httpx.AsyncClient, force: TaskForce
) -> None:
    await people(force)
    andi = await login(site, await link_of(force, ANDI))
    page = await andi.get("/dasbor/piket")
    assert page.status_code == 200 and 'id="grid"' in page.text and "Andi" in page.text
    assert "/piket/ubah" not in page.text  # a member sees no form
    edit = {"csrf": csrf_of(page), "shift": "0", "day": "mon", "start": "08:00", "end": "12:00"}
    assert (await andi.post("/dasbor/piket/ubah", data=edit)).status_code == 403
    assert (await site.post("/dasbor/piket/ubah", data=edit)).status_code == 401
    citra = await login(site, await link_of(force, CITRA))
    page = await citra.get("/dasbor/piket")
    assert "/piket/ubah" in page.text
    mine = csrf_of(page)
    for token in (None, "", "wrong", edit["csrf"]):
        data = {**edit, "members": "Citra"}
        data.pop("csrf")
        if token is not None:
            data["csrf"] = token
        assert (await citra.post("/dasbor/piket/ubah", data=data)).status_code == 403
    assert (await shifts(force))[0].end == "16:00"
    done = await citra.post("/dasbor/piket/ubah", data={**edit, "csrf": mine, "members": "Citra"})
    assert done.status_code == 303
    first, second = await shifts(force)
    assert (first.start, first.end, first.member_ids) == (
        "08:00",
        "12:00",
        (force.members["Citra"].id,),
    )
    assert second.member_ids == (force.members["Budi"].id,)  # the other shift kept
    # A new shift, a wrong one (nothing changes), and removing one.
    new = {
        "csrf": mine,
        "shift": "new",
        "day": "sel",
        "start": "09:00",
        "end": "17:00",
        "members": "Andi",
    }
    assert (await citra.post("/dasbor/piket/ubah", data=new)).status_code == 303
    assert len(await shifts(force)) == 3
    wrong = {**new, "members": "Nobody"}
    refused = await citra.post("/dasbor/piket/ubah", data=wrong)
    assert refused.status_code == 409 and "no member" in refused.text
    assert len(await shifts(force)) == 3
    gone = {"csrf": mine, "shift": "1", "remove": "1"}
    assert (await citra.post("/dasbor/piket/ubah", data=gone)).status_code == 303
    assert [s.weekday for s in await shifts(force)] == [0, 1]


async def test_overrides_and_who_is_on_duty_are_shown(
    site: httpx.AsyncClient, force: TaskForce
) -> None:
    await people(force)
    async with force.app.db.write() as session:
        now = force.clock()
        await roster.add_override(
            session,
            force.members["Budi"].id or 0,
            now,
            now.replace(year=now.year + 1),
            on_duty=True,
        )
    andi = await login(site, await link_of(force, ANDI))
    page = (await andi.get("/dasbor/piket")).text
    now_box = page.split('id="now"')[1].split("</div>")[0]
    assert "Budi" in now_box
    assert "on duty" in page.split('id="overrides"')[1]


async def test_a_coordinator_puts_someone_on_duty_for_a_while_and_ends_it(
    site: httpx.AsyncClient, force: TaskForce
) -> None:
    await people(force)
    await force.add("Eka", 9005)
    eka_id = force.members["Eka"].id
    local = force.clock().astimezone(force.app.services.bot.zone)

    def at(hours: float) -> str:
        return (local + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")

    def on_duty_now(page: httpx.Response) -> str:
        return page.text.split('id="now"')[1].split("</div>")[0]

    add = {"member": str(eka_id), "state": "on", "starts": "", "ends": at(4)}
    andi = await login(site, await link_of(force, ANDI))
    page = await andi.get("/dasbor/piket")
    assert "/piket/pengecualian" not in page.text
    assert (
        await andi.post("/dasbor/piket/pengecualian", data={**add, "csrf": csrf_of(page)})
    ).status_code == 403
    assert (await site.post("/dasbor/piket/pengecualian", data=add)).status_code == 401
    citra = await login(site, await link_of(force, CITRA))
    token = csrf_of(await citra.get("/dasbor/piket"))
    assert (await citra.post("/dasbor/piket/pengecualian", data=add)).status_code == 403
    for wrong, says in [
        ({"ends": "tomorrow"}, "Give the times like 2026-12-01 08:00."),
        ({"ends": at(-1)}, "The end must be after the start, and not in the past."),
        ({"ends": at(24 * 40)}, "An override lasts at most 31 days"),
        ({"member": "999"}, "no member"),
    ]:
        refused = await citra.post(
            "/dasbor/piket/pengecualian", data={**add, **wrong, "csrf": token}
        )
        assert refused.status_code == 409 and says in refused.text, wrong
    async with force.app.db.read() as session:
        assert not await roster.overrides(session, force.clock())

    done = await citra.post("/dasbor/piket/pengecualian", data={**add, "csrf": token})
    assert done.status_code == 303
    page = await citra.get("/dasbor/piket")
    assert "Eka" in on_duty_now(page)
    [row] = re.findall(r'data-override="(\d+)"', page.text)
    end = f"/dasbor/piket/pengecualian/{row}/akhiri"
    assert (await andi.post(end, data={"csrf": token})).status_code == 403
    assert (await citra.post(end, data={"csrf": token})).status_code == 303
    page = await citra.get("/dasbor/piket")
    assert "Eka" not in on_duty_now(page) and 'data-override="' not in page.text
    again = await citra.post(end, data={"csrf": token})
    assert again.status_code == 409 and "already ended" in again.text


async def test_the_last_weekly_shift_is_removed_only_when_confirmed(
    site: httpx.AsyncClient, force: TaskForce
) -> None:
    await people(force)
    citra = await login(site, await link_of(force, CITRA))
    token = csrf_of(await citra.get("/dasbor/piket"))
    gone = {"csrf": token, "shift": "1", "remove": "1"}
    assert (await citra.post("/dasbor/piket/ubah", data=gone)).status_code == 303
    last = {**gone, "shift": "0"}
    refused = await citra.post("/dasbor/piket/ubah", data=last)
    assert refused.status_code == 409 and "This is the last weekly shift" in refused.text
    assert 'name="confirm_empty"' in refused.text
    assert len(await shifts(force)) == 1
    confirmed = {**last, "confirm_empty": "1"}
    assert (await citra.post("/dasbor/piket/ubah", data=confirmed)).status_code == 303
    assert await shifts(force) == []


async def test_members_page_coordinators_see_admins_manage(
    site: httpx.AsyncClient, force: TaskForce
) -> None:
    await people(force)
    budi_id = force.members["Budi"].id
    andi = await login(site, await link_of(force, ANDI))
    assert (await andi.get("/dasbor/anggota")).status_code == 403
    citra = await login(site, await link_of(force, CITRA))
    page = await citra.get("/dasbor/anggota")
    assert page.status_code == 200 and "Budi" in page.text and "telegram" in page.text
    assert "/anggota/undang" not in page.text
    token = csrf_of(page)
    tries = [
        ("/dasbor/anggota/undang", {"name": "Eka", "role": "member"}),
        (f"/dasbor/anggota/{budi_id}/peran", {"role": "admin"}),
        (f"/dasbor/anggota/{budi_id}/hapus", {}),
    ]
    for path, data in tries:
        assert (await citra.post(path, data={**data, "csrf": token})).status_code == 403, path
        assert (await andi.post(path, data={**data, "csrf": token})).status_code == 403, path
        assert (await site.post(path, data=data)).status_code == 401, path
    dewi = await login(site, await link_of(force, DEWI))
    mine = csrf_of(await dewi.get("/dasbor/anggota"))
    for path, data in tries:  # no or a wrong token
        assert (await dewi.post(path, data=data)).status_code == 403, path
        assert (await dewi.post(path, data={**data, "csrf": token})).status_code == 403, path
    async with force.app.db.read() as session:
        budi = await members.get(session, budi_id or 0)
        assert budi is not None and budi.role == Role.MEMBER and budi.removed_at is None

    invited = await dewi.post("/dasbor/anggota/undang", data={**tries[0][1], "csrf": mine})
    assert invited.status_code == 200 and "/gabung " in invited.text
    made = await dewi.post(tries[1][0], data={**tries[1][1], "csrf": mine})
    assert made.status_code == 303
    gone = await dewi.post(tries[2][0], data={"csrf": mine})
    assert gone.status_code == 303
    async with force.app.db.read() as session:
        budi = await members.get(session, budi_id or 0)
        assert budi is not None and budi.role == Role.ADMIN and budi.removed_at is not None
    listed = (await dewi.get("/dasbor/anggota")).text
    assert "Budi" in listed  # removed members stay listed, with the time
    # The last admin stays: the use case refuses, the page says why.
    dewi_id = force.members["Dewi"].id
    last = await dewi.post(
        f"/dasbor/anggota/{dewi_id}/peran", data={"role": "member", "csrf": mine}
    )
    assert last.status_code == 409 and "last admin" in last.text
