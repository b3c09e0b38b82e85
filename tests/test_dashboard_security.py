"""The dashboard's doors, each tried without the right to pass: no session, an expired or
reused link, an idle or ended session, a member's session on what is a coordinator's or an
admin's, a missing or wrong CSRF token, an evidence URL from another session. And the audit
rows a case page, a shown contact and a file write, and the language switch (a cookie as safe
as the session's, that only ever leads back into the dashboard). Against the Starlette app
itself (httpx), on both databases. The task force of tests/support reads English (its `[bot]
default_language`)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from bot.app import App
from bot.config import ServerSettings
from bot.dashboard import COOKIE, LANGUAGE_COOKIE, Dashboard
from handlers.settings import Agency, BotSettings, ReferralSettings
from storage import audit, referrals, reports
from storage.models import AgencyKind, Media, ReportState, Role
from tests.support.task_force import ANDI, BUDI, CITRA, TaskForce

BASE = "https://sigap.test"
PAGES = ["/dasbor/kasus", "/dasbor/kasus/tabel", "/dasbor/audit", "/dasbor/berkas/1?t=x"]
ACTIONS = ["terima", "catat", "tutup", "balas"]


@pytest.fixture
async def web(app: App, force: TaskForce) -> AsyncIterator[httpx.AsyncClient]:
    app.settings = app.settings.model_copy(update={"server": ServerSettings(public_url=BASE)})
    app.services.dashboard_url = app.settings.dashboard_url
    assert app.services.dashboard_url == f"{BASE}/dasbor"
    woken: list[int] = []
    panel = Dashboard(app, wake=lambda: woken.append(1))
    site = Starlette(routes=[*panel.routes(), Route("/x", lambda r: None)])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site), base_url=BASE, follow_redirects=False
    ) as client:
        yield client


async def link_of(force: TaskForce, chat: int) -> str:
    answer = await force.say(chat, "/masuk")
    found = re.search(r"https://sigap\.test(/dasbor/masuk/\S+)", answer)
    assert found, answer
    return found.group(1)


async def login(web: httpx.AsyncClient, path: str) -> httpx.AsyncClient:
    """A new browser (its own cookie jar) that logs in with the link."""
    browser = httpx.AsyncClient(transport=web._transport, base_url=BASE, follow_redirects=False)
    page = await browser.get(path)
    assert page.status_code == 200 and 'id="login"' in page.text  # a preview uses up nothing
    done = await browser.post(path)
    assert done.status_code == 303, done.text
    return browser


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


async def test_the_link_logs_in_once_with_a_safe_cookie(
    web: httpx.AsyncClient, force: TaskForce
) -> None:
    await force.add("Andi", ANDI)
    path = await link_of(force, ANDI)
    browser = await login(web, path)
    cookie = browser.cookies.jar
    header = (await web.post(path)).headers  # used: refused
    assert "set-cookie" not in header
    [set_cookie] = [c for c in cookie if c.name == COOKIE]
    assert set_cookie.secure and set_cookie.path == "/dasbor"
    page = await browser.get("/dasbor/kasus")
    assert page.status_code == 200 and "Andi (member)" in page.text
    # The Set-Cookie header itself: HttpOnly, Secure, SameSite=Lax.
    again = await login(web, await link_of(force, ANDI))
    raw = (await again.get("/dasbor/kasus")).request.headers.get("cookie", "")
    assert COOKIE in raw
    fresh = httpx.AsyncClient(transport=web._transport, base_url=BASE)
    response = await fresh.post(await link_of(force, ANDI))
    flags = response.headers["set-cookie"].lower()
    assert "httponly" in flags and "secure" in flags and "samesite=lax" in flags


async def test_a_used_or_expired_link_is_refused(web: httpx.AsyncClient, force: TaskForce) -> None:
    await force.add("Andi", ANDI)
    path = await link_of(force, ANDI)
    await login(web, path)
    assert (await web.post(path)).status_code == 401
    late = await link_of(force, ANDI)
    force.clock.advance(minutes=10, seconds=1)
    assert (await web.post(late)).status_code == 401
    assert (await web.post("/dasbor/masuk/not-a-token")).status_code == 401


async def test_strangers_get_no_link(force: TaskForce, web: httpx.AsyncClient) -> None:
    answer = await force.say(ANDI, "/masuk")
    assert "dasbor" not in answer and "Not allowed" in answer


async def test_every_page_and_action_needs_a_session(
    web: httpx.AsyncClient, force: TaskForce
) -> None:
    reference = await force.report()
    for path in [*PAGES, f"/dasbor/kasus/{reference}"]:
        assert (await web.get(path)).status_code == 401, path
    for action in ACTIONS:
        response = await web.post(f"/dasbor/kasus/{reference}/{action}", data={"csrf": "x"})
        assert response.status_code == 401, action
    assert (await web.post("/dasbor/keluar", data={"csrf": "x"})).status_code == 401
    # A made-up cookie is no session either.
    web.cookies.set(COOKIE, "made-up", domain="sigap.test", path="/dasbor")
    assert (await web.get("/dasbor/kasus")).status_code == 401


async def test_a_session_ends_after_12_idle_hours_and_at_logout(
    web: httpx.AsyncClient, force: TaskForce
) -> None:
    await force.add("Andi", ANDI)
    browser = await login(web, await link_of(force, ANDI))
    force.clock.advance(hours=11)
    assert (await browser.get("/dasbor/kasus")).status_code == 200  # the idle clock restarts
    force.clock.advance(hours=11)
    page = await browser.get("/dasbor/kasus")
    assert page.status_code == 200
    force.clock.advance(hours=12, seconds=1)
    assert (await browser.get("/dasbor/kasus")).status_code == 401

    browser = await login(web, await link_of(force, ANDI))
    page = await browser.get("/dasbor/kasus")
    token = browser.cookies.get(COOKIE)
    assert (await browser.post("/dasbor/keluar")).status_code == 403  # no CSRF token
    assert (await browser.post("/dasbor/keluar", data={"csrf": csrf_of(page)})).status_code == 303
    stale = httpx.AsyncClient(transport=web._transport, base_url=BASE)
    stale.cookies.set(COOKIE, token or "", domain="sigap.test", path="/dasbor")
    assert (await stale.get("/dasbor/kasus")).status_code == 401  # ended server-side


async def test_roles_as_in_the_bot(web: httpx.AsyncClient, force: TaskForce) -> None:
    await force.add("Andi", ANDI)
    await force.add("Budi", BUDI)
    await force.add("Citra", CITRA, Role.COORDINATOR)
    mine, theirs, nobodys = [await force.report() for _ in range(3)]
    async with force.app.db.write() as session:
        for reference, member in ((mine, "Andi"), (theirs, "Budi")):
            report = await reports.by_reference(session, reference)
            assert report is not None
            report.assignee_id = force.members[member].id
            report.state = ReportState.ACKNOWLEDGED
            session.add(report)
    andi = await login(web, await link_of(force, ANDI))
    table = (await andi.get("/dasbor/kasus/tabel")).text
    assert mine in table and nobodys in table and theirs not in table
    assert (await andi.get(f"/dasbor/kasus/{theirs}")).status_code == 404
    csrf = csrf_of(await andi.get(f"/dasbor/kasus/{mine}"))
    close = {"csrf": csrf, "outcome": "not_trafficking"}
    assert (await andi.post(f"/dasbor/kasus/{theirs}/tutup", data=close)).status_code == 404
    assert (await andi.get("/dasbor/audit")).status_code == 403  # admins only
    citra = await login(web, await link_of(force, CITRA))
    table = (await citra.get("/dasbor/kasus/tabel")).text
    assert all(r in table for r in (mine, theirs, nobodys))
    assert (await citra.get("/dasbor/audit")).status_code == 403  # a coordinator is no admin


async def test_every_action_needs_the_sessions_csrf_token(
    web: httpx.AsyncClient, force: TaskForce
) -> None:
    await force.add("Andi", ANDI, Role.COORDINATOR)
    await force.add("Budi", BUDI, Role.COORDINATOR)
    reference = await force.report()
    andi = await login(web, await link_of(force, ANDI))
    budi = await login(web, await link_of(force, BUDI))
    budis = csrf_of(await budi.get(f"/dasbor/kasus/{reference}"))
    for token in (None, "", "wrong", budis):
        data = {"text": "x", "outcome": "not_trafficking"}
        if token is not None:
            data["csrf"] = token
        for action in ACTIONS:
            response = await andi.post(f"/dasbor/kasus/{reference}/{action}", data=data)
            assert response.status_code == 403, (token, action)
    async with force.app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None and report.state is ReportState.NEW
    # With it, the acknowledgement goes the bot's way: the alert is edited.
    mine = csrf_of(await andi.get(f"/dasbor/kasus/{reference}"))
    done = await andi.post(f"/dasbor/kasus/{reference}/terima", data={"csrf": mine})
    assert done.status_code == 303
    await force.deliver()
    edits = force.fake.called("editMessageText")
    assert edits and all("Acknowledged by Andi" in c.params["text"] for c in edits)


async def test_evidence_only_by_the_url_of_ones_own_session(
    web: httpx.AsyncClient, force: TaskForce
) -> None:
    await force.add("Andi", ANDI, Role.COORDINATOR)
    await force.add("Budi", BUDI, Role.COORDINATOR)
    reference = await force.report()
    stored = await force.app.services.media.put(PNG)
    async with force.app.db.write() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None
        media = Media(
            created_at=force.clock(),
            report_id=report.id,
            sha256=stored.sha256,
            content_type="image/png",
            size=len(PNG),
        )
        session.add(media)
    andi = await login(web, await link_of(force, ANDI))
    budi = await login(web, await link_of(force, BUDI))
    page = await andi.get(f"/dasbor/kasus/{reference}")
    [url] = re.findall(r'<img class="evidence" src="([^"]+)"', page.text)
    url = url.replace("&amp;", "&")
    image = await andi.get(url)
    assert image.status_code == 200 and image.content == PNG
    assert (await budi.get(url)).status_code == 404  # another session's URL
    assert (await web.get(url)).status_code == 401  # no session
    media_id = url.split("/berkas/")[1].split("?")[0]
    assert (await andi.get(f"/dasbor/berkas/{media_id}")).status_code == 404
    assert (await andi.get(f"/dasbor/berkas/{media_id}?t=" + "0" * 32)).status_code == 404
    # Only the file Andi's session was given counts as seen: once, as evidence of that report.
    assert [look for look in await looks(force) if look[3] == "evidence"] == [
        ("dashboard", "Andi", reference, "evidence", f"file {media_id}")
    ]


async def looks(force: TaskForce) -> list[tuple[str, str, str, str, str]]:
    """The audit, oldest first: (door, who, report, what, where)."""
    async with force.app.db.read() as session:
        found = await audit.entries(session)
    return [(e.row.door, e.who, e.reference, e.row.what, e.row.place) for e in reversed(found)]


async def test_every_case_page_and_a_shown_contact_are_audited_and_listed_for_admins(
    web: httpx.AsyncClient, force: TaskForce
) -> None:
    await force.add("Andi", ANDI, Role.ADMIN)
    anonymous = await force.report()
    consenting = await force.report()
    async with force.app.db.write() as session:
        report = await reports.by_reference(session, consenting)
        assert report is not None
        report.anonymous, report.consent_contact = False, True
        report.contact_phone = "+6285711112222"
        session.add(report)
    andi = await login(web, await link_of(force, ANDI))
    assert "+6285711112222" not in (await andi.get("/dasbor/kasus")).text  # the table shows none
    assert await looks(force) == []  # the table shows no story either
    assert "+6285711112222" not in (await andi.get(f"/dasbor/kasus/{anonymous}")).text
    assert await looks(force) == [("dashboard", "Andi", anonymous, "story", "case page")]
    page = await andi.get(f"/dasbor/kasus/{consenting}")
    assert "+6285711112222" in page.text
    assert (await looks(force))[1:] == [
        ("dashboard", "Andi", consenting, "story", "case page"),
        ("dashboard", "Andi", consenting, "contact", "case page"),
    ]
    async with force.app.db.read() as session:
        [row] = [e.row for e in await audit.entries(session, reference=consenting, limit=1)]
    assert row.member_id == force.members["Andi"].id and row.at == force.clock()
    listed = await andi.get("/dasbor/audit")
    assert listed.status_code == 200
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td>(.*?)</td>", listed.text.split("<tbody>")[1])
    ]
    assert cells[1:6] == ["dashboard", "Andi", consenting, "contact", "case page"]


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def test_a_case_is_referred_from_its_page_by_whoever_may_act_on_it(
    web: httpx.AsyncClient, force: TaskForce
) -> None:
    force.app.services.referral = ReferralSettings(
        agencies=[Agency(name="Polres Bintan", kind=AgencyKind.POLICE, telegram_chat=-1001)]
    )
    await force.add("Andi", ANDI)
    await force.add("Budi", BUDI)
    reference = await force.report()
    await force.say(ANDI, f"/ack {reference}")
    budi = await login(web, await link_of(force, BUDI))
    assert (await budi.get(f"/dasbor/kasus/{reference}")).status_code == 404  # Andi's case
    andi = await login(web, await link_of(force, ANDI))
    page = await andi.get(f"/dasbor/kasus/{reference}")
    assert "Polres Bintan (Police)" in page.text and "override_reason" not in page.text
    form = {"csrf": csrf_of(page), "agency": "0"}
    assert (
        await andi.post(f"/dasbor/kasus/{reference}/rujuk", data={"agency": "0"})
    ).status_code == 403
    done = await andi.post(f"/dasbor/kasus/{reference}/rujuk", data=form)
    assert done.status_code == 303
    async with force.app.db.read() as session:
        report = await reports.by_reference(session, reference)
        assert report is not None and report.id is not None
        assert report.state is ReportState.REFERRED
        (referral,) = await referrals.of_report(session, report.id)
    assert referral.agency == "Polres Bintan" and not referral.with_identity  # anonymous
    again = await andi.post(f"/dasbor/kasus/{reference}/rujuk", data=form)
    assert again.status_code == 409 and "already referred to Polres Bintan" in again.text


def switch_to(page: httpx.Response, language: str) -> str:
    """The address of the header's link to the language."""
    found = re.search(rf'<a href="([^"]+)" hreflang="{language}"', page.text)
    assert found, page.text
    return html.unescape(found.group(1))


async def test_pages_speak_the_default_language_until_another_is_chosen(
    web: httpx.AsyncClient, force: TaskForce
) -> None:
    deployed = BotSettings().default_language  # as Sigap is deployed: Indonesian
    force.app.services.bot = force.app.services.bot.model_copy(
        update={"default_language": deployed}
    )
    assert deployed == "id"
    await force.add("Andi", ANDI)
    reference = await force.report()
    await force.say(ANDI, f"/ack {reference}")
    # Without a session: the refusal and the login page, in Indonesian.
    refused = await web.get("/dasbor/kasus")
    assert refused.status_code == 401 and '<html lang="id">' in refused.text
    assert "Silakan masuk" in refused.text and "<code>/masuk</code>" in refused.text
    path = await link_of(force, ANDI)
    browser = httpx.AsyncClient(transport=web._transport, base_url=BASE, follow_redirects=False)
    assert "Masuk ke dasbor" in (await browser.get(path)).text
    assert (await browser.post(path)).status_code == 303
    page = await browser.get("/dasbor/kasus?state=acknowledged")
    assert '<html lang="id">' in page.text
    for shown in ("Andi (anggota)", "Nomor laporan", "Penanggung jawab", "Keluar", "diterima"):
        assert shown in page.text, shown
    assert "Log out" not in page.text and "Reference" not in page.text
    # A use case's refusal, in the reader's language too.
    case = await browser.get(f"/dasbor/kasus/{reference}")
    assert "Tindakan" in case.text and "Tambah catatan" in case.text
    empty = {"csrf": csrf_of(case), "text": " "}
    noted = await browser.post(f"/dasbor/kasus/{reference}/catat", data=empty)
    assert noted.status_code == 409 and "Catatan perlu berisi teks atau berkas." in noted.text

    # The switch: back to the same page, the choice kept in a cookie as safe as the session's.
    switch = switch_to(page, "en")
    assert switch == "/dasbor/bahasa/en?ke=%2Fdasbor%2Fkasus%3Fstate%3Dacknowledged"
    switched = await browser.get(switch)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/dasbor/kasus?state=acknowledged"
    flags = [f.strip().lower() for f in switched.headers["set-cookie"].split(";")]
    assert flags[0] == f"{LANGUAGE_COOKIE}=en"
    assert {"httponly", "secure", "samesite=lax", "path=/dasbor"} <= set(flags)
    page = await browser.get(switched.headers["location"])
    assert '<html lang="en">' in page.text
    for shown in ("Andi (member)", "Reference", "Assignee", "Log out", "acknowledged"):
        assert shown in page.text, shown
    assert "Keluar" not in page.text and "Nomor laporan" not in page.text
    noted = await browser.post(f"/dasbor/kasus/{reference}/catat", data=empty)
    assert "A note needs text or a file." in noted.text
    # The answer to a form switches back to the page it was about.
    assert switch_to(noted, "id") == f"/dasbor/bahasa/id?ke=%2Fdasbor%2Fkasus%2F{reference}"
    # Without a session, the choice holds as well.
    stranger = httpx.AsyncClient(transport=web._transport, base_url=BASE)
    stranger.cookies.set(LANGUAGE_COOKIE, "en", domain="sigap.test", path="/dasbor")
    assert "Please log in" in (await stranger.get("/dasbor/kasus")).text

    # Only a page of the dashboard is gone back to; a language without a catalog is no choice.
    for elsewhere in ("https://evil.example/dasbor/", "//evil.example/dasbor/x", "/other"):
        answer = await browser.get("/dasbor/bahasa/id", params={"ke": elsewhere})
        assert answer.headers["location"] == "/dasbor/kasus", elsewhere
    assert (await browser.get("/dasbor/bahasa/fr")).status_code == 404
    assert "diterima" in (await browser.get("/dasbor/kasus")).text  # Indonesian again
