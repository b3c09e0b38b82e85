"""The `sigap` command, run as a resident and an operator would: a report made in the terminal
chat shows in `reports list`, `reports show` and the CSV export."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect
from sqlmodel import AutoString

from bot import cli
from bot.app import App
from bot.cli import main
from bot.config import Settings
from bot.tables import listing_table, read_after_start
from storage import listing, reports
from storage.models import Outcome, Report, ReportState, Role, Sealing, Verdict
from storage.sealing import DataKey
from tests.support.answers import DETAILS, ENGLISH_REPORT, INDONESIAN_DETAILS, INDONESIAN_REPORT
from tests.support.chat import Chat
from tests.support.cli import run_sigap, sigap, terminal_chat, without_settings
from tests.support.clock import Clock
from tests.support.keys import TEST_KEY


def test_a_report_made_in_the_terminal_chat_is_listed_and_exported(
    tmp_path: Path, database_url: str
) -> None:
    chat = terminal_chat(
        [*INDONESIAN_REPORT[:-1], *INDONESIAN_DETAILS, INDONESIAN_REPORT[-1]],
        tmp_path,
        database_url,
    )
    nobody = "[nobody gets this alert: the task force has no member yet"
    assert nobody in chat and "BTN-2026-00001" in chat.split(nobody)[1]
    assert "+6281234567890" in chat

    listing = sigap(["reports", "list"], tmp_path, database_url)
    header, row = listing.splitlines()
    assert header.split() == ["REFERENCE", "TIME", "PRIORITY", "KIND", "AREA", "STATE"]
    assert row.split()[0] == "BTN-2026-00001" and "Bintan Timur" in row and "new" in row

    shown = sigap(["reports", "show", "btn-2026-00001"], tmp_path, database_url)
    assert "reporter:       anonymous" in shown and "Pak Budi" in shown and "submitted" in shown
    assert "terminal" not in shown  # the chat address of an anonymous reporter is never shown

    why = ["--reason", "the yearly figures"]
    exported = sigap(["reports", "export", "--format", "csv", *why], tmp_path, database_url)
    (record,) = list(csv.DictReader(io.StringIO(exported)))
    assert record["reference"] == "BTN-2026-00001"
    assert record["red_flags"] == "upfront_fees;unofficial_route"
    assert record["recruiter_phones"] == "+6281234567890"
    assert record["story"].startswith("Sepupu saya")
    assert "terminal" not in exported

    sigap(["reports", "export", "-o", "out.csv", *why], tmp_path, database_url)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == exported


def test_a_report_that_reaches_nobody_promises_nothing_and_waits_for_the_first_member(
    tmp_path: Path, database_url: str
) -> None:
    chat = terminal_chat(INDONESIAN_REPORT, tmp_path, database_url)
    assert "[nobody gets this alert" in chat
    assert "anggota yang sedang bertugas langsung diberi tahu" not in chat  # no such promise
    assert "belum ada anggota gugus tugas yang bisa dihubungi" in chat and "110" in chat

    sigap(
        ["members", "add", "--name", "Andi", "--role", "admin", "--telegram-id", "9001"],
        tmp_path,
        database_url,
    )
    shown = sigap(["reports", "show", "BTN-2026-00001"], tmp_path, database_url)
    assert "alerted" in shown and "Andi" in shown  # the first member gets what came before
    second = terminal_chat(INDONESIAN_REPORT, tmp_path, database_url, "--as", "tetangga")
    assert "[alert to Andi]" in second
    assert "anggota yang sedang bertugas langsung diberi tahu" in second


def test_an_admin_erases_a_reporters_identity_giving_a_reason(
    tmp_path: Path, database_url: str
) -> None:
    terminal_chat(INDONESIAN_REPORT, tmp_path, database_url)
    env = {**without_settings(), "SIGAP_STORAGE_URL": database_url}
    missing = run_sigap(["reports", "erase", "BTN-2026-00001"], tmp_path, env)
    assert missing.returncode == 2 and "--reason" in missing.stderr
    unknown = run_sigap(["reports", "erase", "BTN-2026-00099", "--reason", "asked"], tmp_path, env)
    assert unknown.returncode == 1 and "There is no report BTN-2026-00099." in unknown.stderr

    said = sigap(
        ["reports", "erase", "btn-2026-00001", "--reason", "asked on the hotline"],
        tmp_path,
        database_url,
    )
    assert "BTN-2026-00001: the reporter's identity is erased" in said
    assert "Their chat is forgotten too." in said
    shown = sigap(["reports", "show", "BTN-2026-00001"], tmp_path, database_url)
    assert "reporter:       identity erased on" in shown and "(by an admin)" in shown
    assert "identity_erased  by operator" in shown and "Sepupu saya" in shown  # the report stays
    audit = sigap(["audit", "--report", "BTN-2026-00001"], tmp_path, database_url)
    assert "erasure" in audit and "reports erase" in audit and "asked on the hotline" in audit
    again = run_sigap(["reports", "erase", "BTN-2026-00001", "--reason", "again"], tmp_path, env)
    assert again.returncode == 1 and "was already erased" in again.stderr
    kept = sigap(["retention"], tmp_path, database_url)
    assert "a closed case's reporter identity: 12 months" in kept and "no run yet" in kept


def test_the_terminal_chat_runs_with_no_config_file(tmp_path: Path) -> None:
    done = run_sigap(["chat"], tmp_path, without_settings(), "bantuan\n")
    assert done.returncode == 0, done.stderr
    assert "110" in done.stdout
    assert (tmp_path / "sigap.db").exists()


def test_a_bad_config_stops_with_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[bot]\ntimezone = 'Nowhere'\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["reports", "list", "--config", str(tmp_path / "config.toml")]
    )
    assert result.exit_code == 1
    assert "bot.timezone: an IANA time zone" in result.output


def commands(group: click.Group, path: list[str]) -> list[list[str]]:
    """Every command under the group, as the words that call it."""
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += commands(command, [*path, name])
        else:
            found.append([*path, name])
    return found


ALL_COMMANDS = commands(main, [])


def test_the_commands_issues_name_exist() -> None:
    named = (["run"], ["members", "set-role"], ["roster", "import"], ["outbox", "failed"])
    for command in (*named, ["keys", "rotate"], ["reports", "erase"], ["audit"]):
        assert command in ALL_COMMANDS


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_the_config_file_before_or_after_the_command_or_from_sigap_config(
    tmp_path: Path,
) -> None:
    """Each way names the same file, whose relative database is beside it, wherever the
    operator stands."""
    folder = tmp_path / "etc"
    folder.mkdir()
    config = folder / "sigap.toml"
    config.write_text('[storage]\nurl = "sqlite:///beside.db"\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = without_settings()
    for args, extra in [
        (["--config", str(config), "reports", "list"], {}),
        (["reports", "list", "--config", str(config)], {}),
        (["reports", "list"], {"SIGAP_CONFIG": str(config)}),
    ]:
        done = run_sigap(args, elsewhere, {**env, **extra})
        assert done.returncode == 0, done.stderr
        assert "no reports" in done.stdout.lower() or done.stdout.startswith("REFERENCE")
    assert (folder / "beside.db").exists() and not list(elsewhere.iterdir())
    version = run_sigap(["--version"], elsewhere, env)
    assert version.returncode == 0 and version.stdout.startswith("sigap ")


def test_the_options_offer_the_values_of_the_stored_enums() -> None:
    """bot/cli.py spells them out (its `--help` does not load the models): they must not
    drift from the enums."""
    assert tuple(ReportState) == cli.REPORT_STATES
    assert tuple(Role) == cli.ROLES
    assert tuple(Outcome) == cli.OUTCOMES
    assert tuple(Verdict) == (cli.DANGEROUS, cli.CLEARED)


def loaded_by(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[str, set[str]]:
    """What `sigap ARGS` printed, and the modules it loaded, in a process of its own."""
    script = (
        "import sys\nfrom bot.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit as done:\n    print(*sys.modules, file=sys.stderr)\n"
        "    sys.exit(done.code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(done.stderr.split())


def test_help_loads_neither_the_database_nor_the_flows(tmp_path: Path) -> None:
    for args in (["--help"], ["reports", "--help"], ["members", "add", "--help"]):
        printed, modules = loaded_by(args, tmp_path, without_settings())
        assert "Usage:" in printed
        heavy = ("sqlalchemy", "sqlmodel", "alembic", "pydantic", "storage")
        assert not {m for m in modules if m.split(".")[0] in heavy}
        ours = {m for m in modules if m.startswith(("bot.", "handlers."))}
        assert ours == {"bot.cli", "handlers.i18n"}


def test_the_list_of_reports_loads_neither_the_models_nor_the_flows(
    tmp_path: Path, database_url: str
) -> None:
    """Once the database is ready for work (at the newest migration, sealed under the data key):
    `reports list` checks that and opens the seals on a plain connection, without the models,
    the ORM, Alembic or the flows."""
    env = {**os.environ, "SIGAP_STORAGE_URL": database_url, "SIGAP_MEDIA_DIR": str(tmp_path)}
    printed, modules = loaded_by(["reports", "list"], tmp_path, env)
    assert printed == "no reports yet\n"
    assert "storage.sealing" in modules and "storage.listing" in modules
    heavy = ("sqlmodel", "alembic", "reportlab", "telegram")
    assert not {m for m in modules if m.split(".")[0] in heavy}
    assert not {m for m in modules if m.startswith(("sqlalchemy.orm", "sqlalchemy.ext"))}
    assert "storage.models" not in modules and "storage.db" not in modules
    assert "handlers.conversation.flows" not in modules and "bot.reports" not in modules


def test_the_quick_list_reads_the_models_columns() -> None:
    """storage/listing.py spells out the columns it reads (it does not load the models): each
    must be the model's column, of its type (SQLModel's AutoString is a String)."""
    for quick, model in ((listing.REPORT, Report), (listing.SEALING, Sealing)):
        stored = inspect(model).local_table
        for column in quick.columns:
            kept = stored.c[column.name].type
            assert type(kept.impl if isinstance(kept, AutoString) else kept) is type(column.type)
            assert getattr(kept, "enum", None) is getattr(column.type, "enum", None)


async def test_the_quick_list_reads_what_the_full_start_reads(
    app: App, settings: Settings, clock: Clock
) -> None:
    """`reports list` reads a ready database on a plain connection, else after the full start:
    both read the same reports in the same order as the export (the newest first, the later
    one first when two came in the same instant), cut at --limit, shown in local time."""
    for n, details in enumerate([DETAILS, [], []]):
        await Chat(app, sender=f"resident-{n}").dialog([*ENGLISH_REPORT, *details, ("1", "")])
        if n == 0:
            clock.advance(minutes=90)
    every = listing.read_if_ready(settings.storage.url, settings.privacy.keyring(), None)
    assert every == await read_after_start(settings, None)
    async with app.db.read() as session:
        assert [r.reference for r in every] == [r.reference for r in await reports.listing(session)]
    assert listing_table(settings, limit=2) == (
        "REFERENCE       TIME              PRIORITY  KIND         AREA  STATE\n"
        "BTN-2026-00003  2026-11-28 11:30  normal    work_abroad  -     new\n"
        "BTN-2026-00002  2026-11-28 11:30  normal    work_abroad  -     new"
    )
    assert listing_table(settings).endswith(
        "BTN-2026-00001  2026-11-28 10:00  normal    work_abroad  Bintan Timur  new"
    )


@pytest.mark.parametrize("key", ["same id", "another id"])
def test_the_list_of_reports_refuses_a_key_the_database_was_not_sealed_with(
    tmp_path: Path, database_url: str, key: str
) -> None:
    """Quickly (the key's id is the database's, the key is not) or after the full start."""
    other = DataKey.new()
    if key == "same id":
        other = DataKey(DataKey.parse(TEST_KEY).id, other.secret)
    env = {**without_settings(), "SIGAP_STORAGE_URL": database_url, "SIGAP_DATA_KEY": str(other)}
    refused = run_sigap(["reports", "list"], tmp_path, env)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        "Error: a value sealed with data key ktest fails its check"
        if key == "same id"
        else "Error: the database is sealed with data key ktest, which is not configured: give "
        "it as [privacy] data_key (or in old_data_keys until `sigap keys rotate` has finished)"
    )
