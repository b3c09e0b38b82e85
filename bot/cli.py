"""The `sigap` command: the terminal chat, the database, and looking at what came in.

Each command imports what it works with when it runs, so that `sigap --help` and the quick
commands start without loading the flows, the models or the channels (bench/cli_start.py)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from handlers.i18n import available

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings
    from storage.sealing import DataKey

T = TypeVar("T")

# The choices the options offer, as the values of storage.models' ReportState, Role, Outcome
# and Verdict: spelled out here, since `--help` does not load the models (tests/test_cli.py
# checks they are the same).
REPORT_STATES = ("new", "acknowledged", "in_progress", "referred", "closed")
ROLES = ("member", "coordinator", "admin")
OUTCOMES = (
    "trafficking_suspected",
    "scam_or_fraud",
    "non_procedural_migration",
    "not_trafficking",
    "duplicate",
    "unreachable",
    "withdrawn",
)
DANGEROUS, CLEARED = "dangerous", "cleared"

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar="SIGAP_CONFIG",
    help="Config file (default: $SIGAP_CONFIG, else ./config.toml if present, else built-in "
    "defaults). Before or after the command.",
)


# `reports list --state`: a state, or "open" (acknowledged, in_progress and referred).
STATES = click.Choice(["open", *REPORT_STATES])


def settings_from(path: Path | None, *, indicators: bool = True) -> Settings:
    """The settings of the config file given after the command, else before it
    (`sigap --config FILE reports list`), else from $SIGAP_CONFIG or the default; the risk
    indicators checked too unless `indicators` is False (config.load)."""
    from bot import config

    if path is None:
        path = click.get_current_context().find_root().params.get("config_path")
    try:
        return config.load(path, indicators=indicators)
    except config.ConfigError as error:
        raise click.ClickException(str(error)) from None


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Runs the command's work (see `refusals`)."""
    with refusals():
        return asyncio.run(main)


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """A start-up failure the operator can fix (the database, the data key, the web server's
    port) is one line; Ctrl-C ends quietly with the shell's status for it, 130."""
    from storage.sealing import KeyProblem
    from storage.settings import Unreachable

    try:
        yield
    except KeyboardInterrupt:
        sys.exit(130)
    except (Unreachable, KeyProblem) as error:
        raise click.ClickException(str(error)) from None


async def with_app(settings: Settings, work: Callable[[App], Awaitable[T]]) -> T:
    from bot.app import build

    app = await build(settings)
    try:
        return await work(app)
    finally:
        await app.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sigap", message="sigap %(version)s")
@config_option
def main(config_path: Path | None) -> None:
    """Sigap: report suspicious job offers (possible human trafficking) to the task force."""


@main.command()
@config_option
@click.option(
    "--as",
    "sender",
    default="terminal",
    show_default=True,
    help="Who is chatting: each name is a separate resident with their own conversation.",
)
def chat(config_path: Path | None, sender: str) -> None:
    """Chat with the bot in this terminal, as a resident would (piped input works too)."""
    from storage.sealing import DataKey

    settings = settings_from(config_path)
    if settings.privacy.keys() is None:
        made = settings.privacy.key_file.resolve()
        write_key_file(made, DataKey.new())
        click.echo(
            f"Made a data key in {made}: it seals reporters' details in the database. "
            "Keep it, and keep it apart from the database's backups.",
            err=True,
        )

    async def work(app: App) -> None:
        from bot.console import Console

        group = bool(app.services.alerts.telegram_group_id)
        await Console(app.for_channels, group=group, sender=sender).run()

    run_async(with_app(settings, work))


@main.command()
@config_option
@click.option("-v", "--verbose", is_flag=True, help="Log debugging details too.")
def run(config_path: Path | None, verbose: bool) -> None:
    """Run the service: the configured channels, the web server and the scheduler."""
    from bot import logs

    settings = settings_from(config_path)
    logs.setup(
        verbose=verbose,
        secrets_in_config=settings.secrets,
        form=settings.logging.format,
        level=settings.logging.level,
    )

    async def work(app: App) -> None:
        # The channels load only here: the other commands start faster without them.
        from telegram.error import InvalidToken

        from bot.service import NoChannel, Service
        from bot.web import CannotListen

        try:
            service = Service(app)
        except NoChannel as error:
            raise click.ClickException(str(error)) from None
        try:
            await service.run()
        except CannotListen as error:
            raise click.ClickException(str(error)) from None
        except InvalidToken:
            raise click.ClickException(
                "Telegram refused the bot token: check [telegram] token or SIGAP_TELEGRAM_TOKEN"
            ) from None

    run_async(with_app(settings, work))


@main.command()
@config_option
def check(config_path: Path | None) -> None:
    """Check the set-up before relying on it: the database, Telegram, Twilio, the members,
    the roster, the media folder, the port and the clock. Exit status 1 on a problem."""
    from bot import preflight

    found = run_async(preflight.check(settings_from(config_path)))
    for finding in found:
        click.echo(str(finding))
    if preflight.problems(found):
        sys.exit(1)


@main.command()
@config_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(config_path: Path | None, file: Path) -> None:
    """Write the database and the media folder to FILE (.tar.gz), safe while `sigap run`
    runs. It holds every reporter's identity: keep it as safe as the database."""
    from bot import backup as backups
    from handlers.usecases import Refused

    settings = settings_from(config_path)
    try:
        click.echo(run_async(backups.backup(settings, file)))
    except Refused as refused:
        raise click.ClickException(str(refused)) from None


@main.command()
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(config_path: Path | None, file: Path) -> None:
    """Restore a backup FILE onto an empty deployment (a new database, an empty media
    folder), with `sigap run` stopped."""
    from bot import backup as backups
    from handlers.usecases import Refused

    settings = settings_from(config_path)
    try:
        click.echo(run_async(backups.restore(settings, file)))
    except Refused as refused:
        raise click.ClickException(str(refused)) from None


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Bring the database to the current schema (run and chat do this at start)."""
    from storage.db import Database
    from storage.migrate import upgrade

    settings = settings_from(config_path)

    async def work() -> None:
        database = Database(settings.storage.url)
        try:
            await upgrade(database)
        finally:
            await database.close()

    run_async(work())
    click.echo("database is up to date")


def write_key_file(path: Path, key: DataKey) -> None:
    """A new key file that only its owner may read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(f"{key}\n")


@main.group()
def keys() -> None:
    """The data key that seals reporters' details at rest."""


@keys.command("new")
def keys_new() -> None:
    """Print a new data key, for SIGAP_DATA_KEY or [privacy] data_key."""
    from storage.sealing import DataKey

    click.echo(str(DataKey.new()))


@keys.command("rotate")
@config_option
def keys_rotate(config_path: Path | None) -> None:
    """Reseal everything under the current data key (data_key), in batches, while the service
    runs. Before: make the new key data_key, move the old one to old_data_keys and restart
    the service. After: remove the old key. Safe to stop and run again."""
    settings = settings_from(config_path)

    async def work(app: App) -> str:
        from storage import sealing
        from storage.resealing import reseal

        def progress(table: str, count: int) -> None:
            click.echo(f"  {table}: {count} row(s) resealed", err=True)

        done = await reseal(app.db, settings.storage.media_dir, progress)
        return (
            f"resealed: {done}\n"
            f"everything is sealed with data key {sealing.keyring().current.id}"
            "; the old keys may now be removed from [privacy] old_data_keys"
        )

    click.echo(run_async(with_app(settings, work)))


@main.group()
def reports() -> None:
    """The reports that came in."""


@reports.command("list")
@config_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the newest N.")
@click.option(
    "--state",
    "states",
    type=STATES,
    multiple=True,
    help="Only reports in this state (repeat for several; 'open': acknowledged, in_progress "
    "and referred), listed per assignee.",
)
@click.option("--assignee", default=None, help="Only the cases of this member (name or id).")
def reports_list(
    config_path: Path | None, limit: int | None, states: tuple[str, ...], assignee: str | None
) -> None:
    """A table of reports: reference, time, priority, kind, area, state, assignee. With
    --state or --assignee: the cases per member."""
    settings = settings_from(config_path, indicators=bool(states or assignee))
    if states or assignee:
        from bot.reports import cases_table
        from handlers.usecases import Refused

        work = functools.partial(cases_table, states=states, assignee=assignee)
        try:
            click.echo(run_async(with_app(settings, work)))
        except Refused as error:
            raise click.ClickException(str(error)) from None
        return
    from bot.tables import listing_table

    with refusals():
        click.echo(listing_table(settings, limit=limit))


@reports.command("show")
@config_option
@click.argument("reference")
def reports_show(config_path: Path | None, reference: str) -> None:
    """Everything about one report, with its evidence and timeline."""
    from bot.reports import show_report

    settings = settings_from(config_path)
    text = run_async(with_app(settings, functools.partial(show_report, reference=reference)))
    if text is None:
        raise click.ClickException(f"no report {reference}")
    click.echo(text)


@reports.command("export")
@config_option
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@click.option(
    "--reason",
    required=True,
    callback=lambda _ctx, _param, value: stated(value),
    help="Why the reports leave Sigap (kept in the audit with the export).",
)
@click.option(
    "--with-contact",
    is_flag=True,
    help="Include the reporters' contact numbers and chat addresses (where they gave them).",
)
def reports_export(
    config_path: Path | None, fmt: str, output: Path | None, reason: str, with_contact: bool
) -> None:
    """Every field of every report, one row per report; the reporters' contacts only with
    --with-contact. Each report's export is recorded in the audit with the reason."""
    from bot.reports import export_csv

    settings = settings_from(config_path)
    export = functools.partial(export_csv, reason=reason, with_contact=with_contact)

    async def work(app: App) -> None:
        if output is None:
            await export(app, csv_writer(sys.stdout))
            return
        with output.open("w", newline="", encoding="utf-8") as f:
            await export(app, csv_writer(f))

    run_async(with_app(settings, work))
    if output is not None:
        click.echo(f"written to {output}", err=True)


@main.command()
@config_option
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="e.g. 2026")
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: evaluasi-YEAR.pdf or .html here).",
)
@click.option(
    "--lang",
    "language",
    type=click.Choice(available()),
    default=None,
    help="The document's language (default: [bot] default_language).",
)
def evaluate(
    config_path: Path | None, year: int, fmt: str, output: Path | None, language: str | None
) -> None:
    """The yearly evaluation of the cases for the task force's meeting: reports per month and
    by area, destination, kind and channel, response times against the escalation targets,
    outcomes, referrals and the recurring confirmed recruiter identifiers. Counts under 5 are
    shown as "<5"."""
    from bot.evaluation import default_name, evaluation

    settings = settings_from(config_path)
    make = functools.partial(evaluation, year=year, fmt=fmt, language=language)
    document = run_async(with_app(settings, make))
    target = output if output is not None else Path(default_name(year, fmt))
    target.write_bytes(document)
    click.echo(f"written to {target}")


def stated(reason: str) -> str:
    """A reason of a few words, in one line."""
    from handlers.usecases.referral import REASON_MAX, REASON_MIN

    reason = " ".join(reason.split())
    if len(reason) < REASON_MIN:
        raise click.BadParameter("state the reason in a few words")
    return reason[:REASON_MAX]


@main.command("audit")
@config_option
@click.option("--report", "reference", default=None, help="Only this report (its reference).")
@click.option("--member", default=None, help="Only this member (name or id).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def audit_command(
    config_path: Path | None, reference: str | None, member: str | None, limit: int
) -> None:
    """Who looked at reporters' contacts, stories and evidence: when (local time), through
    which door (bot, dashboard, cli), who, which report, what, where, and an export's reason."""
    from bot.reports import audit_table

    settings = settings_from(config_path)
    work = functools.partial(audit_table, reference=reference, member=member, limit=limit)
    click.echo(run_async(with_app(settings, work)))


def csv_writer(stream: TextIO) -> Any:
    return csv.writer(stream)


Work = Callable[["App"], Awaitable[str]]


def admin_command(command: Callable[..., Work]) -> Callable[..., None]:
    """Makes an operator's command of a function that takes the command's arguments and
    returns its work on the app: adds --config, does the work and prints its answer. A refusal
    becomes one clear line (exit status 1). Put it right under the group's `.command(...)`:
    --config is then listed first, as on every other command."""

    @functools.wraps(command)
    def run(config_path: Path | None, **arguments: Any) -> None:
        from handlers.usecases import Refused

        work = command(**arguments)  # usage errors first, as click's own
        settings = settings_from(config_path)
        try:
            click.echo(run_async(with_app(settings, work)).rstrip("\n"))
        except Refused as error:
            raise click.ClickException(str(error)) from None

    return config_option(run)


@reports.command("note")
@admin_command
@click.argument("reference")
@click.argument("text")
@click.option("--as", "author", default=None, help="The member the note is written for.")
@click.option(
    "--file",
    "files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="A file to keep with the note (repeat for several).",
)
def reports_note(reference: str, text: str, author: str | None, files: tuple[Path, ...]) -> Work:
    """Add a note to a case (private to the task force)."""
    from bot.reports import case_note

    return lambda app: case_note(app, reference, text, author, files)


@reports.command("assign")
@admin_command
@click.argument("reference")
@click.argument("member")
def reports_assign(reference: str, member: str) -> Work:
    """Give a case to a member (by name or id); they are told."""
    from bot.reports import case_assign

    return lambda app: case_assign(app, reference, member)


@reports.command("close")
@admin_command
@click.argument("reference")
@click.option("--outcome", type=click.Choice(OUTCOMES), required=True)
@click.option("--duplicate-of", default=None, help="The other report, for --outcome duplicate.")
def reports_close(reference: str, outcome: str, duplicate_of: str | None) -> Work:
    """Close a case with its outcome; the reporter is told there is news."""
    from bot.reports import case_close
    from storage.models import Outcome

    return lambda app: case_close(app, reference, Outcome(outcome), duplicate_of)


@reports.command("reopen")
@admin_command
@click.argument("reference")
def reports_reopen(reference: str) -> Work:
    """Reopen a closed case (back to in_progress)."""
    from bot.reports import case_reopen

    return lambda app: case_reopen(app, reference)


@reports.command("erase")
@admin_command
@click.argument("reference")
@click.option(
    "--reason",
    required=True,
    callback=lambda _ctx, _param, value: stated(value),
    help="Why (kept in the audit with who did it).",
)
def reports_erase(reference: str, reason: str) -> Work:
    """Erase the identity of a report's reporter (their chat address, contact number and
    consents); the report stays, anonymised, and nothing can be sent to them any more. As
    when they send HAPUS DATA, for this report only; recorded in the audit with the reason."""
    from bot.reports import erase_identity

    return lambda app: erase_identity(app, reference, reason)


@main.command("retention")
@admin_command
@click.option("--limit", type=click.IntRange(min=1), default=14, show_default=True)
def retention_command(limit: int) -> Work:
    """What [retention] keeps, and what its daily runs removed (counts only)."""
    from bot.reports import retention_table

    return lambda app: retention_table(app, limit=limit)


@main.group("members")
def members_group() -> None:
    """Task-force members."""


@members_group.command("add")
@admin_command
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--agency", default="", help="e.g. police, immigration, social affairs")
@click.option("--telegram-id", type=int, default=None, help="Their Telegram user id.")
@click.option("--whatsapp", default=None, help="Their WhatsApp number, e.g. +62812...")
def members_add(
    name: str, role: str, agency: str, telegram_id: int | None, whatsapp: str | None
) -> Work:
    """Add a member reached at a known Telegram id or WhatsApp number (e.g. the first admin)."""
    from bot import admin
    from storage.models import Role

    return lambda app: admin.add_member(app, name, Role(role), agency, telegram_id, whatsapp)


@members_group.command("invite")
@admin_command
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--agency", default="")
def members_invite(name: str, role: str, agency: str) -> Work:
    """A one-time code (valid 24 hours) the new member sends to the bot: /gabung CODE."""
    from bot import admin
    from storage.models import Role

    return lambda app: admin.invite(app, name, Role(role), agency)


@members_group.command("test")
@admin_command
@click.argument("name")
@click.option(
    "--wait",
    type=float,
    default=15.0,
    show_default=True,
    help="Seconds to wait for Twilio to confirm a WhatsApp delivery.",
)
def members_test(name: str, wait: float) -> Work:
    """Send a test alert to every address of a member now; say which were delivered."""

    async def work(app: App) -> str:
        from bot.member_test import test_member

        return await test_member(app, name, wait)

    return work


@members_group.command("list")
@admin_command
def members_list() -> Work:
    """The members, their roles, where they are reached, and who is on duty."""
    from bot import admin

    return admin.list_members


@members_group.command("remove")
@admin_command
@click.argument("member")
def members_remove(member: str) -> Work:
    """Remove a member (by name or id): they can no longer act on reports."""
    from bot import admin

    return lambda app: admin.remove_member(app, member)


@members_group.command("set-role")
@admin_command
@click.argument("member")
@click.argument("role", type=click.Choice(ROLES))
def members_set_role(member: str, role: str) -> Work:
    """Change a member's role: member, coordinator or admin."""
    from bot import admin
    from storage.models import Role

    return lambda app: admin.set_role(app, member, Role(role))


@main.group("roster")
def roster_group() -> None:
    """The duty roster: weekly shifts, and who is on duty."""


@roster_group.command("import")
@admin_command
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--replace", is_flag=True, help="Also when FILE has no shifts: the roster is emptied."
)
def roster_import(file: Path, replace: bool) -> Work:
    """Replace the weekly shifts with those in FILE: CSV (day,start,end,members with members
    separated by ;) or TOML ([[shift]] day, start, end, members). Times are local; an end
    before the start ends the next day. A file with no shifts changes nothing, unless
    --replace."""
    from bot import admin

    return lambda app: admin.import_roster(app, file, replace=replace)


@roster_group.command("export")
@admin_command
@click.option("--format", "fmt", type=click.Choice(["csv", "toml"]), default="csv")
def roster_export(fmt: str) -> Work:
    """The weekly shifts, in the format `roster import` reads."""
    from bot import admin

    return lambda app: admin.export_roster(app, fmt)


@roster_group.command("show")
@admin_command
@click.option("--at", "at", default=None, help="A local time, e.g. '2026-11-30 08:00'.")
def roster_show(at: str | None) -> Work:
    """Who is on duty now (or at a time), who is next, the shifts and overrides."""
    from bot import admin

    return lambda app: admin.show_roster(app, at)


@main.group("outbox")
def outbox_group() -> None:
    """Messages the bot sends on its own."""


@outbox_group.command("failed")
@admin_command
def outbox_failed() -> Work:
    """Messages that could not be delivered, and why."""
    from bot import admin

    return admin.failed_outbox


@outbox_group.command("retry")
@admin_command
@click.argument("message_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Every failed message.")
def outbox_retry(message_id: int | None, every: bool) -> Work:
    """Send failed messages again: one (its ID from `outbox failed`) or --all. `sigap run`
    sends them, with fresh retries."""
    from bot import admin

    if (message_id is None) != every:
        raise click.UsageError("give a message ID or --all")
    return lambda app: admin.retry_outbox(app, message_id)


@main.group("broadcast")
def broadcast_group() -> None:
    """Awareness broadcasts to subscribed residents (`sigap run` sends them)."""


@broadcast_group.command("send")
@admin_command
@click.option(
    "--text",
    "text_file",
    type=click.File(encoding="utf-8"),
    default=None,
    help="A file with the message (- for standard input).",
)
@click.option("--library", "library_id", default=None, help="A message of the library, by id.")
@click.option("--area", "areas", multiple=True, help="An area from the config (repeat); none: all")
@click.option("--lang", "language", default=None, help="Only subscribers of this language.")
@click.option(
    "--at", "at", default=None, help="A local time, e.g. '2026-12-01 08:00'; default now."
)
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="An image (JPEG, PNG, WebP) to send with the text.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def broadcast_send(
    image: Path | None,
    text_file: TextIO | None,
    library_id: str | None,
    areas: tuple[str, ...],
    language: str | None,
    at: str | None,
    yes: bool,
) -> Work:
    """Send (or schedule) a broadcast: your own text, or a message of the library."""
    from bot import admin

    if (text_file is None) == (library_id is None):
        raise click.UsageError("give either --text FILE or --library ID")
    text = text_file.read().strip() if text_file is not None else ""

    def confirm(question: str) -> bool:
        click.echo(question)
        return yes or click.confirm("", default=False, show_default=False, prompt_suffix="")

    return lambda app: admin.send_broadcast(
        app, text, library_id, list(areas), language, at, confirm, image
    )


@broadcast_group.command("list")
@admin_command
def broadcast_list() -> Work:
    """The broadcasts, newest first."""
    from bot import admin

    return admin.list_broadcasts


@broadcast_group.command("status")
@admin_command
@click.argument("broadcast_id", type=int)
@click.option("--no-wait", is_flag=True, help="Print the progress once instead of following it.")
def broadcast_status(broadcast_id: int, no_wait: bool) -> Work:
    """Progress of a broadcast: a live bar while it is being sent."""
    from bot import admin

    async def follow(app: App) -> str:
        line, done, total, over = await admin.broadcast_status(app, broadcast_id)
        if no_wait or over:
            return line
        with click.progressbar(length=max(total, 1), label=f"broadcast #{broadcast_id}") as bar:
            shown = 0
            while not over:
                await asyncio.sleep(0.5)
                line, done, total, over = await admin.broadcast_status(app, broadcast_id)
                bar.length = max(total, 1)
                bar.update(done - shown)
                shown = done
        return line

    return follow


@broadcast_group.command("cancel")
@admin_command
@click.argument("broadcast_id", type=int)
def broadcast_cancel(broadcast_id: int) -> Work:
    """Stop a scheduled or running broadcast: what was not sent yet will not be."""
    from bot import admin

    return lambda app: admin.cancel_broadcast(app, broadcast_id)


@broadcast_group.command("library")
def broadcast_library() -> None:
    """The ready awareness messages, in Indonesian and English."""
    from bot import admin

    click.echo(admin.library_listing())


@main.group("referrals")
def referrals_group() -> None:
    """Referrals of reports to partner agencies ([[referral.agencies]]), and their answers."""


@referrals_group.command("list")
@admin_command
@click.option("--all", "every", is_flag=True, help="Also the rejected, done and revoked ones.")
@click.option("--report", "reference", default=None, help="Only those of one report.")
def referrals_list(every: bool, reference: str | None) -> Work:
    """The open referrals (sent or accepted), newest first."""
    from bot import referrals

    return lambda app: referrals.listing(app, every=every, reference=reference)


@referrals_group.command("accept")
@admin_command
@click.argument("referral_id", type=int)
def referrals_accept(referral_id: int) -> Work:
    """The agency took the case on."""
    from bot import referrals
    from storage.models import ReferralState

    return lambda app: referrals.change(app, referral_id, ReferralState.ACCEPTED, None)


@referrals_group.command("reject")
@admin_command
@click.argument("referral_id", type=int)
@click.option("--reason", required=True, help="Why the agency did not take it on.")
def referrals_reject(referral_id: int, reason: str) -> Work:
    """The agency did not take the case on."""
    from bot import referrals
    from storage.models import ReferralState

    return lambda app: referrals.change(app, referral_id, ReferralState.REJECTED, reason)


@referrals_group.command("done")
@admin_command
@click.argument("referral_id", type=int)
def referrals_done(referral_id: int) -> Work:
    """The agency has finished with the case."""
    from bot import referrals
    from storage.models import ReferralState

    return lambda app: referrals.change(app, referral_id, ReferralState.DONE, None)


@referrals_group.command("revoke")
@admin_command
@click.argument("referral_id", type=int)
@click.option("--reason", default=None)
def referrals_revoke(referral_id: int, reason: str | None) -> Work:
    """The task force takes the referral back."""
    from bot import referrals
    from storage.models import ReferralState

    return lambda app: referrals.change(app, referral_id, ReferralState.REVOKED, reason)


@main.group("intel")
def intel_group() -> None:
    """Recruiters' identifiers: what is known of one, marks (dangerous or cleared) and their
    confirmation; residents are only ever shown confirmed marks."""


@intel_group.command("show")
@admin_command
@click.argument("value")
def intel_show(value: str) -> Work:
    """Everything known of an identifier (a number, account, agency, link, @account or
    e-mail): the reports naming it with their states, its marks, and how often residents
    checked it in the last 7 days."""
    from bot import intel

    return lambda app: intel.show(app, value)


@intel_group.command("checked")
@admin_command
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True)
def intel_checked(days: int) -> Work:
    """The identifiers residents checked most (CEK) in the last days, with how many
    different chats checked each (never which ones)."""
    from bot import intel

    return lambda app: intel.checked(app, days)


@intel_group.command("mark")
@admin_command
@click.argument("value")
@click.option("--dangerous", "verdict", flag_value=DANGEROUS, help="A danger.")
@click.option("--cleared", "verdict", flag_value=CLEARED, help="Found harmless.")
@click.option("--case", "reference", required=True, help="The case that proves it.")
def intel_mark(value: str, verdict: str | None, reference: str) -> Work:
    """Mark an identifier, citing a case (the operator's mark is confirmed at once)."""
    from bot import intel
    from storage.models import Verdict

    if verdict is None:
        raise click.UsageError("give --dangerous or --cleared")
    return lambda app: intel.mark(app, value, Verdict(verdict), reference)


@intel_group.command("confirm")
@admin_command
@click.argument("mark_id", type=int)
def intel_confirm(mark_id: int) -> Work:
    """Confirm a member's mark: residents who check the identifier are told from now on."""
    from bot import intel

    return lambda app: intel.confirm(app, mark_id)


@intel_group.command("pending")
@admin_command
def intel_pending() -> Work:
    """The marks waiting for a coordinator's confirmation."""
    from bot import intel

    return lambda app: intel.pending(app)


@intel_group.command("reindex")
@admin_command
def intel_reindex() -> Work:
    """Extract and link the identifiers of every stored report (after upgrading to 0013)."""
    from bot import intel

    return lambda app: intel.reindex(app)


@main.group("whatsapp")
def whatsapp_group() -> None:
    """WhatsApp through Twilio."""


@whatsapp_group.command("templates")
@click.option(
    "--lang",
    "languages",
    type=click.Choice(available()),
    multiple=True,
    help="Only the bodies in this language (repeat for several; default: every language).",
)
def whatsapp_templates(languages: tuple[str, ...]) -> None:
    """The templates to submit for approval (Twilio's Content Template Builder), one per kind
    of message the bot sends on its own: each body, what its variables hold, and the key of
    its Content SID in [whatsapp.templates]. docs/DEPLOY.md shows the same."""
    from handlers.templates import listing

    click.echo(listing(list(languages) or available()), nl=False)


@main.group("dashboard")
def dashboard_group() -> None:
    """The task force's web pages at <server.public_url>/dasbor."""


@dashboard_group.command("link")
@admin_command
@click.option("--member", "member", required=True, help="The member's name or id.")
def dashboard_link(member: str) -> Work:
    """A one-time login link for a member (valid [dashboard] link_minutes, once)."""
    return lambda app: dashboard_login_link(app, member)


async def dashboard_login_link(app: App, name: str) -> str:
    from handlers.usecases import Refused
    from storage import dashboard as storage_dashboard
    from storage import members as storage_members

    url = app.settings.dashboard_url
    if not url:
        raise Refused("the dashboard is off: set [server] public_url ([dashboard] enabled)")
    minutes = app.settings.dashboard.link_minutes
    async with app.services.work() as work:
        found = [m for m in await storage_members.named(work.session, name) if m.id is not None]
        if len(found) != 1:
            raise Refused(f"no single active member {name!r}")
        assert found[0].id is not None
        token = await storage_dashboard.new_link(work.session, found[0].id, work.now, minutes)
    return f"{url}/masuk/{token}  (for {found[0].name}, valid {minutes:g} minutes, once)"


if __name__ == "__main__":
    main()
