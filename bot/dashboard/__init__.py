"""The task force's dashboard under /dasbor, on the web server of the webhooks: server-rendered
pages (Jinja2, bot/dashboard/templates) that call the same use cases as the bot.

Access: a one-time link (/masuk to the bot, or `sigap dashboard link`) opens a session kept
server-side (storage/dashboard.py); its cookie is HttpOnly, SameSite=Lax, Secure behind https,
and ends after `[dashboard] idle_hours` without a request. Every form carries the session's
CSRF token. Evidence is served at /dasbor/berkas/<id>?t=<HMAC of the id with the session's
secret>, so a file's address is worth nothing outside the session that was shown it. A page
that shows a reporter's story, contact or evidence writes a row of the audit (storage/audit.py).

Pages speak the reader's language: `[bot] default_language`, or the one chosen with the switch
in the header (/dasbor/bahasa/<code>, kept in a cookie). Templates translate with `_("...")`
(the bot's catalogs, extracted by scripts/catalogs.py) and name stored values with `named`.

New pages (roster, members, broadcasts, delivery) are a handler using `self.page()` or
`self.viewer()` and a template extending base.html, added to `routes()`."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.app import App
from bot.dashboard import cases, people, sending
from handlers import labels, risk
from handlers.consent import consents as shared_with
from handlers.consent import contact as contact_of
from handlers.consent import erased
from handlers.conversation.turn import Work
from handlers.i18n import N_, Gettext, gettext
from handlers.intel import indexing
from handlers.residents.language import NAMES
from handlers.taskforce import lifecycle
from handlers.taskforce.casework import event_text
from handlers.usecases import Refused
from handlers.usecases import audit as audit_usecases
from handlers.usecases import casework as casework_usecases
from handlers.usecases import referral as referral_usecases
from handlers.usecases import relay as relay_usecases
from storage import audit, casework, dashboard, intel, members, reports
from storage.members import at_least
from storage.models import (
    BroadcastState,
    DashboardSession,
    Door,
    Media,
    Member,
    Outcome,
    Report,
    ReportEvent,
    Role,
    Seen,
)

log = logging.getLogger(__name__)

PREFIX = "/dasbor"
COOKIE = "sigap_dasbor"
LANGUAGE_COOKIE = "sigap_bahasa"
TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 16_000


# How the pages name a member's role (the stored value is English, the page is not always).
ROLES = {
    Role.MEMBER: N_("member"),
    Role.COORDINATOR: N_("coordinator"),
    Role.ADMIN: N_("admin"),
}
BROADCAST_STATES = {
    BroadcastState.SCHEDULED: N_("scheduled"),
    BroadcastState.SENDING: N_("sending"),
    BroadcastState.DONE: N_("done"),
    BroadcastState.CANCELLED: N_("cancelled"),
}
DOORS = {Door.BOT: N_("bot"), Door.DASHBOARD: N_("dashboard"), Door.CLI: N_("server")}
SEEN = {
    Seen.CONTACT: N_("contact"),
    Seen.STORY: N_("story"),
    Seen.EVIDENCE: N_("evidence"),
    Seen.EXPORT: N_("export"),
    Seen.ERASURE: N_("identity erased"),
}
# The stored values a template names with `named(kind, value)`, in the reader's language.
LABELS: dict[str, dict[Any, str]] = {
    "state": labels.CASE_STATE,
    "priority": labels.PRIORITY,
    "outcome": labels.OUTCOME,
    "urgency": labels.URGENCY,
    "affected": labels.AFFECTED,
    "child": labels.CHILD,
    "offer": labels.OFFER,
    "source": labels.SOURCE,
    "destination": labels.DESTINATION,
    "red_flag": labels.RED_FLAGS,
    "agency": labels.AGENCY_KIND,
    "role": ROLES,
    "broadcast": BROADCAST_STATES,
    "door": DOORS,
    "seen": SEEN,
    "risk": risk.LEVEL_LABELS,
}


@dataclass(frozen=True)
class Viewer:
    """A logged-in member reading a page: their session, the language they read in, and the
    page's address (None for the answer to a form: there is no page to come back to)."""

    member: Member
    session: DashboardSession
    language: str
    address: str | None

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def t(self) -> Gettext:
        return gettext(self.language)

    def message(self, refused: Refused) -> str:
        """A use case's refusal in the viewer's words."""
        return self.t(refused.message).format(**refused.values)

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
        self.env.globals["named"] = named
        self.env.globals["labelled"] = labelled
        self.env.globals["event"] = event

    def routes(self) -> list[BaseRoute]:
        return [
            Mount(
                PREFIX,
                routes=[
                    Route("/", self.home, methods=["GET"]),
                    Route("/masuk/{token}", self.login_page, methods=["GET"]),
                    Route("/masuk/{token}", self.login, methods=["POST"]),
                    Route("/keluar", self.logout, methods=["POST"]),
                    Route("/bahasa/{language}", self.choose_language, methods=["GET"]),
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

    def language_of(self, request: Request) -> str:
        """The language chosen with the switch (its cookie), else `[bot] default_language`."""
        chosen = request.cookies.get(LANGUAGE_COOKIE, "")
        bot = self.services.bot
        return chosen if chosen in bot.languages else bot.default_language

    @staticmethod
    def address_of(request: Request) -> str | None:
        """Where the language switch comes back to: the page read, if it can be read again."""
        if request.method != "GET":
            return None
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")

    def render(
        self,
        name: str,
        reader: Viewer | Request,
        status: int = 200,
        *,
        here: str | None = None,
        **values: Any,
    ) -> HTMLResponse:
        """A page for a logged-in viewer, or (a Request) for someone without a session; in
        their language. `here`: the page to come back to after switching languages, when the
        answer to a form is shown."""
        if isinstance(reader, Viewer):
            viewer, language, address = reader, reader.language, reader.address
        else:
            viewer, language, address = None, self.language_of(reader), self.address_of(reader)
        back = here or address
        switch = [
            (
                code,
                NAMES.get(code, code),
                f"{PREFIX}/bahasa/{code}" + (f"?{urlencode({'ke': back})}" if back else ""),
            )
            for code in self.services.bot.languages
        ]
        body = self.env.get_template(name).render(
            viewer=viewer,
            now=self.services.clock(),
            lang=language,
            _=translator(language),
            language_links=switch,
            **values,
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

    def refused(self, status: int, why: str, reader: Viewer | Request) -> HTMLResponse:
        return self.render("refused.html", reader, status=status, why=why)

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
        return Viewer(member, row, self.language_of(request), self.address_of(request))

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
                return self.refused(401, "login", request)
            if not at_least(viewer.member.role, needs):
                return self.refused(403, "role", viewer)
            return await handler(work, viewer)

    # Login and logout

    async def home(self, request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/kasus", status_code=303)

    async def login_page(self, request: Request) -> Response:
        """The link's page only asks to press the button: a link preview (Telegram fetches
        links) must not use up the link."""
        return self.render("login.html", request, token=request.path_params["token"])

    async def login(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        async with self.services.work() as work:
            member_id = await dashboard.use_link(work.session, token, work.now)
            member = await members.get(work.session, member_id) if member_id else None
            if member is None or member.removed_at is not None:
                return self.refused(401, "link", request)
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
                return self.refused(403, "csrf", viewer)
            await dashboard.end(work.session, viewer.session, work.now)
            response = RedirectResponse(f"{PREFIX}/kasus", status_code=303)
            response.delete_cookie(COOKIE, path=PREFIX)
            return response

        return await self.page(request, handler)

    async def choose_language(self, request: Request) -> Response:
        """The switch in the header: keeps the choice in a cookie (as safe as the session's)
        and goes back to the page it was pressed on (only ever a page of the dashboard)."""
        language = str(request.path_params["language"])
        if language not in self.services.bot.languages:
            return self.refused(404, "page", request)
        back = urlsplit(request.query_params.get("ke", ""))
        own = (
            not back.scheme
            and not back.netloc
            and back.path.startswith(f"{PREFIX}/")
            and "\\" not in back.path
        )
        target = back.geturl() if own else f"{PREFIX}/kasus"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 86400,
            httponly=True,
            secure=self.secure,
            samesite="lax",
            path=PREFIX,
        )
        return response

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
            return self.refused(404, "case", viewer)
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
            here=f"{PREFIX}/kasus/{report.reference}",
            report=report,
            problem=problem,
            contact=contact,
            erased=erased(viewer.t, report, self.services.bot.zone, viewer.language),
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
            outcomes=list(Outcome),
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
                return self.refused(403, "csrf", viewer)
            report = await reports.by_reference(work.session, reference)
            if report is None or not cases.may_see(viewer.member, report):
                return self.refused(404, "case", viewer)
            if action not in self.actions(viewer.member, report):
                return self.refused(403, "role", viewer)
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
                        return self.refused(400, "form", viewer)
                    duplicate = form.get("duplicate_of", "").strip() or None
                    await casework_usecases.close(
                        work, report.reference, member, outcome, duplicate
                    )
                elif action == "rujuk":
                    try:
                        agency = int(form.get("agency", ""))
                    except ValueError:
                        return self.refused(400, "form", viewer)
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
                message = viewer.message(refused)
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
                return self.refused(404, "file", viewer)
            media = await work.session.get(Media, media_id)
            report_id = media.report_id if media is not None else None
            if media is not None and media.note_id is not None:
                note = await casework.note(work.session, media.note_id)
                report_id = note.report_id if note is not None else None
            report = await reports.get(work.session, report_id) if report_id else None
            if media is None or report is None or not cases.may_see(viewer.member, report):
                return self.refused(404, "file", viewer)
            path = self.services.media.path(media.sha256)
            if not path.exists():
                return self.refused(404, "file", viewer)
            if media.note_id is None:  # the reporter's evidence, not a note's attachment
                await audit_usecases.viewed(
                    work, report, viewer.member, Door.DASHBOARD, [Seen.EVIDENCE], f"file {media_id}"
                )
            return Response(
                await self.services.media.load(path),
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


def translator(language: str) -> Callable[..., str]:
    """The templates' `_`: `_("Cases")` is the text in the language (escaped where shown, as
    any value); `_("Send {command} to the bot", command=code)` fills the placeholders,
    escaping the values unless they are markup (a `{% set %}` block), and is markup itself."""
    t = gettext(language)

    def _(message: str, **values: Any) -> str:
        if not values:
            return t(message)
        return Markup(escape(t(message))).format(**values)

    return _


@pass_context
def named(context: Context, kind: str, value: Any) -> str:
    """A stored value named in the page's language (LABELS), or as stored when unnamed."""
    names = LABELS[kind]
    if value in names:
        return str(context["_"](names[value]))
    return "-" if value is None or value == "" else str(value)


@pass_context
def labelled(context: Context, kind: str, values: Iterable[Any]) -> str:
    """Stored values named (LABELS), separated by commas."""
    return ", ".join(named(context, kind, value) for value in values)


@pass_context
def event(context: Context, happened: ReportEvent) -> str:
    """A timeline's event in the page's language, as the bot's /kasus tells it."""
    return event_text(gettext(context["lang"]), happened)


@pass_context
def waited(context: Context, report: Report, now: datetime) -> str:
    """How long the case has waited: since it came until it was acknowledged (or now), for a
    new one; since it came, for one still open."""
    _ = context["_"]
    end = report.acknowledged_at if report.state == "new" and report.acknowledged_at else now
    seconds = max(0, int((end - report.created_at).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return str(_("{days}d {hours}h").format(days=days, hours=hours))
    if hours:
        return str(_("{hours}h {minutes}m").format(hours=hours, minutes=minutes))
    return str(_("{minutes}m").format(minutes=minutes))
