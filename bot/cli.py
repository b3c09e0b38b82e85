"""The `sigap` command: the terminal chat, the database, and looking at what came in."""

from __future__ import annotations

import asyncio
import csv
import functools
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click
from telegram.error import InvalidToken

from bot import config
from bot.app import App, build
from bot.console import Console
from bot.reports import export_csv, listing_table, show_report
from bot.service import NoChannel, Service
from storage.db import Database
from storage.migrate import upgrade

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: ./config.toml if present, else built-in defaults).",
)


def settings_from(path: Path | None) -> config.Settings:
    try:
        return config.load(path)
    except config.ConfigError as error:
        raise click.ClickException(str(error)) from None


def run_async(main: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(main)
    except KeyboardInterrupt:
        sys.exit(130)


async def with_app(settings: config.Settings, work: Callable[[App], Awaitable[T]]) -> T:
    app = await build(settings)
    try:
        return await work(app)
    finally:
        await app.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
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
    settings = settings_from(config_path)

    async def work(app: App) -> None:
        await Console(app, sender=sender).run()

    run_async(with_app(settings, work))


@main.command()
@config_option
@click.option("-v", "--verbose", is_flag=True, help="Log debugging details too.")
def run(config_path: Path | None, verbose: bool) -> None:
    """Run the service: the configured channels, the web server and the scheduler."""
    settings = settings_from(config_path)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    async def work(app: App) -> None:
        try:
            service = Service(app)
        except NoChannel as error:
            raise click.ClickException(str(error)) from None
        try:
            await service.run()
        except InvalidToken:
            raise click.ClickException(
                "Telegram refused the bot token: check [telegram] token or SIGAP_TELEGRAM_TOKEN"
            ) from None

    run_async(with_app(settings, work))


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Bring the database to the current schema (run and chat do this at start)."""
    settings = settings_from(config_path)

    async def work() -> None:
        database = Database(settings.storage.url)
        try:
            await upgrade(database)
        finally:
            await database.close()

    run_async(work())
    click.echo("database is up to date")


@main.group()
def reports() -> None:
    """The reports that came in."""


@reports.command("list")
@config_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the newest N.")
def reports_list(config_path: Path | None, limit: int | None) -> None:
    """A table of reports: reference, time, priority, kind, area, state."""
    settings = settings_from(config_path)
    click.echo(run_async(with_app(settings, functools.partial(listing_table, limit=limit))))


@reports.command("show")
@config_option
@click.argument("reference")
def reports_show(config_path: Path | None, reference: str) -> None:
    """Everything about one report, with its evidence and timeline."""
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
def reports_export(config_path: Path | None, fmt: str, output: Path | None) -> None:
    """Every field of every report, one row per report."""
    settings = settings_from(config_path)

    async def work(app: App) -> None:
        if output is None:
            await export_csv(app, csv_writer(sys.stdout))
            return
        with output.open("w", newline="", encoding="utf-8") as f:
            await export_csv(app, csv_writer(f))

    run_async(with_app(settings, work))
    if output is not None:
        click.echo(f"written to {output}", err=True)


def csv_writer(stream: TextIO) -> Any:
    return csv.writer(stream)


if __name__ == "__main__":
    main()
