"""What `sigap members`, `sigap roster`, `sigap outbox` and `sigap broadcast` do: the operator's
side of the task force. The actions the bot offers too are use cases (handlers/usecases/), done
here as OPERATOR; this module reads files, calls them and renders what they return in plain
English tables (operators are not residents)."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import tomllib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.dates import format_datetime

from bot.app import App
from handlers import library
from handlers.taskforce.roster import WEEKDAYS, names
from handlers.usecases import OPERATOR, Refused, broadcasting, duty, membership
from storage import broadcasts, members, outbox, roster, workers
from storage.models import BroadcastState, Outbox, Role


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


async def add_member(
    app: App,
    name: str,
    role: Role,
    agency: str,
    telegram_id: int | None,
    whatsapp: str | None,
) -> str:
    if telegram_id is None and whatsapp is None:
        raise Refused("give --telegram-id or --whatsapp (or use `sigap members invite`)")
    async with app.services.work() as work:
        added = await membership.add(
            work, name, role, agency=agency, telegram_id=telegram_id, whatsapp=whatsapp
        )
    member = added.member
    told = f"; alerted to {added.alerted} report(s) that reached nobody" if added.alerted else ""
    return f"added {member.name} ({member.role}), id {member.id}{told}"


async def invite(app: App, name: str, role: Role, agency: str) -> str:
    async with app.services.work() as work:
        made = await membership.invite(work, name, role, agency=agency, by=OPERATOR)
    return (
        f"invitation for {made.name} ({made.role}): code {made.code}, valid {made.hours:g} hours."
        f"\nThey send /gabung {made.code} to the bot on Telegram, or GABUNG {made.code} on "
        "WhatsApp."
    )


async def list_members(app: App) -> str:
    async with app.services.work(write=False) as work:
        everyone = await membership.listing(work)
    rows = [
        [
            str(listed.member.id),
            listed.member.name,
            listed.member.role,
            listed.member.agency or "-",
            membership.reached_at(listed.addresses) or "-",
            "yes" if listed.on_duty else "",
        ]
        for listed in everyone
    ]
    if not rows:
        return "no members yet: `sigap members add --name NAME --role admin --telegram-id N`"
    return table(["ID", "NAME", "ROLE", "AGENCY", "REACHED AT", "ON DUTY"], rows)


async def remove_member(app: App, name_or_id: str) -> str:
    async with app.services.work() as work:
        member = await membership.remove(work, name_or_id)
    return f"removed {member.name}: their old buttons no longer work"


async def set_role(app: App, name_or_id: str, role: Role) -> str:
    async with app.db.write() as session:
        member = await membership.set_role(session, name_or_id, role)
    return f"{member.name} is now {role}"


ROSTER_COLUMNS = ["day", "start", "end", "members"]


def read_roster(path: Path) -> list[dict[str, Any]]:
    """Shifts from a CSV (day,start,end,members with members split by ;) or TOML file
    ([[shift]] day, start, end, members = [...]); Refused for a file in neither shape."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise Refused(f"{path}: not valid TOML: {error}") from None
        shifts = document.get("shift", [])
        others = sorted(set(document) - {"shift"})
        if others or not isinstance(shifts, list) or not all(isinstance(s, dict) for s in shifts):
            raise Refused(
                f"{path}: not a roster: shifts are [[shift]] tables with day, start, end, "
                f"members{f' (found {others})' if others else ''}"
            )
        return [dict(s) for s in shifts]
    reader = csv.DictReader(io.StringIO(text))
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    if not set(ROSTER_COLUMNS) <= set(header):
        raise Refused(
            f"{path}: not a roster: the first line must be the header {','.join(ROSTER_COLUMNS)}"
        )
    reader.fieldnames = header
    rows = list(reader)
    for row in rows:
        row["members"] = [m.strip() for m in (row.get("members") or "").split(";") if m.strip()]
    return rows


async def import_roster(app: App, path: Path, *, replace: bool = False) -> str:
    """The weekly shifts become those of the file. A file without shifts empties the roster
    only when asked to (`replace`): by mistake it would leave alerts to the coordinators."""
    entries = read_roster(path)
    if not entries and not replace:
        raise Refused(
            f"{path} has no shifts: the roster is unchanged (--replace empties it on purpose)"
        )
    async with app.db.write() as session:
        try:
            rows = await duty.replace_week(session, entries)
        except Refused as error:
            raise Refused(f"{path}, {error}") from None
    if not rows:
        return (
            "roster cleared: no weekly shifts; alerts go to the coordinators unless someone "
            "takes duty (/siaga)"
        )
    return f"roster replaced: {len(rows)} shift(s)"


async def export_roster(app: App, fmt: str) -> str:
    async with app.db.read() as session:
        shifts = await roster.shifts(session)
        named = {m.id: m.name for m in await members.active(session)}
    entries = [
        (WEEKDAYS[s.weekday], s.start, s.end, [named[i] for i in s.member_ids if i in named])
        for s in shifts
    ]
    if fmt == "toml":
        blocks = []
        for day, start, end, people in entries:
            quoted = ", ".join(f'"{p}"' for p in people)
            blocks.append(
                f'[[shift]]\nday = "{day}"\nstart = "{start}"\nend = "{end}"\n'
                f"members = [{quoted}]\n"
            )
        return "\n".join(blocks)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", "start", "end", "members"])
    for day, start, end, people in entries:
        writer.writerow([day, start, end, ";".join(people)])
    return out.getvalue()


def parse_time(app: App, text: str | None) -> datetime:
    if not text:
        return app.services.clock()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(f"a time such as '2026-11-30 08:00', not {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=app.services.bot.zone)


async def show_roster(app: App, at: str | None) -> str:
    zone = app.services.bot.zone
    async with app.services.work(write=False) as work:
        view = await duty.view(work, parse_time(app, at))

    def label(ids: Iterable[int]) -> str:
        return ", ".join(m.name for m in view.people(ids)) or "nobody"

    def local(when: datetime) -> str:
        return format_datetime(when.astimezone(zone), "EEE d MMM yyyy HH:mm", locale="en")

    lines = [f"at {local(view.at)} ({app.services.bot.timezone})"]
    lines.append(f"on duty: {label(m.id for m in view.on_duty if m.id is not None)}")
    if not view.on_duty:
        lines.append(
            f"  nobody on duty: alerts go to the coordinators ({names(view.coordinators)})"
        )
    if view.upcoming is not None:
        lines.append(f"next: {local(view.upcoming.at)}, {label(view.upcoming.member_ids)}")
    lines.append("weekly shifts:")
    for s in view.shifts:
        lines.append(f"  {WEEKDAYS[s.weekday]} {s.start}-{s.end}  {label(s.member_ids)}")
    for o in view.overrides:
        state = "on duty" if o.on_duty else "off duty"
        who = view.members[o.member_id].name if o.member_id in view.members else o.member_id
        lines.append(f"  override: {who} {state} {local(o.starts_at)} - {local(o.ends_at)}")
    return "\n".join(lines)


async def failed_outbox(app: App) -> str:
    async with app.db.read() as session:
        rows = await outbox.failed(session)
    if not rows:
        return "no failed messages"
    return table(
        ["ID", "TIME", "CHANNEL", "TO", "KIND", "REPORT", "ERROR"],
        [
            [
                str(r.id),
                r.updated_at.astimezone(app.services.bot.zone).strftime("%Y-%m-%d %H:%M"),
                r.channel,
                r.address,
                r.kind,
                str(r.report_id or "-"),
                f"{r.error_code or ''} {r.error or ''}".strip()[:80],
            ]
            for r in rows
        ],
    )


async def retry_outbox(app: App, row_id: int | None) -> str:
    """Failed messages (one, or all when `row_id` is None) back in the queue for `sigap run`."""
    if row_id is None:
        async with app.db.write() as session:
            retried = await outbox.retry(session, app.services.clock())
            left = len(await outbox.failed(session))
        if not retried and not left:
            return "no failed messages"
        lines = [f"{len(retried)} failed message(s) will be sent again"]
        if left:
            lines.append(
                f"{left} left as they are: alerts of reports acknowledged since, messages of "
                "cancelled broadcasts, broadcasts to residents who unsubscribed"
            )
        return "\n".join(lines)
    async with app.db.write() as session:
        row = await outbox.get(session, row_id)
        if row is None:
            raise Refused(f"no message #{row_id} in the outbox")
        if row.state not in outbox.FAILED:
            raise Refused(f"message #{row_id} has not failed: it is {row.state}")
        if not await outbox.retry(session, app.services.clock(), row_id):
            raise Refused(f"message #{row_id} is not sent again: {await _moot(session, row)}")
    return f"message #{row_id} to {row.channel} {row.address} will be sent again"


async def _moot(session: Any, row: Outbox) -> str:
    """Why a failed message no longer matters (see storage.outbox.retry)."""
    if row.kind in outbox.ESCALATION:
        return "its report was acknowledged"
    made = await broadcasts.get(session, row.broadcast_id or 0)
    if made is not None and made.state == BroadcastState.CANCELLED:
        return "its broadcast was cancelled"
    return "the resident has unsubscribed"


async def send_broadcast(
    app: App,
    text: str,
    library_id: str | None,
    areas: list[str],
    language: str | None,
    at: str | None,
    confirm: Any,
    image: Path | None = None,
) -> str:
    """Stores a broadcast (now or at a time) after showing what it is and whom it reaches.
    The image is checked first and kept only once the broadcast is."""
    picture = await broadcast_image(app, image) if image is not None else None
    draft = broadcasting.Draft(text, library_id, areas, language)
    broadcasting.check(app.services, draft)
    now = app.services.clock()
    due = parse_time(app, at) if at else now
    async with app.services.work(write=False) as work:
        reached = await broadcasting.reach(work, draft)
    preview = reached.texts.get(language or app.services.bot.default_language, "")
    when = "now" if due <= now else broadcasting.local_time(app.services, due)
    if not confirm(f"{preview}\n\n-> {reached.count} subscriber(s), {when}. Send?"):
        return "not sent"
    if picture is not None:
        sha256 = (await app.services.media.put(picture)).sha256
        draft = dataclasses.replace(draft, image_sha256=sha256)
    async with app.services.work() as work:
        made = await broadcasting.create(work, draft, due, by=OPERATOR)
    return f"broadcast #{made.id}: {reached.count} subscriber(s), {when} (`sigap run` sends it)"


async def broadcast_image(app: App, path: Path) -> bytes:
    """The bytes of a JPEG, PNG or WebP image within the media size limit; else Refused."""
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise Refused(f"{path}: cannot be read ({error.strerror})") from None
    try:
        broadcasting.check_image(app.services, data)
    except Refused as refused:
        raise Refused(f"{path}: {refused}") from None
    return data


async def list_broadcasts(app: App) -> str:
    async with app.db.read() as session:
        rows = await broadcasts.listing(session)
    if not rows:
        return "no broadcasts yet"
    zone = app.services.bot.zone
    return table(
        ["ID", "DUE", "STATE", "RECIPIENTS", "AREAS", "LANGUAGE", "TEXT"],
        [
            [
                str(b.id),
                b.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                b.state,
                str(b.recipients),
                ", ".join(b.areas) or "all",
                b.language or "all",
                (f"[{b.library_id}]" if b.library_id else b.text)[:40].replace("\n", " "),
            ]
            for b in rows
        ],
    )


async def broadcast_status(app: App, broadcast_id: int) -> tuple[str, int, int, bool]:
    """A line of progress, settled and total counts, and whether there is nothing more to
    follow: the broadcast is over, or nothing is sending it (it is due later, or no `sigap
    run` is running)."""
    now = app.services.clock()
    async with app.db.read() as session:
        found = await broadcasting.find(session, broadcast_id)
        got = await broadcasting.progress(session, broadcast_id)
        running = bool(await workers.alive(session, now))
    sent, failed, blocked, total = got.sent, got.failed, got.blocked, found.recipients
    if found.state in (BroadcastState.DONE, BroadcastState.CANCELLED):
        line = (
            f"#{found.id} {found.state}: {sent} sent, {failed - blocked} failed, "
            f"{blocked} blocked or opted out, of {total}"
        )
        return line, got.settled, total, True
    if found.state is BroadcastState.SCHEDULED and found.due_at > now:
        when = broadcasting.local_time(app.services, found.due_at)
        return f"#{found.id} scheduled for {when}: nothing is sending it yet", 0, total, True
    if not running:
        line = (
            f"#{found.id} {found.state}, {sent} of {total} sent: `sigap run` is not running, "
            "so nothing is sending it; it goes out when the service starts"
        )
        return line, got.settled, total, True
    line = f"#{found.id} {found.state}: {sent} sent, {failed} failed, of {total}"
    return line, got.settled, total, False


async def cancel_broadcast(app: App, broadcast_id: int) -> str:
    async with app.services.work() as work:
        stopped = await broadcasting.cancel(work, broadcast_id)
    return f"broadcast #{broadcast_id} cancelled; {stopped} message(s) will not be sent"


def library_listing() -> str:
    return table(
        ["ID", "TITLE (ID)", "TITLE (EN)"],
        [[m.id, m.title("id"), m.title("en")] for m in library.messages()],
    )
