"""The coordinators' pages of the dashboard: the statistics of a year with the yearly
evaluation as a PDF (/dasbor/statistik), broadcasts composed, previewed as sent, sent or
scheduled and followed (/dasbor/siaran), and the failed deliveries sent again
(/dasbor/pengiriman). The same functions as `sigap evaluate`, `sigap broadcast` and
`sigap outbox` (handlers/usecases/broadcasting.py, storage/outbox.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot import evaluation
from handlers import library
from handlers import statistics as stats_module
from handlers.conversation.turn import Work
from handlers.i18n import N_
from handlers.taskforce.roster import parse_local
from handlers.usecases import Refused, broadcasting
from storage import broadcasts, outbox
from storage.media import sniff
from storage.models import BroadcastState, Priority, Role

if TYPE_CHECKING:
    from bot.dashboard import Dashboard, Viewer

FIRST_YEAR = 2024
FORM_SLACK = 64 * 1024  # a compose form's fields and multipart framing around the image
IMAGE_NOT_TAKEN = N_("The image was not taken. {why}")


@dataclass
class Composed:
    """The compose form as sent: its fields, the areas ticked, and the image: uploaded now
    (`upload`, bytes) or stored by an earlier preview of this session (the `image` field with
    its proof `image_t`)."""

    fields: dict[str, str]
    areas: list[str]
    upload: bytes | None = None
    image: str | None = None


def routes(panel: Dashboard) -> list[BaseRoute]:
    pages = Sending(panel)
    return [
        Route("/statistik", pages.statistics, methods=["GET"]),
        Route("/statistik/evaluasi", pages.evaluation_pdf, methods=["GET"]),
        Route("/siaran", pages.broadcasts_page, methods=["GET"]),
        Route("/siaran/pratinjau", pages.preview, methods=["POST"]),
        Route("/siaran/kirim", pages.send, methods=["POST"]),
        Route("/siaran/gambar/{sha256:str}", pages.image, methods=["GET"]),
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

    def draft_of(self, composed: Composed) -> broadcasting.Draft:
        form = composed.fields
        library_id = form.get("library", "").strip() or None
        return broadcasting.Draft(
            text="" if library_id else form.get("text", "").strip(),
            library_id=library_id,
            areas=composed.areas,
            language=form.get("language", "").strip() or None,
            image_sha256=composed.image,
        )

    def due_of(self, form: dict[str, str]) -> datetime:
        """Now, or the local time given (2026-12-01T08:00 from a datetime-local input)."""
        now = self.services.clock()
        given = form.get("at", "").strip()
        if not given:
            return now
        try:
            return max(parse_local(given, self.services.bot.zone), now)
        except ValueError:
            raise Refused(
                N_("the time must be like {example}"), example="2026-12-01 08:00"
            ) from None

    def compose_values(self, language: str) -> dict[str, Any]:
        return {
            "library": [(m.id, m.title(language)) for m in library.messages()],
            "areas": self.services.intake.area_keys,
            "languages": self.services.bot.languages,
        }

    async def broadcasts_page(self, request: Request) -> Response:
        async def handler(work: Work, viewer: Viewer) -> Response:
            return await self.show_compose(work, viewer, Composed({}, []))

        return await self.panel.page(request, handler, needs=Role.COORDINATOR)

    async def show_compose(
        self, work: Work, viewer: Viewer, composed: Composed, problem: str | None = None
    ) -> Response:
        made = list(await broadcasts.listing(work.session))[:20]
        return self.panel.render(
            "broadcasts.html",
            viewer,
            status=409 if problem else 200,
            here=f"{self.panel_prefix}/siaran",
            form=composed.fields,
            chosen=composed.areas,
            image=self.image_values(viewer, composed.image),
            problem=problem,
            made=made,
            **self.compose_values(viewer.language),
        )

    def image_values(self, viewer: Viewer, sha256: str | None) -> dict[str, str] | None:
        """What a page needs to show the chosen image and carry it to the next form."""
        if sha256 is None:
            return None
        proof = viewer.token(f"image:{sha256}")
        url = f"{self.panel_prefix}/siaran/gambar/{sha256}?t={proof}"
        return {"sha256": sha256, "proof": proof, "url": url}

    async def composed(self, request: Request) -> Composed | None:
        """The compose form, urlencoded or multipart with an image; None when its body is
        larger than an image within the media limit could make it."""
        declared = request.headers.get("content-length", "")
        if not declared.isdigit() or int(declared) > self.services.media.max_bytes + FORM_SLACK:
            return None
        data = await request.form(max_files=1, max_fields=60)
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
        areas = [a for a in data.getlist("area") if isinstance(a, str)]
        upload = data.get("image_file")
        chosen = await upload.read() if isinstance(upload, UploadFile) and upload.filename else None
        await data.close()
        return Composed(fields, areas, upload=chosen or None)

    async def with_image(self, viewer: Viewer, composed: Composed) -> Composed:
        """The image to send: the one uploaded now (checked and stored), else the one an
        earlier form of this session carried (its proof checked: another session's, or an
        evidence file's hash, is not taken). Refused when the upload is not an image."""
        if composed.upload is not None:
            broadcasting.check_image(self.services, composed.upload)
            stored = await self.services.media.put(composed.upload)
            return dataclasses.replace(composed, image=stored.sha256, upload=None)
        carried = composed.fields.get("image", "")
        if carried and viewer.proves(f"image:{carried}", composed.fields.get("image_t", "")):
            return dataclasses.replace(composed, image=carried)
        return composed

    async def preview(self, request: Request) -> Response:
        composed = await self.composed(request)

        async def handler(work: Work, viewer: Viewer) -> Response:
            nonlocal composed
            if composed is None:
                return self.panel.refused(413, "form", viewer)
            if not self.panel.csrf_ok(viewer, composed.fields):
                return self.panel.refused(403, "csrf", viewer)
            try:
                composed = await self.with_image(viewer, composed)
            except Refused as refused:
                problem = viewer.t(IMAGE_NOT_TAKEN).format(why=viewer.message(refused))
                return await self.show_compose(work, viewer, composed, problem)
            draft = self.draft_of(composed)
            try:
                broadcasting.check(self.services, draft)
                due = self.due_of(composed.fields)
            except Refused as refused:
                return await self.show_compose(work, viewer, composed, viewer.message(refused))
            reached = await broadcasting.reach(work, draft)
            shown = [draft.language] if draft.language else list(reached.texts)
            now = self.services.clock()
            return self.panel.render(
                "broadcast_preview.html",
                viewer,
                here=f"{self.panel_prefix}/siaran",
                form=composed.fields,
                chosen=composed.areas,
                image=self.image_values(viewer, composed.image),
                count=reached.count,
                texts=[(lang, reached.texts[lang]) for lang in shown],
                when="now" if due <= now else broadcasting.local_time(self.services, due),
            )

        return await self.panel.page(request, handler, needs=Role.COORDINATOR)

    async def send(self, request: Request) -> Response:
        composed = await self.composed(request)

        async def handler(work: Work, viewer: Viewer) -> Response:
            if composed is None:
                return self.panel.refused(413, "form", viewer)
            if not self.panel.csrf_ok(viewer, composed.fields):
                return self.panel.refused(403, "csrf", viewer)
            carried = await self.with_image(viewer, dataclasses.replace(composed, upload=None))
            if composed.fields.get("image") and carried.image is None:
                # an image this session was not shown
                return self.panel.refused(403, "csrf", viewer)
            draft = self.draft_of(carried)
            try:
                broadcasting.check(self.services, draft)
                due = self.due_of(carried.fields)
                made = await broadcasting.create(work, draft, due, by=viewer.member)
            except Refused as refused:
                return await self.show_compose(work, viewer, carried, viewer.message(refused))
            await work.session.flush()
            return RedirectResponse(f"{self.panel_prefix}/siaran/{made.id}", status_code=303)

        return await self.panel.page(request, handler, needs=Role.COORDINATOR)

    async def image(self, request: Request) -> Response:
        """A broadcast image chosen in this session, for its preview and its page."""
        sha256 = str(request.path_params["sha256"])
        given = request.query_params.get("t", "")

        async def handler(work: Work, viewer: Viewer) -> Response:
            path = self.services.media.path(sha256)
            if not viewer.proves(f"image:{sha256}", given) or not path.exists():
                return self.panel.refused(404, "file", viewer)
            data = await self.services.media.load(path)
            content_type = sniff(data)
            if content_type not in broadcasting.IMAGES:
                return self.panel.refused(404, "file", viewer)
            return Response(
                data,
                media_type=content_type,
                headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
            )

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
