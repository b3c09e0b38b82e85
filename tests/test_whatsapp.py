"""The WhatsApp channel: signed requests built with twilio's RequestValidator, replies through
twilio's real async client to a fake Twilio server that checks them against Twilio's
published API description."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlmodel import select
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from bot.app import App
from bot.config import ServerSettings
from bot.delivery import Gone
from bot.service import Service
from bot.whatsapp import classify
from handlers.taskforce.broadcast import start_due
from storage import broadcasts, conversations, members, outbox
from storage.models import Channel, Media, MessageKind, Outbox, OutboxState, Report, Role
from tests.fakes.twilio import AUTH_TOKEN, FakeTwilio
from tests.support.answers import ANONYMOUS_TO_STORY, CONTACTABLE_TO_STORY, Turns
from tests.support.clock import Clock, no_wait
from tests.support.whatsapp import (
    PUBLIC,
    RESIDENT,
    SANDBOX,
    STORY,
    WhatsApp,
    whatsapp_settings,
)

ALERT_TEMPLATE = "HX" + "a1" * 16
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# An English report answered up to the files, asked for from the summary ("Add details").
UP_TO_EVIDENCE: Turns = [
    ("REPORT", "is any of these happening?"),
    *ANONYMOUS_TO_STORY,
    (STORY, "Please check your report"),
    ("2", "How did the offer come?"),
    ("1", "photos, screenshots or documents"),
]
# ...and up to "where did this happen?"
UP_TO_WHERE: Turns = [*UP_TO_EVIDENCE, ("done", "Where did this happen")]


async def notify(
    service: Service, text: str, kind: MessageKind, variables: dict[str, str] | None = None
) -> Outbox:
    """A message the system sends on its own, through the outbox and the delivery job."""
    app = service.app
    async with app.db.write() as session:
        row = await outbox.enqueue(
            session,
            Channel.WHATSAPP,
            RESIDENT,
            kind,
            text,
            at=app.services.clock(),
            variables=variables,
        )
    await service.delivery.run()
    async with app.db.read() as session:
        sent = await outbox.get(session, row.id or 0)
    assert sent is not None
    return sent


@pytest.fixture
async def service(app: App, twilio: FakeTwilio) -> AsyncIterator[Service]:
    app.settings = app.settings.model_copy(
        update={
            "whatsapp": whatsapp_settings(twilio, templates={"alert": ALERT_TEMPLATE}),
            "server": ServerSettings(port=0, public_url=PUBLIC),
        }
    )
    running = Service(app)
    await running.start()
    running.jobs.scheduler.pause()  # the tests run the delivery job themselves
    assert running.whatsapp is not None
    running.whatsapp.sleep = no_wait
    yield running
    await running.stop()
    assert twilio.contract_violations == []


@pytest.fixture
async def phone(service: Service, twilio: FakeTwilio) -> AsyncIterator[WhatsApp]:
    resident = WhatsApp(service, twilio)
    yield resident
    await resident.http.aclose()


async def test_a_resident_reports_on_whatsapp_in_indonesian(
    phone: WhatsApp, app: App, twilio: FakeTwilio
) -> None:
    answer = await phone.send("halo")
    assert "Selamat datang" in answer and "1. Laporkan tawaran kerja" in answer
    assert "Balas dengan angka 1 sampai 7." in answer
    answer = await phone.send("LAPOR")
    assert "anonim" in answer and "apakah salah satu dari ini sedang terjadi?" in answer
    await phone.dialog(
        [
            ("4", "Bolehkah mereka menghubungi Anda"),
            ("1", "Siapa yang menerima tawaran ini"),
            ("1", "Apakah ada anak (di bawah 18 tahun) yang terlibat?"),
            ("2", "Apa jenis pekerjaan atau tawarannya?"),
            ("1", "Katanya tempat kerjanya di mana?"),
            ("1", "Mana saja yang terjadi?"),
            ("1 3", "mengenali perekrutnya"),
            ("Pak Budi", "Sudah dicatat"),
            ("0812-3456-7890", "Nomor HP: +6281234567890"),
            ("selesai", "Ceritakan apa yang terjadi"),
            (STORY, "Mohon periksa laporan Anda"),
            ("2", "Lewat apa tawaran ini datang?"),
            ("1", "foto, tangkapan layar, atau dokumen"),
            ("selesai", "Di mana ini terjadi"),
            ("2", "Mohon periksa laporan Anda"),
        ]
    )
    answer = await phone.send("1")
    assert re.search(r"Nomor laporan Anda: BTN-2026-00001", answer)
    assert "HAPUS" in answer
    async with app.db.read() as session:
        (report,) = (await session.exec(select(Report))).all()
    assert report.channel is Channel.WHATSAPP and report.sender == RESIDENT
    assert report.red_flags == ["upfront_fees", "unofficial_route"]
    assert report.recruiter_name == "Pak Budi" and report.area == "Bintan Timur"
    (first, *_rest) = twilio.to(RESIDENT)
    assert first.params["From"] == SANDBOX and first.params["To"] == f"whatsapp:{RESIDENT}"
    assert first.params["StatusCallback"] == f"{PUBLIC}/whatsapp/status"


async def test_a_resident_reports_in_english_and_shares_their_number(
    phone: WhatsApp, app: App
) -> None:
    await phone.send("LANGUAGE en")
    assert "is any of these happening?" in await phone.send("REPORT")
    # On WhatsApp the channel knows the number: it is offered instead of asked for.
    await phone.dialog(
        [
            *CONTACTABLE_TO_STORY[:2],
            ("1", "Which number can the task force contact you on?"),
        ]
    )
    answer = await phone.send("")  # an empty message changes nothing
    assert "This number: +6281234567890" in answer
    assert "Who received this offer" in await phone.send("1")
    await phone.dialog([*ANONYMOUS_TO_STORY[2:], (STORY, "Please check your report")])
    await phone.send("1")
    async with app.db.read() as session:
        (report,) = (await session.exec(select(Report))).all()
    assert report.contact_phone == RESIDENT and report.language == "en"
    assert report.consent_share_with_police


async def test_forged_unsigned_and_internal_url_signatures_are_refused(
    phone: WhatsApp, twilio: FakeTwilio, app: App
) -> None:
    params = phone.message("LAPOR")
    internal = phone.service.web.url + "/whatsapp/inbound"
    wrong = RequestValidator(AUTH_TOKEN).compute_signature(internal, params)
    forged = RequestValidator("someone-else").compute_signature(
        PUBLIC + "/whatsapp/inbound", params
    )
    for signature in (None, "", forged, wrong):
        response = await phone.post("/whatsapp/inbound", params, signature=signature)
        assert response.status_code == 403
    tampered = {**params, "Body": "STATUS"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + "/whatsapp/inbound", params)
    response = await phone.post("/whatsapp/inbound", tampered, signature=signature)
    assert response.status_code == 403
    assert twilio.messages == []
    async with app.db.read() as session:
        assert await conversations.find(session, Channel.WHATSAPP, RESIDENT) is None


async def test_a_replayed_message_is_handled_once(phone: WhatsApp, twilio: FakeTwilio) -> None:
    params = phone.message("LAPOR")
    for _ in range(3):
        response = await phone.post("/whatsapp/inbound", params)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/xml")
    assert len(twilio.to(RESIDENT)) == 1


async def test_numbered_and_multiple_choices_with_bad_numbers(phone: WhatsApp) -> None:
    await phone.send("LANGUAGE en")
    await phone.send("REPORT")
    assert "7 is not one of the options. Reply with a number from 1 to 4." in await phone.send("7")
    for body in ["4", "1", "1", "2", "1", "1"]:
        await phone.send(body)
    answer = await phone.send("1,99")
    assert "99 is not one of the options. Reply with one or more numbers" in answer
    assert "Which of these happened?" in answer
    assert "identifies the recruiter" in await phone.send("1, 5 9")


async def test_photos_are_downloaded_with_the_account_credentials(
    phone: WhatsApp, twilio: FakeTwilio, app: App
) -> None:
    await phone.send("LANGUAGE en")
    await phone.dialog(UP_TO_EVIDENCE)
    url = twilio.add_media(PNG, "image/png")
    answer = await phone.send(NumMedia="1", MediaUrl0=url, MediaContentType0="image/png")
    assert "1 file(s) received" in answer
    gone = twilio.add_media(PNG, "image/png")
    twilio.refuse_media(gone)
    answer = await phone.send(NumMedia="1", MediaUrl0=gone, MediaContentType0="image/png")
    assert "I could not read that file." in answer
    big = twilio.add_media(b"\xff\xd8\xff" + b"0" * (21 * 1024 * 1024), "image/jpeg")
    answer = await phone.send(NumMedia="1", MediaUrl0=big, MediaContentType0="image/jpeg")
    assert "That file is too large" in answer
    async with app.db.read() as session:
        (media,) = (await session.exec(select(Media))).all()
    assert media.content_type == "image/png"


async def test_a_shared_location_answers_where(phone: WhatsApp, app: App) -> None:
    await phone.send("LANGUAGE en")
    await phone.dialog(UP_TO_WHERE)
    answer = await phone.send(Latitude="1.0587", Longitude="104.4845", Address="Tanjung Uban")
    assert "Please check your report" in answer and "1.05870, 104.48450" in answer


async def test_long_answers_are_split_to_fit_whatsapp(phone: WhatsApp, twilio: FakeTwilio) -> None:
    await phone.send("LANGUAGE en")
    await phone.send("HELP")
    assert all(len(m.params.get("Body", "")) <= 1600 for m in twilio.messages)


async def test_the_24_hour_window_decides_free_text_or_template(
    phone: WhatsApp, service: Service, twilio: FakeTwilio, clock: Clock, app: App
) -> None:
    await phone.send("halo")
    inside = await notify(service, "New report BTN-2026-00001", MessageKind.ALERT)
    assert inside.state is OutboxState.SENT
    assert twilio.messages[-1].params["Body"] == "New report BTN-2026-00001"

    clock.advance(hours=25)
    outside = await notify(
        service, "New report BTN-2026-00002", MessageKind.ALERT, {"1": "BTN-2026-00002"}
    )
    assert outside.state is OutboxState.SENT and outside.provider_id == twilio.messages[-1].sid
    last = twilio.messages[-1].params
    assert last["ContentSid"] == ALERT_TEMPLATE and "Body" not in last
    assert last["ContentVariables"] == '{"1": "BTN-2026-00002"}'

    sent = len(twilio.messages)
    missing = await notify(service, "Follow-up", MessageKind.FOLLOWUP)
    assert missing.state is OutboxState.FAILED
    assert missing.error_code == "no_template" and "followup" in (missing.error or "")
    assert len(twilio.messages) == sent


async def test_status_callbacks_update_the_delivery_state(
    phone: WhatsApp, twilio: FakeTwilio, app: App
) -> None:
    await phone.send("halo")
    sid = twilio.messages[-1].sid
    for status in ("sent", "delivered", "sent", "read"):  # a late "sent" changes nothing
        response = await phone.post(
            "/whatsapp/status", {"MessageSid": sid, "MessageStatus": status}
        )
        assert response.status_code == 200
    async with app.db.read() as session:
        (row,) = (await session.exec(select(Outbox))).all()
    assert row.state is OutboxState.READ and row.kind is MessageKind.REPLY
    unknown = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered"}
    assert (await phone.post("/whatsapp/status", unknown)).status_code == 200
    failed = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "63016"}
    assert (await phone.post("/whatsapp/status", failed, signature=None)).status_code == 403


async def test_permanent_errors_are_recorded_and_transient_ones_retried(
    phone: WhatsApp, service: Service, twilio: FakeTwilio, app: App
) -> None:
    await phone.send("halo")
    twilio.fail(status=429, code=20429, message="Too Many Requests")
    twilio.fail(status=503, code=20503, message="Service Unavailable")
    row = await notify(service, "retried", MessageKind.REPORT_UPDATE)
    assert row.state is OutboxState.SENT
    assert twilio.bodies(RESIDENT)[-1] == "retried"

    for code in (21211, 63016):
        attempts = len(twilio.attempts)
        twilio.fail(status=400, code=code, message="no")
        row = await notify(service, f"code {code}", MessageKind.REPORT_UPDATE)
        assert row.state is OutboxState.FAILED
        assert row.error_code == str(code)
        assert len(twilio.attempts) == attempts + 1  # not retried
    async with app.db.read() as session:
        conv = await conversations.find(session, Channel.WHATSAPP, RESIDENT)
    assert conv is not None and conv.unreachable_at is not None


async def test_stop_and_start_are_confirmed_and_respected(
    phone: WhatsApp, service: Service, twilio: FakeTwilio
) -> None:
    answer = await phone.send("BERHENTI")
    assert "Anda tidak akan menerima pesan lagi dari kami" in answer
    row = await notify(service, "broadcast", MessageKind.BROADCAST)
    assert row.state is OutboxState.FAILED and row.error_code == "opted_out"
    assert "broadcast" not in twilio.bodies(RESIDENT)
    # Direct replies still come.
    assert "Anda belum pernah mengirim laporan" in await phone.send("STATUS")
    assert "Pesan dari kami aktif kembali." in await phone.send("MULAI LAGI")
    row = await notify(service, "broadcast", MessageKind.BROADCAST)
    assert row.state is OutboxState.SENT and twilio.bodies(RESIDENT)[-1] == "broadcast"
    answer = await phone.send("STOP")
    assert "Anda tidak akan menerima pesan lagi" in answer


async def test_a_recipient_who_opted_out_at_twilio_is_not_sent_to_again(
    phone: WhatsApp, service: Service, twilio: FakeTwilio
) -> None:
    await phone.send("halo")
    twilio.fail(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    row = await notify(service, "one", MessageKind.BROADCAST)
    assert row.error_code == "21610"
    row = await notify(service, "two", MessageKind.BROADCAST)
    assert row.error_code == "opted_out" and "two" not in twilio.bodies(RESIDENT)


async def test_health_reports_whatsapp(phone: WhatsApp, service: Service) -> None:
    response = await phone.http.get(service.web.url + "/healthz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "up"
    assert body["whatsapp"]["state"] == "up" and "telegram" not in body


async def test_a_member_on_whatsapp_gets_the_alert_and_answers_ack(
    phone: WhatsApp, service: Service, twilio: FakeTwilio, app: App
) -> None:
    officer = WhatsApp(service, twilio, number="+6281377770000")
    async with app.db.write() as session:
        member = await members.add(session, "Eko", Role.MEMBER, at=app.services.clock())
        await members.link(session, member, Channel.WHATSAPP, officer.number)
    await officer.send("halo")  # inside the 24-hour window: the alert goes as text
    await phone.send("LANGUAGE en")
    await phone.dialog(
        [
            *UP_TO_WHERE,
            ("2", "Please check your report"),
            ("1", "Your reference number"),
        ]
    )
    alert = twilio.bodies(officer.number)[-1]
    assert "BTN-2026-00001" in alert and "Balas ACK BTN-2026-00001" in alert
    answer = await officer.send("ACK BTN-2026-00001")
    assert "BTN-2026-00001" in answer and "Eko" in answer
    await service.delivery.run()
    assert twilio.bodies(RESIDENT)[-1] == "There is news for you. Type STATUS to read it."
    status = await phone.send("STATUS")
    assert "BTN-2026-00001" in status and "being handled by the task force, since" in status
    answer = await phone.send("ACK BTN-2026-00001")  # a resident cannot
    assert "Not allowed" in answer


async def test_a_broadcast_image_is_served_to_twilio_and_nothing_else(
    phone: WhatsApp, service: Service, twilio: FakeTwilio, app: App
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64
    await phone.send("halo")
    stored = await app.services.media.put(png)
    evidence = await app.services.media.put(b"%PDF-1.4 a contract")
    async with app.db.write() as session:
        await broadcasts.subscribe(
            session, Channel.WHATSAPP, RESIDENT, area=None, language="id", at=app.services.clock()
        )
        await broadcasts.create(
            session,
            text="Waspada tawaran kerja palsu di media sosial.",
            areas=[],
            language=None,
            due_at=app.services.clock(),
            at=app.services.clock(),
            image_sha256=stored.sha256,
        )
    await start_due(app.services)
    await service.delivery.run()
    (sent,) = [m for m in twilio.to(RESIDENT) if m.media_urls]
    (url,) = sent.media_urls
    assert url.startswith(f"{PUBLIC}/media/{stored.sha256}?sig=")
    local = service.web.url + url.removeprefix(PUBLIC)
    served = await phone.http.get(local)
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png"
    assert (await phone.http.get(local.split("?")[0] + "?sig=forged")).status_code == 403
    signed = whatsapp_media(service, evidence.sha256)
    other = service.web.url + f"/media/{evidence.sha256}?sig={signed}"
    assert (await phone.http.get(other)).status_code == 404  # evidence is never served


def whatsapp_media(service: Service, sha256: str) -> str:
    assert service.whatsapp is not None
    return service.whatsapp.signature(sha256)


def twilio_error(status: int, code: int) -> TwilioRestException:
    return TwilioRestException(status, "/2010-04-01/Messages.json", msg="no", code=code)


@pytest.mark.parametrize(
    ("error", "code", "permanent", "gone"),
    [
        (twilio_error(429, 20429), "20429", False, None),
        (twilio_error(503, 20503), "20503", False, None),
        (aiohttp.ClientConnectionError("refused"), "network", False, None),
        (TimeoutError(), "network", False, None),
        (twilio_error(400, 21610), "21610", True, Gone.OPTED_OUT),
        (twilio_error(400, 21211), "21211", True, Gone.UNREACHABLE),
        (twilio_error(400, 63016), "63016", True, None),
    ],
)
def test_twilio_errors_are_classified_for_the_delivery_job(
    error: TwilioRestException | aiohttp.ClientError | TimeoutError,
    code: str,
    permanent: bool,
    gone: Gone | None,
) -> None:
    failure = classify(error)
    assert (failure.code, failure.permanent, failure.gone) == (code, permanent, gone)
    assert failure.retry_after is None  # Twilio's errors do not say
