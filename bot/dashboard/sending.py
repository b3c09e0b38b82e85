"""The coordinators' pages of the dashboard: the statistics of a year with the yearly
evaluation as a PDF (/dasbor/statistik), broadcasts composed, previewed as sent, sent or
scheduled and followed (/dasbor/siaran), and the failed deliveries sent again
(/dasbor/pengiriman). The same functions as `sigap evaluate`, `sigap broadcast` and
`sigap outbox` (handlers/usecases/broadcasting.py, storage/outbox.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot import evaluation
from handlers import library
from handlers import statistics as stats_module
from handlers.conversation.turn import Work
from handlers.i18n import N_
from handlers.usecases import Refused, broadcasting
from storage import broadcasts, outbox
from storage.models import BroadcastState, Priority, Role

if TYPE_CHECKING:
    from bot.dashboard import Dashboard, Viewer

FIRST_YEAR = 2024


def routes(panel: Dashboard) -> list[BaseRoute]:
    pages = Sending(panel)
    return [
        Route("/statistik", pages.statistics, methods=["GET"]),
        Route("/statistik/evaluasi", pages.evaluation_pdf, methods=["GET"]),
        Route("/siaran", pages.broadcasts_page, methods=["GET"]),
        Route("/siaran/pratinjau", pages.preview, methods=["POST"]),
        Route("/siaran/kirim", pages.send, methods=["POST"]),
        Route("/siaran/{broadcast_id:int}", pages.broadcast_page, methods=["GET"]),
        Route("/siaran/{broadcast_id:int}/kemajuan", pages.progress, methods=["GET"]),
        Route("/pengiriman", pages.delivery_page, methods=["GET"]),
        Route("/pengiriman/ulang", pages.retry, methods=["POST"]),
    ]


class Sending:
    def __init__(self, panel: Dashboard) -> None:
        self.panel = panel
        self.services = panel.services

    def year_of(self, request: Request) -> int | None:
        this_year = self.services.clock().astimezone(self.services.bot.zone).year
        given = request.query_params.get("tahun", "")
        if not given:
            return this_year
        if not given.isdigit() or not FIRST_YEAR <= int(given) <= this_year:
            return None
        return int(given)

    # Statistics

    async def statistics(self, request: Request) -> Response:
        year = self.year_of(request)

        async def handler(work: Work, viewer: Viewer) -> Response:
            if year is None:
                return self.panel.refused(400, "form", viewer)
            zone = self.services.bot.zone
            period = stats_module.Period.year(year, zone)
            targets = self.services.escalation.ack_timeout_minutes
            per_priority = {p: float(getattr(targets, p.value)) for p in Priority}
            stats = await stats_module.gather(work.session, period, per_priority)
            language = viewer.language
            charts = (
                stats_module.charts_svg(stats, language, suppressed=True) if stats.total else {}
            )
            this_year = self.services.clock().astimezone(zone).year
            return self.panel.render(
                "statistics.html",
                viewer,
                year=year,
                years=list(range(this_year, FIRST_YEAR - 1, -1)),
                stats=stats,
                sections=evaluation.sections(stats, language),
                charts={k: evaluation._inline(v) for k, v in charts.items()},
            )

        return await self.panel.page(request, handler, needs=Role.COORDINATOR)

    async def evaluation_pdf(self, request: Request) -> Response:
        year = self.year_of(request)

        async def handler(work: Work, viewer: Viewer) -> Response:
            if year is None:
                return self.panel.refused(400, "form", viewer)
            return Response(b"", status_code=204)

        allowed = await self.panel.page(request, handler, needs=Role.COORDINATOR)
        if allowed.status_code != 204 or year is None:
            return allowed
        language = self.panel.language_of(request)
        data = await evaluation.evaluation(self.panel.app, year, "pdf", language)
        name = evaluation.default_name(year, "pdf")
        return Response(
            data,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    # Broadcasts

    def draft_of(self, form: dict[str, str], areas: list[str]) -> broadcasting.Draft:
        library_id = form.get("library", "").strip() or None
        return broadcasting.Draft(
            text="" if library_id else form.get("text", "").strip(),
            library_id=library_id,
            areas=areas,
            language=form.get("language", "").strip() or None,
        )

    def due_of(self, form: dict[str, str]) -> datetime:
        """Now, or the local time given (2026-12-01T08:00 from a datetime-local input)."""
        now = self.services.clock()
        given = form.get("at", "").strip()
        if not given:
            return now
        try:
            moment = datetime.fromisoformat(given.replace(" ", "T"))
        except ValueError:
            raise Refused(
                N_("the time must be like {example}"), example="2026-12-01 08:00"
            ) from None
        due = moment.replace(tzinfo=self.services.bot.zone)
        return max(due, now)

    def compose_values(self, language: str) -> dict[str, Any]:
        return {
            "library": [(m.id, m.title(language)) for m in library.messages()],
            "areas": self.services.intake.area_keys,
            "languages": self.services.bot.languages,
        }

    async def broadcasts_page(self, request: Request) -> Response:
        async def handler(work: Work, viewer: Viewer) -> Response:
            return await self.show_compose(work, viewer, {}, [])

        return await self.panel.page(request, handler, needs=Role.COORDINATOR)

    async def show_compose(
        self,
        work: Work,
        viewer: Viewer,
        form: dict[str, str],
        areas: list[str],
        problem: str | None = None,
    ) -> Response:
        made = list(await broadcasts.listing(work.session))[:20]
        return self.panel.render(
            "broadcasts.html",
            viewer,
            status=409 if problem else 200,
            here=f"{self.panel_prefix}/siaran",
            form=form,
            chosen=areas,
            problem=problem,
            made=made,
            **self.compose_values(viewer.language),
        )

    async def areas_of(self, request: Request) -> tuple[dict[str, str], list[str]]:
        form = await self.panel.form(request)
        data = await request.form()
        areas = [str(a) for a in data.getlist("area") if isinstance(a, str)]
        return form, areas

    async def preview(self, request: Request) -> Response:
        form, areas = await self.areas_of(request)

        async def handler(work: Work, viewer: Viewer) -> Response:
            if not self.panel.csrf_ok(viewer, form):
                return self.panel.refused(403, "csrf", viewer)
            draft = self.draft_of(form, areas)
            try:
                broadcasting.check(self.services, draft)
                due = self.due_of(form)
            except Refused as refused:
                return await self.show_compose(work, viewer, form, areas, viewer.message(refused))
            reached = await broadcasting.reach(work, draft)
            shown = [draft.language] if draft.language else list(reached.texts)
            now = self.services.clock()
            return self.panel.render(
                "broadcast_preview.html",
                viewer,
                here=f"{self.panel_prefix}/siaran",
                form=form,
                chosen=areas,
                count=reached.count,
                texts=[(lang, reached.texts[lang]) for lang in shown],
                when="now" if due <= now else broadcasting.local_time(self.services, due),
            )

        return await self.panel.page(request, handler, needs=Role.COORDINATOR)

    async def send(self, request: Request) -> Response:
        form, areas = await self.areas_of(request)
        made_id: list[int] = []

        async def handler(work: Work, viewer: Viewer) -> Response:
            if not self.panel.csrf_ok(viewer, form):
                return self.panel.refused(403, "csrf", viewer)
            draft = self.draft_of(form, areas)
            try:
                broadcasting.check(self.services, draft)
                due = self.due_of(form)
                made = await broadcasting.create(work, draft, due, by=viewer.member)
            except Refused as refused:
                return await self.show_compose(work, viewer, form, areas, viewer.message(refused))
            await work.session.flush()
            assert made.id is not None
            made_id.append(made.id)
            return RedirectResponse(f"{self.panel_prefix}/siaran/{made.id}", status_code=303)

        return await self.panel.page(request, handler, needs=Role.COORDINATOR)

    @property
    def panel_prefix(self) -> str:
        return str(self.panel.env.globals["prefix"])

    async def progress_values(self, work: Work, broadcast_id: int) -> dict[str, Any] | None:
        found = await broadcasts.get(work.session, broadcast_id)
        if found is None:
            return None
        got = await broadcasting.progress(work.session, broadcast_id)
        total = found.recipients
        over = found.state in (BroadcastState.DONE, BroadcastState.CANCELLED)
        percent = (
            100
            if over and got.settled >= total
            else (int(100 * got.settled / total) if total else 0)
        )
        return {
            "broadcast": found,
            "got": got,
            "total": total,
            "percent": percent,
            "over": over,
        }

    async def broadcast_page(self, request: Request) -> Response:
        return await self.broadcast_view(request, "broadcast.html")

    async def progress(self, request: Request) -> Response:
        """The progress fragment the broadcast's page fetches every few seconds."""
        return await self.broadcast_view(request, "broadcast_progress.html")

    async def broadcast_view(self, request: Request, template: str) -> Response:
        broadcast_id = int(request.path_params["broadcast_id"])

        async def handler(work: Work, viewer: Viewer) -> Response:
            values = await self.progress_values(work, broadcast_id)
            if values is None:
                return self.panel.refused(404, "broadcast", viewer)
            return self.panel.render(template, viewer, **values)

        return await self.panel.page(request, handler, needs=Role.COORDINATOR)

    # Delivery

    async def delivery_page(self, request: Request) -> Response:
        async def handler(work: Work, viewer: Viewer) -> Response:
            return await self.show_delivery(work, viewer)

        return await self.panel.page(request, handler, needs=Role.COORDINATOR)

    async def show_delivery(
        self, work: Work, viewer: Viewer, done: str | None = None, status: int = 200
    ) -> Response:
        rows = await outbox.failed(work.session)
        here = f"{self.panel_prefix}/pengiriman"
        return self.panel.render(
            "delivery.html", viewer, status=status, here=here, rows=rows, done=done
        )

    async def retry(self, request: Request) -> Response:
        form = await self.panel.form(request)
        retried: list[int] = []

        async def handler(work: Work, viewer: Viewer) -> Response:
            if not self.panel.csrf_ok(viewer, form):
                return self.panel.refused(403, "csrf", viewer)
            given = form.get("id", "").strip()
            if given and not given.isdigit():
                return self.panel.refused(400, "form", viewer)
            row_id = int(given) if given else None
            if row_id is not None:
                row = await outbox.get(work.session, row_id)
                if row is None or row.state not in outbox.FAILED:
                    done = viewer.t(N_("message #{id} has not failed")).format(id=row_id)
                    return await self.show_delivery(work, viewer, done, 409)
            retried.extend(await outbox.retry(work.session, work.now, row_id))
            if row_id is not None and not retried:
                done = viewer.t(N_("message #{id} is not sent again: it no longer matters"))
                return await self.show_delivery(work, viewer, done.format(id=row_id), 409)
            return RedirectResponse(
                f"{self.panel_prefix}/pengiriman?ulang={len(retried)}", status_code=303
            )

        response = await self.panel.page(request, handler, needs=Role.COORDINATOR)
        if retried:
            self.panel.wake()
        return response
