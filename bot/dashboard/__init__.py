"""The task force's dashboard under /dasbor, on the web server of the webhooks: server-rendered
pages (Jinja2, bot/dashboard/templates) that call the same use cases as the bot.

Access: a one-time link (/masuk to the bot, or `sigap dashboard link`) opens a session kept
server-side (storage/dashboard.py); its cookie is HttpOnly, SameSite=Lax, Secure behind https,
and ends after `[dashboard] idle_hours` without a request. Every form carries the session's
CSRF token. Evidence is served at /dasbor/berkas/<id>?t=<HMAC of the id with the session's
secret>, so a file's address is worth nothing outside the session that was shown it. A page
that shows a reporter's story, contact or evidence writes a row of the audit (storage/audit.py).

New pages (roster, members, broadcasts, delivery) are a handler using `self.page()` or
`self.viewer()` and a template extending base.html, added to `routes()`."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.app import App
from bot.dashboard import cases, people, sending
from handlers import risk
from handlers.consent import consents as shared_with
from handlers.consent import contact as contact_of
from handlers.conversation.turn import Work
from handlers.i18n import gettext
from handlers.intel import indexing
from handlers.taskforce import lifecycle
from handlers.usecases import Refused
from handlers.usecases import audit as audit_usecases
from handlers.usecases import casework as casework_usecases
from handlers.usecases import referral as referral_usecases
from handlers.usecases import relay as relay_usecases
from storage import audit, casework, dashboard, intel, members, reports
from storage.members import at_least
from storage.models import DashboardSession, Door, Media, Member, Outcome, Report, Role, Seen

log = logging.getLogger(__name__)

PREFIX = "/dasbor"
COOKIE = "sigap_dasbor"
TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 16_000


@dataclass(frozen=True)
class Viewer:
    member: Member
    session: DashboardSession

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def token(self, what: str) -> str:
        """Proof that this session was shown `what` (an HMAC with the session's secret): a
        file's address, or an uploaded image carried from a preview to the send."""
        key = self.session.csrf.encode()
        return hmac.new(key, what.encode(), hashlib.sha256).hexdigest()[:32]

    def proves(self, what: str, given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.token(what).encode())


class Dashboard:
    def __init__(self, app: App, wake: Callable[[], None] | None = None) -> None:
        self.app = app
        self.services = app.services
        self.wake = wake or (lambda: None)
        settings = app.settings
        self.secure = settings.server.public_url.startswith("https://")
        self.idle = timedelta(hours=settings.dashboard.idle_hours)
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            enable_async=False,
        )
        self.env.globals["prefix"] = PREFIX
        self.env.filters["local"] = self.local
        self.env.filters["waited"] = waited

    def routes(self) -> list[BaseRoute]:
        return [
            Mount(
                PREFIX,
                routes=[
                    Route("/", self.home, methods=["GET"]),
                    Route("/masuk/{token}", self.login_page, methods=["GET"]),
                    Route("/masuk/{token}", self.login, methods=["POST"]),
                    Route("/keluar", self.logout, methods=["POST"]),
                    Route("/kasus", self.cases_page, methods=["GET"]),
                    Route("/kasus/tabel", self.cases_table, methods=["GET"]),
                    Route("/kasus/{reference}", self.case_page, methods=["GET"]),
                    Route("/kasus/{reference}/{action}", self.case_action, methods=["POST"]),
                    Route("/berkas/{media_id:int}", self.evidence, methods=["GET"]),
                    Route("/audit", self.audit_page, methods=["GET"]),
                    *people.routes(self),
                    *sending.routes(self),
                ],
            )
        ]

    # Rendering

    def local(self, moment: datetime | None) -> str:
        if moment is None:
            return "-"
        return moment.astimezone(self.services.bot.zone).strftime("%Y-%m-%d %H:%M")

    def render(
        self, name: str, viewer: Viewer | None, status: int = 200, **values: Any
    ) -> HTMLResponse:
        body = self.env.get_template(name).render(
            viewer=viewer, now=self.services.clock(), **values
        )
        return HTMLResponse(
            body,
            status_code=status,
            headers={
                "Cache-Control": "no-store",
                "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer",
                "Content-Security-Policy": (
                    "default-src 'self'; img-src 'self'; style-src 'self' 'unsafe-inline'; "
                    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
                ),
            },
        )

    def refused(self, status: int, why: str) -> HTMLResponse:
        return self.render("refused.html", None, status=status, why=why)

    # Sessions

    async def viewer(self, work: Work, request: Request) -> Viewer | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        row = await dashboard.current(work.session, token, work.now, self.idle)
        if row is None:
            return None
        member = await members.get(work.session, row.member_id)
        if member is None or member.removed_at is not None:
            await dashboard.end(work.session, row, work.now)
            return None
        return Viewer(member, row)

    async def page(
        self,
        request: Request,
        handler: Callable[[Work, Viewer], Awaitable[Response]],
        *,
        needs: Role = Role.MEMBER,
    ) -> Response:
        """Runs the handler for a logged-in member with the role, in one transaction."""
        async with self.services.work() as work:
            viewer = await self.viewer(work, request)
            if viewer is None:
                return self.refused(401, "login")
            if not at_least(viewer.member.role, needs):
                return self.refused(403, "role")
            return await handler(work, viewer)

    # Login and logout

    async def home(self, request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/kasus", status_code=303)

    async def login_page(self, request: Request) -> Response:
        """The link's page only asks to press the button: a link preview (Telegram fetches
        links) must not use up the link."""
        return self.render("login.html", None, token=request.path_params["token"])

    async def login(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        async with self.services.work() as work:
            member_id = await dashboard.use_link(work.session, token, work.now)
            member = await members.get(work.session, member_id) if member_id else None
            if member is None or member.removed_at is not None:
                return self.refused(401, "link")
            assert member.id is not None
            cookie, _ = await dashboard.open_session(work.session, member.id, work.now)
        response = RedirectResponse(f"{PREFIX}/kasus", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            httponly=True,
            secure=self.secure,
            samesite="lax",
            path=PREFIX,
        )
        return response

    async def logout(self, request: Request) -> Response:
        form = await self.form(request)

        async def handler(work: Work, viewer: Viewer) -> Response:
            if not self.csrf_ok(viewer, form):
                return self.refused(403, "csrf")
            await dashboard.end(work.session, viewer.session, work.now)
            response = RedirectResponse(f"{PREFIX}/kasus", status_code=303)
            response.delete_cookie(COOKIE, path=PREFIX)
            return response

        return await self.page(request, handler)

    async def form(self, request: Request) -> dict[str, str]:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
            return {}
        data = await request.form(max_files=0, max_fields=20)
        return {k: v for k, v in data.items() if isinstance(v, str)}

    @staticmethod
    def csrf_ok(viewer: Viewer, form: dict[str, str]) -> bool:
        given = form.get("csrf", "")
        return bool(given) and hmac.compare_digest(given.encode(), viewer.csrf.encode())

    # The cases

    async def cases_page(self, request: Request) -> Response:
        filters = cases.Filters.read(request.query_params)

        async def handler(work: Work, viewer: Viewer) -> Response:
            found = await cases.listing(
                work.session, viewer.member, filters, self.services.bot.zone
            )
            areas, destinations = await cases.choices(work.session)
            people = await members.active(work.session)
            return self.render(
                "cases.html",
                viewer,
                filters=filters,
                found=found,
                areas=areas,
                destinations=destinations,
                people=people,
                **self.table_values(filters),
            )

        return await self.page(request, handler)

    async def cases_table(self, request: Request) -> Response:
        """The table alone (the page fetches it every few seconds)."""
        filters = cases.Filters.read(request.query_params)

        async def handler(work: Work, viewer: Viewer) -> Response:
            found = await cases.listing(
                work.session, viewer.member, filters, self.services.bot.zone
            )
            people = await members.active(work.session)
            return self.render(
                "cases_table.html",
                viewer,
                filters=filters,
                found=found,
                people=people,
                **self.table_values(filters),
            )

        return await self.page(request, handler)

    @staticmethod
    def table_values(filters: cases.Filters) -> dict[str, Any]:
        def link(**changes: str) -> str:
            query = {**filters.query, **changes}
            return "?" + urlencode({k: v for k, v in query.items() if v})

        def sort_link(column: str) -> str:
            same = filters.sort == column
            return link(sort=column, dir="" if same and filters.ascending else "asc", page="")

        return {"link": link, "sort_link": sort_link, "query": urlencode(filters.query)}

    async def case_page(self, request: Request) -> Response:
        reference = str(request.path_params["reference"])

        async def handler(work: Work, viewer: Viewer) -> Response:
            return await self.show_case(work, viewer, reference)

        return await self.page(request, handler)

    async def show_case(
        self,
        work: Work,
        viewer: Viewer,
        reference: str,
        *,
        problem: str | None = None,
        status: int = 200,
    ) -> Response:
        session = work.session
        report = await reports.by_reference(session, reference)
        if report is None or report.id is None or not cases.may_see(viewer.member, report):
            return self.refused(404, "case")
        assert viewer.member.id is not None
        contact = contact_of(report)
        await audit_usecases.viewed(
            work, report, viewer.member, Door.DASHBOARD, audit_usecases.seen_of(report), "case page"
        )
        media = list(await reports.media_of(session, report.id))
        notes = await casework.notes_of(session, report.id)
        note_files = await casework.files_of(session, [n.id for n in notes if n.id is not None])
        assignee = await members.get(session, report.assignee_id) if report.assignee_id else None
        return self.render(
            "case.html",
            viewer,
            status=status,
            report=report,
            problem=problem,
            contact=contact,
            shared_with=[k.value for k in shared_with(report)],
            assignee=assignee,
            risk=risk.of_report(report),
            phones=await reports.recruiter_phones(session, report.id),
            identifiers=await intel.of_report(session, report.id),
            linked=(await indexing.links(session, [report.id]))[report.id],
            media=media,
            images=[m for m in media if m.content_type.startswith("image/")],
            additions=await reports.additions_of(session, report.id),
            notes=[(n, note_files.get(n.id or 0, [])) for n in notes],
            events=await reports.timeline(session, report.id),
            actions=self.actions(viewer.member, report),
            outcomes=[o.value for o in Outcome],
            agencies=referral_usecases.agencies_for(work, report),
            coordinator=at_least(viewer.member.role, Role.COORDINATOR),
            file_url=lambda m: f"{PREFIX}/berkas/{m.id}?t={viewer.token(f'media:{m.id}')}",
        )

    def actions(self, member: Member, report: Report) -> list[str]:
        """The case's actions this member may take now, as the bot offers them."""
        found = []
        if report.acknowledged_at is None and cases.may_see(member, report):
            found.append("terima")
        allowed = {a.value for a in casework_usecases.actions(member, report)}
        if "note" in allowed:
            found.append("catat")
        if "close" in allowed:
            found.append("tutup")
        if relay_usecases.open_to(member, report):
            found.append("balas")
        agencies = self.services.referral.agencies
        if agencies and "close" in allowed and referral_usecases.may_handle(member, report):
            found.append("rujuk")
        return found

    async def case_action(self, request: Request) -> Response:
        reference = str(request.path_params["reference"])
        action = str(request.path_params["action"])
        form = await self.form(request)
        wrote = False

        async def handler(work: Work, viewer: Viewer) -> Response:
            nonlocal wrote
            if not self.csrf_ok(viewer, form):
                return self.refused(403, "csrf")
            report = await reports.by_reference(work.session, reference)
            if report is None or not cases.may_see(viewer.member, report):
                return self.refused(404, "case")
            if action not in self.actions(viewer.member, report):
                return self.refused(403, "role")
            member = viewer.member
            try:
                if action == "terima":
                    await lifecycle.acknowledge(work, report.reference, member, None)
                elif action == "catat":
                    text = form.get("text", "").strip()
                    await casework_usecases.note(work, report.reference, member, text or None)
                elif action == "tutup":
                    try:
                        outcome = Outcome(form.get("outcome", ""))
                    except ValueError:
                        return self.refused(400, "form")
                    duplicate = form.get("duplicate_of", "").strip() or None
                    await casework_usecases.close(
                        work, report.reference, member, outcome, duplicate
                    )
                elif action == "rujuk":
                    try:
                        agency = int(form.get("agency", ""))
                    except ValueError:
                        return self.refused(400, "form")
                    reason = form.get("override_reason", "").strip() or None
                    await referral_usecases.refer(
                        work,
                        report.reference,
                        agency,
                        by=member,
                        door=Door.DASHBOARD,
                        override_reason=reason,
                    )
                elif action == "balas":
                    text = form.get("text", "").strip()
                    if not text:
                        raise Refused(casework_usecases.EMPTY_NOTE)
                    await relay_usecases.to_reporter(work, member, report.reference, text, (), None)
            except Refused as refused:
                message = gettext("en")(refused.message).format(**refused.values)
                return await self.show_case(
                    work, viewer, report.reference, problem=message, status=409
                )
            wrote = True
            return RedirectResponse(f"{PREFIX}/kasus/{report.reference}", status_code=303)

        response = await self.page(request, handler)
        if wrote:
            self.wake()  # the alerts edited, the reporter's notice: sent now
        return response

    async def evidence(self, request: Request) -> Response:
        media_id = int(request.path_params["media_id"])
        given = request.query_params.get("t", "")

        async def handler(work: Work, viewer: Viewer) -> Response:
            if not viewer.proves(f"media:{media_id}", given):
                return self.refused(404, "file")
            media = await work.session.get(Media, media_id)
            report_id = media.report_id if media is not None else None
            if media is not None and media.note_id is not None:
                note = await casework.note(work.session, media.note_id)
                report_id = note.report_id if note is not None else None
            report = await reports.get(work.session, report_id) if report_id else None
            if media is None or report is None or not cases.may_see(viewer.member, report):
                return self.refused(404, "file")
            path = self.services.media.path(media.sha256)
            if not path.exists():
                return self.refused(404, "file")
            if media.note_id is None:  # the reporter's evidence, not a note's attachment
                await audit_usecases.viewed(
                    work, report, viewer.member, Door.DASHBOARD, [Seen.EVIDENCE], f"file {media_id}"
                )
            return FileResponse(
                path,
                media_type=media.content_type,
                headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
            )

        return await self.page(request, handler)

    # Admins

    async def audit_page(self, request: Request) -> Response:
        async def handler(work: Work, viewer: Viewer) -> Response:
            entries = await audit.entries(work.session)
            return self.render("audit.html", viewer, entries=entries)

        return await self.page(request, handler, needs=Role.ADMIN)


def waited(report: Report, now: datetime) -> str:
    """How long the case has waited: since it came until it was acknowledged (or now), for a
    new one; since it came, for one still open."""
    end = report.acknowledged_at if report.state == "new" and report.acknowledged_at else now
    seconds = max(0, int((end - report.created_at).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"
