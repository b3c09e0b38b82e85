"""`sigap check`: what an operator must get right before the task force relies on the bot, each
checked for real and said in one line: the database reachable and migrated, Telegram's token
and webhook, Twilio's credentials and templates, an admin and a coordinator, someone on duty
now and over the next 24 hours, the media folder writable, the web server's port free, the
clock. `sigap run` logs the checks that need no network (`local`) as warnings when it starts.

A problem stops the task force from being reached (exit status 1); a warning works but needs
a look."""

from __future__ import annotations

import contextlib
import errno
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

import httpx

from bot.app import App, build
from bot.config import TEMPLATE_KINDS, Settings
from handlers.taskforce.roster import on_duty
from storage import members, roster, sealing
from storage.db import Database
from storage.migrate import revisions
from storage.models import Role
from storage.resealing import pending
from storage.sealing import KeyProblem
from storage.settings import Unreachable

TIMEOUT = 10.0
CLOCK_SKEW = timedelta(minutes=2)  # follow-ups, escalation and login links run on it
STEP = timedelta(minutes=1)  # the resolution of the roster's gaps
AHEAD = timedelta(hours=24)


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "PROBLEM"


@dataclass(frozen=True)
class Finding:
    level: Level
    part: str
    says: str

    def __str__(self) -> str:
        return f"{self.level.value:8} {self.part}: {self.says}"


def ok(part: str, says: str) -> Finding:
    return Finding(Level.OK, part, says)


def warning(part: str, says: str) -> Finding:
    return Finding(Level.WARNING, part, says)


def problem(part: str, says: str) -> Finding:
    return Finding(Level.PROBLEM, part, says)


# The database, before anything opens it for work (opening migrates it).


async def database(settings: Settings) -> Finding:
    db = Database(settings.storage.url)
    try:
        current, head = await revisions(db)
    except Unreachable as error:
        return problem("database", str(error))
    finally:
        await db.close()
    if current != head:
        return problem(
            "database",
            f"at migration {current or 'none'}, the code needs {head}: run `sigap db upgrade` "
            "(`sigap run` does it when it starts)",
        )
    return ok("database", f"reachable, migrated ({head})")


# What needs no network: `sigap run` says these too.


async def local(app: App) -> list[Finding]:
    return [*await people(app), *await duty(app), media(app)]


async def people(app: App) -> list[Finding]:
    async with app.db.read() as session:
        anyone = await members.active(session)
    admins = [m for m in anyone if m.role == Role.ADMIN]
    leads = [m for m in anyone if m.role == Role.COORDINATOR]
    add = "sigap members add --name NAME --role admin --telegram-id ID (or --whatsapp +62...)"
    if not anyone and not app.services.alerts.telegram_group_id:
        return [
            problem(
                "members",
                "the task force has no member yet: reports will reach nobody (residents are "
                f"told so). Add the first admin: {add}",
            )
        ]
    found = []
    if not admins:
        found.append(problem("members", f"no admin, so nobody can add members: {add}"))
    if not leads:
        found.append(
            warning(
                "members",
                "no coordinator: when nobody is on duty, alerts go to the coordinators and "
                "admins, and only they broadcast (`sigap members role NAME coordinator`)",
            )
        )
    if not found:
        found.append(ok("members", f"{len(admins)} admin(s), {len(leads)} coordinator(s)"))
    return found


async def duty(app: App) -> list[Finding]:
    """Nobody on duty now, and the gaps in the next 24 hours (when alerts go to the
    coordinators instead)."""
    now, zone = app.services.clock(), app.services.bot.zone
    async with app.db.read() as session:
        shifts = await roster.shifts(session)
        overrides = await roster.overrides(session, now)
    # Now, then each whole minute (shifts start and end on one) for the next 24 hours.
    minute = now.replace(second=0, microsecond=0)
    moments = [now, *(minute + STEP * k for k in range(1, int(AHEAD / STEP) + 1))]
    gaps: list[tuple[datetime, datetime]] = []
    for moment, following in pairwise(moments):
        if not on_duty(shifts, overrides, moment, zone):
            if gaps and gaps[-1][1] == moment:
                gaps[-1] = (gaps[-1][0], following)
            else:
                gaps.append((moment, following))
    if not gaps:
        return [ok("roster", "someone is on duty now and over the next 24 hours")]

    def local_time(at: datetime) -> str:
        return at.astimezone(zone).strftime("%a %H:%M")

    listed = ", ".join(f"{local_time(a)}-{local_time(min(b, now + AHEAD))}" for a, b in gaps)
    now_too = "nobody is on duty now; " if gaps[0][0] == now else ""
    return [
        warning(
            "roster",
            f"{now_too}nobody on duty {listed} (alerts then go to the coordinators): "
            "see `sigap roster show`",
        )
    ]


def media(app: App) -> Finding:
    folder = app.settings.storage.media_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".check-"):
            pass
    except OSError as error:
        return problem("media", f"{folder} is not writable ({error.strerror}): evidence is lost")
    return ok("media", f"{folder} is writable")


# The outside world.


async def everything(app: App) -> list[Finding]:
    """Every check but the database's (done before the app is built)."""
    found = await local(app)
    found.append(port(app))
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        dates: list[datetime] = []
        found += await telegram(app, http, dates)
        found += await whatsapp(app, http, dates)
    found.append(clock(app, dates))
    return found


def port(app: App) -> Finding:
    server = app.settings.server
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((server.host, server.port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return warning(
                    "server",
                    f"port {server.port} on {server.host} is in use: fine if it is `sigap run` "
                    "itself, else change [server] port",
                )
            return problem("server", f"cannot listen on {server.host}:{server.port} ({error})")
    return ok("server", f"{server.host}:{server.port} is free")


async def telegram(app: App, http: httpx.AsyncClient, dates: list[datetime]) -> list[Finding]:
    settings = app.settings.telegram
    if not settings.enabled:
        return [ok("telegram", "not configured")]
    base = f"{settings.base_url}{settings.token}"

    async def call(method: str) -> dict[str, Any] | str:
        """The result, or why there is none."""
        try:
            answer = await http.get(f"{base}/{method}")
        except httpx.HTTPError as error:
            return f"Telegram cannot be reached ({type(error).__name__})"
        remember_date(answer, dates)
        if answer.status_code == 401:
            return "Telegram refused the token: check [telegram] token or SIGAP_TELEGRAM_TOKEN"
        body = answer.json() if answer.headers.get("content-type", "").startswith("app") else {}
        if not body.get("ok"):
            return f"{method} failed: {body.get('description', answer.status_code)}"
        result: dict[str, Any] = body["result"]
        return result

    me = await call("getMe")
    if isinstance(me, str):
        return [problem("telegram", me)]
    found = [ok("telegram", f"the token is @{me.get('username')}'s")]
    if not me.get("can_join_groups", True) and app.services.alerts.telegram_group_id:
        found.append(problem("telegram", "the bot may not join groups, but alerts go to one"))
    info = await call("getWebhookInfo")
    if isinstance(info, str):
        return [*found, problem("telegram", info)]
    found.append(webhook(app, info))
    return found


def webhook(app: App, info: dict[str, Any]) -> Finding:
    settings, public = app.settings.telegram, app.settings.server.public_url.rstrip("/")
    current = str(info.get("url", ""))
    if settings.mode == "polling":
        if current:
            return warning(
                "telegram",
                f"a webhook is set ({current}) but [telegram] mode is polling: `sigap run` "
                "removes it, and another server using it stops receiving",
            )
        return ok("telegram", "polling (no webhook set)")
    wanted = f"{public}{settings.webhook_path}"
    if not current:
        return warning(
            "telegram", f"no webhook set yet: `sigap run` sets it to {wanted} when it starts"
        )
    if current != wanted:
        return problem("telegram", f"the webhook is {current}, not {wanted}: updates go elsewhere")
    error = info.get("last_error_message")
    if error:
        when = datetime.fromtimestamp(int(info.get("last_error_date", 0)), app.services.bot.zone)
        pending = info.get("pending_update_count", 0)
        return warning(
            "telegram",
            f"the webhook {current} last failed at {when:%Y-%m-%d %H:%M}: {error} "
            f"({pending} update(s) waiting)",
        )
    return ok("telegram", f"the webhook is {current}")


async def whatsapp(app: App, http: httpx.AsyncClient, dates: list[datetime]) -> list[Finding]:
    settings = app.settings.whatsapp
    if not settings.enabled:
        return [ok("whatsapp", "not configured")]
    url = f"{settings.api_base_url.rstrip('/')}/2010-04-01/Accounts/{settings.account_sid}.json"
    try:
        answer = await http.get(url, auth=(settings.account_sid, settings.auth_token))
    except httpx.HTTPError as error:
        return [problem("whatsapp", f"Twilio cannot be reached ({type(error).__name__})")]
    remember_date(answer, dates)
    if answer.status_code == 401:
        return [
            problem(
                "whatsapp",
                "Twilio refused the account SID and auth token: check [whatsapp] account_sid "
                "and auth_token (or SIGAP_TWILIO_AUTH_TOKEN)",
            )
        ]
    if answer.status_code != 200:
        return [problem("whatsapp", f"Twilio answered {answer.status_code} for the account")]
    status = answer.json().get("status", "active")
    found = [
        ok("whatsapp", f"Twilio account {settings.account_sid} is {status}")
        if status == "active"
        else problem("whatsapp", f"Twilio account {settings.account_sid} is {status}")
    ]
    missing = [kind.value for kind in TEMPLATE_KINDS if kind not in settings.templates]
    if missing:
        found.append(
            warning(
                "whatsapp",
                f"no template for {', '.join(missing)} in [whatsapp.templates]: such messages "
                "to anyone who has not written in the last 24 hours fail",
            )
        )
    else:
        found.append(ok("whatsapp", "a template for every kind sent outside the 24-hour window"))
    return found


def remember_date(answer: httpx.Response, dates: list[datetime]) -> None:
    with contextlib.suppress(KeyError, TypeError, ValueError):
        dates.append(parsedate_to_datetime(answer.headers["date"]))


def clock(app: App, dates: Sequence[datetime]) -> Finding:
    """This server's clock against the Date of Telegram's or Twilio's answers."""
    if not dates:
        return ok("clock", "not compared (no channel answered)")
    skew = app.services.clock() - dates[-1]
    seconds = skew.total_seconds()
    if abs(skew) > CLOCK_SKEW:
        way = "ahead of" if seconds > 0 else "behind"
        return problem(
            "clock",
            f"this server's clock is {abs(seconds):.0f} s {way} the channels': follow-ups, "
            "links and Twilio's signatures go wrong (set up NTP: timedatectl set-ntp true)",
        )
    return ok("clock", f"within {abs(seconds):.0f} s of the channels'")


async def check(settings: Settings) -> list[Finding]:
    """Every check, in the order an operator fixes them: the database first (without it
    nothing else can be looked at)."""
    first = await database(settings)
    if first.level is Level.PROBLEM:
        return [first]
    try:
        app = await build(settings)
    except KeyProblem as missing:
        return [first, problem("data key", str(missing))]
    try:
        return [first, await data_key(app), *await everything(app)]
    finally:
        await app.close()


async def data_key(app: App) -> Finding:
    current = sealing.keyring().current.id
    older = await pending(app.db)
    if older is not None:
        return warning(
            "data key",
            f"{current}, but some values are still sealed with {older}: run `sigap keys rotate`",
        )
    return ok("data key", f"{current}: everything is sealed with it")


def problems(found: Sequence[Finding]) -> bool:
    return any(f.level is Level.PROBLEM for f in found)
