"""The coordinators' pages of the dashboard (bot/dashboard/sending.py) against the Starlette app
(httpx): statistics and the evaluation PDF, broadcasts (preview, send, progress), failed
deliveries sent again; a member's session and a missing CSRF token refused."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from pypdf import PdfReader
from sqlmodel import select
from starlette.applications import Starlette

from bot.app import App
from bot.config import ServerSettings
from bot.dashboard import Dashboard
from storage import broadcasts
from storage.models import Broadcast, Channel, MessageKind, Outbox, OutboxState, Role
from tests.support.images import png
from tests.support.task_force import ANDI, CITRA, DEWI, TaskForce
from tests.test_dashboard_security import switch_to

BASE = "https://sigap.test"
PAGES = [
    "/dasbor/statistik",
    "/dasbor/statistik/evaluasi",
    "/dasbor/siaran",
    "/dasbor/siaran/1",
    "/dasbor/siaran/1/kemajuan",
    "/dasbor/siaran/gambar/ab12?t=x",
    "/dasbor/pengiriman",
]
FORMS = ["/dasbor/siaran/pratinjau", "/dasbor/siaran/kirim", "/dasbor/pengiriman/ulang"]
MESSAGE = "Hati-hati dengan tawaran kerja ke luar negeri yang meminta uang di muka."


@pytest.fixture
async def web(app: App, force: TaskForce) -> AsyncIterator[httpx.AsyncClient]:
    app.settings = app.settings.model_copy(update={"server": ServerSettings(public_url=BASE)})
    app.services.dashboard_url = app.settings.dashboard_url
    site = Starlette(routes=Dashboard(app).routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site), base_url=BASE, follow_redirects=False
    ) as client:
        yield client


async def logged_in(web: httpx.AsyncClient, force: TaskForce, chat: int) -> httpx.AsyncClient:
    answer = await force.say(chat, "/masuk")
    found = re.search(r"https://sigap\.test(/dasbor/masuk/\S+)", answer)
    assert found, answer
    browser = httpx.AsyncClient(transport=web._transport, base_url=BASE, follow_redirects=False)
    assert (await browser.post(found.group(1))).status_code == 303
    return browser


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


async def test_only_coordinators_and_admins_and_only_with_the_csrf_token(
    web: httpx.AsyncClient, force: TaskForce, app: App
) -> None:
    await force.add("Andi", ANDI)
    await force.add("Citra", CITRA, Role.COORDINATOR)
    for path in [*PAGES]:
        assert (await web.get(path)).status_code == 401, path
    andi = await logged_in(web, force, ANDI)
    for path in PAGES:
        assert (await andi.get(path)).status_code == 403, path
    page = await andi.get("/dasbor/kasus")
    assert "/dasbor/siaran" not in page.text  # no links for a member
    for path in FORMS:
        answer = await andi.post(path, data={"csrf": csrf_of(page), "text": MESSAGE})
        assert answer.status_code == 403, path
    citra = await logged_in(web, force, CITRA)
    page = await citra.get("/dasbor/siaran")
    assert page.status_code == 200 and "/dasbor/pengiriman" in page.text
    for path in FORMS:
        assert (await citra.post(path, data={"text": MESSAGE})).status_code == 403, path
        wrong = {"text": MESSAGE, "csrf": "wrong"}
        assert (await citra.post(path, data=wrong)).status_code == 403, path
    async with app.db.read() as session:
        assert (await session.exec(select(Broadcast))).first() is None


async def test_the_statistics_page_and_the_evaluation_pdf(
    web: httpx.AsyncClient, force: TaskForce
) -> None:
    await force.add("Citra", CITRA, Role.COORDINATOR)
    await force.report()
    citra = await logged_in(web, force, CITRA)
    year = force.clock().year
    page = await citra.get("/dasbor/statistik")
    assert page.status_code == 200 and f"Statistics {year}" in page.text
    assert "<svg" in page.text and f"/dasbor/statistik/evaluasi?tahun={year}" in page.text
    assert (await citra.get("/dasbor/statistik?tahun=1999")).status_code == 400
    assert "<h2>Reports per month</h2>" in page.text
    pdf = await citra.get(f"/dasbor/statistik/evaluasi?tahun={year}")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert f'attachment; filename="evaluasi-{year}.pdf"' == pdf.headers["content-disposition"]
    assert pdf.content.startswith(b"%PDF")
    assert f"Yearly case evaluation {year}" in pdf_text(pdf.content)
    # In Indonesian once chosen: the page, its charts and the evaluation downloaded.
    switched = await citra.get(switch_to(page, "id"))
    page = await citra.get(switched.headers["location"])
    assert f"Statistik {year}" in page.text and "<h2>Laporan per bulan</h2>" in page.text
    assert "Unduh evaluasi tahunan (PDF)" in page.text
    pdf = await citra.get(f"/dasbor/statistik/evaluasi?tahun={year}")
    text = pdf_text(pdf.content)
    assert f"Evaluasi Kasus Tahunan {year}" in text and "Laporan per bulan" in text


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_a_broadcast_previewed_sent_and_followed(
    web: httpx.AsyncClient, force: TaskForce, app: App
) -> None:
    await force.add("Citra", CITRA, Role.COORDINATOR)
    async with app.db.write() as session:
        for address in ("5101", "5102"):
            await broadcasts.subscribe(
                session, Channel.TELEGRAM, address, area=None, language="id", at=force.clock()
            )
    citra = await logged_in(web, force, CITRA)
    token = csrf_of(await citra.get("/dasbor/siaran"))
    short = await citra.post("/dasbor/siaran/pratinjau", data={"csrf": token, "text": "short"})
    assert short.status_code == 409 and "20 to 3000 characters" in short.text
    form = {"csrf": token, "text": MESSAGE, "language": "id"}
    preview = await citra.post("/dasbor/siaran/pratinjau", data=form)
    assert preview.status_code == 200
    assert "<strong>2</strong> subscriber(s), now" in preview.text and MESSAGE in preview.text
    sent = await citra.post("/dasbor/siaran/kirim", data=form)
    assert sent.status_code == 303
    location = sent.headers["location"]
    page = await citra.get(location)
    assert page.status_code == 200 and "scheduled" in page.text
    async with app.db.read() as session:
        [made] = (await session.exec(select(Broadcast))).all()
    assert made.text == MESSAGE and made.language == "id" and made.areas == []
    fragment = await citra.get(f"{location}/kemajuan")
    assert fragment.status_code == 200 and "0%" in fragment.text


async def test_failed_messages_shown_with_the_reason_and_sent_again(
    web: httpx.AsyncClient, force: TaskForce, app: App
) -> None:
    await force.add("Citra", CITRA, Role.COORDINATOR)
    now = force.clock()
    async with app.db.write() as session:
        row = Outbox(
            created_at=now,
            updated_at=now,
            channel=Channel.TELEGRAM,
            address="123456789",
            kind=MessageKind.REPLY,
            text="hello",
            state=OutboxState.FAILED,
            error_code="403",
            error="Forbidden: bot was blocked",
        )
        session.add(row)
        await session.flush()
        row_id = row.id
    citra = await logged_in(web, force, CITRA)
    page = await citra.get("/dasbor/pengiriman")
    assert "Forbidden: bot was blocked" in page.text and "123456789" not in page.text
    done = await citra.post(
        "/dasbor/pengiriman/ulang", data={"csrf": csrf_of(page), "id": str(row_id)}
    )
    assert done.status_code == 303, done.text
    async with app.db.read() as session:
        again = await session.get(Outbox, row_id)
        assert again is not None and again.state == OutboxState.PENDING
    assert "No failed messages" in (await citra.get("/dasbor/pengiriman")).text


async def test_a_broadcast_with_an_image_uploaded_previewed_and_carried_to_the_send(
    web: httpx.AsyncClient, force: TaskForce, app: App
) -> None:
    await force.add("Citra", CITRA, Role.COORDINATOR)
    await force.add("Dewi", DEWI, Role.COORDINATOR)
    citra = await logged_in(web, force, CITRA)
    token = csrf_of(await citra.get("/dasbor/siaran"))
    fields = {"csrf": token, "text": MESSAGE}

    not_image = await citra.post(
        "/dasbor/siaran/pratinjau",
        data=fields,
        files={"image_file": ("poster.png", b"just text", "image/png")},
    )
    assert not_image.status_code == 409
    assert "The image was not taken. This is not a JPEG, PNG or WebP image." in not_image.text
    assert MESSAGE in not_image.text  # the text typed is kept

    picture = png()
    preview = await citra.post(
        "/dasbor/siaran/pratinjau",
        data=fields,
        files={"image_file": ("poster.png", picture, "image/png")},
    )
    assert preview.status_code == 200 and MESSAGE in preview.text
    found = re.search(r'<img src="([^"]+)"[^>]*id="preview-image"', preview.text)
    assert found, preview.text
    address = found.group(1).replace("&amp;", "&")
    shown = await citra.get(address)
    assert shown.status_code == 200 and shown.content == picture
    assert shown.headers["content-type"] == "image/png"
    dewi = await logged_in(web, force, DEWI)
    assert (await dewi.get(address)).status_code == 404  # another session's address
    assert (await web.get(address)).status_code == 401

    carried = dict(re.findall(r'name="(image|image_t)" value="([^"]+)"', preview.text))
    assert set(carried) == {"image", "image_t"}
    forged = {**fields, "image": carried["image"], "image_t": "0" * 32}
    assert (await citra.post("/dasbor/siaran/kirim", data=forged)).status_code == 403
    sent = await citra.post("/dasbor/siaran/kirim", data={**fields, **carried})
    assert sent.status_code == 303, sent.text
    async with app.db.read() as session:
        [made] = (await session.exec(select(Broadcast))).all()
    assert made.image_sha256 == hashlib.sha256(picture).hexdigest()
    assert await app.services.media.read(made.image_sha256) == picture
