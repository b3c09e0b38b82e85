"""The dashboard's pages about people: the duty roster (/dasbor/piket: everyone sees it,
coordinators and admins edit a shift) and the members (/dasbor/anggota: coordinators see the
list, admins invite, change roles and remove). Every change goes through the use cases the bot
and `sigap` use (handlers/usecases/duty.py, membership.py), with the session's CSRF token."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from handlers.conversation.turn import Work
from handlers.i18n import N_
from handlers.taskforce.roster import WEEKDAYS, parse_local
from handlers.usecases import Refused, duty, membership
from storage import members
from storage.models import Member, Role

PREFIX = "/dasbor"  # bot.dashboard.PREFIX (which imports this module)
LAST_SHIFT = N_(
    "This is the last weekly shift: without shifts, alerts go to the coordinators unless "
    "someone takes duty. Tick the box beside Remove to remove it anyway."
)
BAD_TIME = N_("Give the times like 2026-12-01 08:00.")

if TYPE_CHECKING:
    from bot.dashboard import Dashboard, Viewer


def routes(panel: Dashboard) -> list[BaseRoute]:
    """Mounted under /dasbor with the dashboard's other routes."""
    return [
        Route("/piket", partial(roster_page, panel), methods=["GET"]),
        Route("/piket/ubah", partial(roster_edit, panel), methods=["POST"]),
        Route("/piket/pengecualian", partial(override_add, panel), methods=["POST"]),
        Route(
            "/piket/pengecualian/{override_id:int}/akhiri",
            partial(override_end, panel),
            methods=["POST"],
        ),
        Route("/anggota", partial(members_page, panel), methods=["GET"]),
        Route("/anggota/undang", partial(member_invite, panel), methods=["POST"]),
        Route("/anggota/{member_id:int}/{action}", partial(member_action, panel), methods=["POST"]),
    ]


# The roster


async def show_roster(
    panel: Dashboard, work: Work, viewer: Viewer, problem: str | None = None, status: int = 200
) -> Response:
    view = await duty.view(work)
    slots = sorted({(s.start, s.end) for s in view.shifts})
    grid: dict[tuple[int, str, str], list[tuple[int, Any]]] = {}
    for number, s in enumerate(view.shifts):
        grid.setdefault((s.weekday, s.start, s.end), []).append((number, s))
    names = {i: m.name for i, m in view.members.items()}
    return panel.render(
        "roster.html",
        viewer,
        status=status,
        here=f"{PREFIX}/piket",
        view=view,
        days=WEEKDAYS,
        slots=slots,
        grid=grid,
        names=names,
        label=lambda ids: ", ".join(m.name for m in view.people(ids)) or viewer.t(N_("nobody")),
        editable=members.at_least(viewer.member.role, Role.COORDINATOR),
        problem=problem,
    )


async def roster_page(panel: Dashboard, request: Request) -> Response:
    async def handler(work: Work, viewer: Viewer) -> Response:
        return await show_roster(panel, work, viewer)

    return await panel.page(request, handler)


async def roster_edit(panel: Dashboard, request: Request) -> Response:
    """One shift changed (or added with `shift=new`, or removed with `remove`): the week is
    written again through `duty.replace_week`, as `sigap roster import` writes it."""
    form = await panel.form(request)

    async def handler(work: Work, viewer: Viewer) -> Response:
        if not panel.csrf_ok(viewer, form):
            return panel.refused(403, "csrf", viewer)
        current = await duty.view(work)
        entries: list[dict[str, Any]] = [
            {
                "day": WEEKDAYS[s.weekday],
                "start": s.start,
                "end": s.end,
                "members": [str(i) for i in s.member_ids if i in current.members],
            }
            for s in current.shifts
        ]
        which = form.get("shift", "")
        people = [p.strip() for p in form.get("members", "").split(",") if p.strip()]
        changed = {
            "day": form.get("day", ""),
            "start": form.get("start", ""),
            "end": form.get("end", ""),
            "members": people,
        }
        if which == "new":
            entries.append(changed)
        elif which.isdigit() and int(which) < len(entries):
            if form.get("remove"):
                if len(entries) == 1 and not form.get("confirm_empty"):
                    return await show_roster(panel, work, viewer, viewer.t(LAST_SHIFT), 409)
                del entries[int(which)]
            else:
                entries[int(which)] = changed
        else:
            return panel.refused(400, "form", viewer)
        try:
            await duty.replace_week(work.session, entries)
        except Refused as refused:
            return await show_roster(panel, work, viewer, viewer.message(refused), 409)
        return RedirectResponse(f"{PREFIX}/piket", 303)

    return await panel.page(request, handler, needs=Role.COORDINATOR)


async def override_add(panel: Dashboard, request: Request) -> Response:
    """A member put on or off duty for a period (from now when no start is given)."""
    form = await panel.form(request)

    async def handler(work: Work, viewer: Viewer) -> Response:
        if not panel.csrf_ok(viewer, form):
            return panel.refused(403, "csrf", viewer)
        zone = work.services.bot.zone
        try:
            starts = parse_local(form["starts"], zone) if form.get("starts") else work.now
            ends = parse_local(form.get("ends", ""), zone)
        except ValueError:
            return await show_roster(panel, work, viewer, viewer.t(BAD_TIME), 409)
        try:
            await duty.override(
                work, form.get("member", ""), form.get("state") == "on", starts, ends
            )
        except Refused as refused:
            return await show_roster(panel, work, viewer, viewer.message(refused), 409)
        return RedirectResponse(f"{PREFIX}/piket", 303)

    return await panel.page(request, handler, needs=Role.COORDINATOR)


async def override_end(panel: Dashboard, request: Request) -> Response:
    override_id = int(request.path_params["override_id"])
    form = await panel.form(request)

    async def handler(work: Work, viewer: Viewer) -> Response:
        if not panel.csrf_ok(viewer, form):
            return panel.refused(403, "csrf", viewer)
        try:
            await duty.end_override(work, override_id)
        except Refused as refused:
            return await show_roster(panel, work, viewer, viewer.message(refused), 409)
        return RedirectResponse(f"{PREFIX}/piket", 303)

    return await panel.page(request, handler, needs=Role.COORDINATOR)


# The members


async def show_members(
    panel: Dashboard,
    work: Work,
    viewer: Viewer,
    *,
    invited: membership.Invitation | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    session = work.session
    everyone = (await session.exec(select(Member).order_by(col(Member.name)))).all()
    reached: dict[int, list[str]] = {}
    for address in await members.addresses(session, [m.id for m in everyone if m.id]):
        reached.setdefault(address.member_id, []).append(str(address.channel))
    return panel.render(
        "members.html",
        viewer,
        status=status,
        here=f"{PREFIX}/anggota",
        everyone=everyone,
        reached=reached,
        roles=[r.value for r in Role],
        manages=viewer.member.role == Role.ADMIN,
        invited=invited,
        problem=problem,
    )


async def members_page(panel: Dashboard, request: Request) -> Response:
    async def handler(work: Work, viewer: Viewer) -> Response:
        return await show_members(panel, work, viewer)

    return await panel.page(request, handler, needs=Role.COORDINATOR)


async def member_invite(panel: Dashboard, request: Request) -> Response:
    form = await panel.form(request)

    async def handler(work: Work, viewer: Viewer) -> Response:
        if not panel.csrf_ok(viewer, form):
            return panel.refused(403, "csrf", viewer)
        name = form.get("name", "").strip()[:100]
        try:
            role = Role(form.get("role", "member"))
        except ValueError:
            return panel.refused(400, "form", viewer)
        if not name:
            return await show_members(
                panel, work, viewer, problem=viewer.t(N_("Give a name.")), status=409
            )
        try:
            made = await membership.invite(
                work, name, role, agency=form.get("agency", "").strip()[:100], by=viewer.member
            )
        except Refused as refused:
            return await show_members(
                panel, work, viewer, problem=viewer.message(refused), status=409
            )
        return await show_members(panel, work, viewer, invited=made)

    return await panel.page(request, handler, needs=Role.ADMIN)


async def member_action(panel: Dashboard, request: Request) -> Response:
    member_id = str(request.path_params["member_id"])
    action = str(request.path_params["action"])
    form = await panel.form(request)

    async def handler(work: Work, viewer: Viewer) -> Response:
        if not panel.csrf_ok(viewer, form):
            return panel.refused(403, "csrf", viewer)
        try:
            if action == "peran":
                try:
                    role = Role(form.get("role", ""))
                except ValueError:
                    return panel.refused(400, "form", viewer)
                await membership.set_role(work.session, member_id, role)
            elif action == "hapus":
                await membership.remove(work, member_id)
            else:
                return panel.refused(404, "page", viewer)
        except Refused as refused:
            return await show_members(
                panel, work, viewer, problem=viewer.message(refused), status=409
            )
        return RedirectResponse(f"{PREFIX}/anggota", 303)

    return await panel.page(request, handler, needs=Role.ADMIN)
