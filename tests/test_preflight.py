"""`sigap check` (bot/preflight.py): each misconfiguration an operator can make, made one at a
time on a set-up that is otherwise right, against the fake Telegram and Twilio servers; and the
same checks that need no network logged by `sigap run` as it starts."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import preflight
from bot.app import build
from bot.config import (
    TEMPLATE_KINDS,
    PrivacySettings,
    ServerSettings,
    Settings,
    TelegramSettings,
)
from storage import members, roster
from storage.models import Channel, Role
from storage.roster import ShiftRow
from storage.sealing import DataKey
from storage.settings import StorageSettings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.support import keys
from tests.support.keys import KEYED, TEST_KEY
from tests.support.whatsapp import whatsapp_settings

PUBLIC = "https://sigap.example.org"
TEMPLATES = {kind.value: "HX" + "0" * 32 for kind in TEMPLATE_KINDS}


@pytest.fixture
def free_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


@pytest.fixture
def right(
    database_url: str, tmp_path: Path, fake: FakeTelegram, twilio: FakeTwilio, free_port: int
) -> Settings:
    """A set-up with nothing wrong: Telegram by webhook, WhatsApp with every template."""
    return Settings(
        privacy=KEYED,
        storage=StorageSettings(url=database_url, media_dir=tmp_path / "media"),
        server=ServerSettings(public_url=PUBLIC, port=free_port),
        telegram=TelegramSettings(
            token=FakeTelegram.TOKEN, base_url=fake.base_url, mode="webhook", secret_token="s3cret"
        ),
        whatsapp=whatsapp_settings(twilio, templates=TEMPLATES),
    )


async def staffed(settings: Settings, *roles: Role, every_day: bool = True) -> None:
    """Members with these roles, on duty all week (or not at all)."""
    app = await build(settings)
    try:
        async with app.db.write() as session:
            ids = []
            for number, role in enumerate(roles):
                member = await members.add(session, f"M{number}", role, at=datetime.now(UTC))
                await members.link(session, member, Channel.TELEGRAM, str(9000 + number))
                ids.append(member.id or 0)
            if every_day:
                week = [ShiftRow(day, "00:00", "00:00", tuple(ids)) for day in range(7)]
                await roster.replace_shifts(session, week)
    finally:
        await app.close()


def said(found: list[preflight.Finding], level: preflight.Level) -> str:
    return "\n".join(str(f) for f in found if f.level is level)


@pytest.fixture
async def ready(right: Settings, fake: FakeTelegram) -> Settings:
    await staffed(right, Role.ADMIN, Role.COORDINATOR)
    fake.webhook = {"url": f"{PUBLIC}/telegram/webhook"}
    return right


async def test_a_right_set_up_has_no_problem_and_no_warning(ready: Settings) -> None:
    found = await preflight.check(ready)
    assert not preflight.problems(found)
    assert said(found, preflight.Level.WARNING) == ""
    lines = "\n".join(map(str, found))
    for part in ("database", "members", "roster", "media", "server", "telegram", "whatsapp"):
        assert f"ok       {part}: " in lines, lines
    assert "ok       data key: ktest: everything is sealed with it" in lines
    assert "the token is @SigapTestBot's" in lines
    assert "the webhook is https://sigap.example.org/telegram/webhook" in lines
    assert "clock: within" in lines


async def test_a_database_never_migrated_is_a_problem_and_stops_the_check(
    ready: Settings, tmp_path: Path
) -> None:
    empty = ready.model_copy(
        update={"storage": StorageSettings(url=f"sqlite:///{tmp_path / 'new.db'}")}
    )
    [only] = await preflight.check(empty)
    assert only.level is preflight.Level.PROBLEM
    assert "at migration none" in only.says and "sigap db upgrade" in only.says


async def test_a_data_key_missing_or_not_yet_rotated(ready: Settings) -> None:
    none = ready.model_copy(update={"privacy": PrivacySettings(key_file=Path("/nonexistent"))})
    [_, missing] = await preflight.check(none)
    assert missing.level is preflight.Level.PROBLEM and missing.part == "data key"
    assert "no data key: set SIGAP_DATA_KEY" in missing.says
    new = str(DataKey.new())
    turned = PrivacySettings(data_key=new, old_data_keys=[TEST_KEY])
    try:
        found = await preflight.check(ready.model_copy(update={"privacy": turned}))
    finally:
        keys.install()  # the tests' keyring again
    [rotate] = [f for f in found if f.part == "data key"]
    assert rotate.level is preflight.Level.WARNING
    assert "still sealed with ktest: run `sigap keys rotate`" in rotate.says


async def test_a_database_that_cannot_be_reached_is_a_problem(ready: Settings) -> None:
    away = ready.model_copy(
        update={"storage": StorageSettings(url="postgresql+psycopg://nobody@127.0.0.1:1/x")}
    )
    [only] = await preflight.check(away)
    assert only.level is preflight.Level.PROBLEM and only.part == "database"


async def test_a_token_telegram_refuses(ready: Settings) -> None:
    wrong = ready.model_copy(
        update={"telegram": ready.telegram.model_copy(update={"token": "123:wrong"})}
    )
    found = await preflight.check(wrong)
    assert "Telegram refused the token" in said(found, preflight.Level.PROBLEM)


async def test_the_webhook_elsewhere_failing_or_left_behind(
    ready: Settings, fake: FakeTelegram
) -> None:
    fake.webhook = {"url": "https://old.example.org/hook"}
    found = await preflight.check(ready)
    assert "the webhook is https://old.example.org/hook, not " in said(
        found, preflight.Level.PROBLEM
    )
    fake.webhook = {"url": f"{PUBLIC}/telegram/webhook"}
    fake.webhook_error = (int(datetime.now(UTC).timestamp()), "Connection refused")
    found = await preflight.check(ready)
    assert "last failed at" in said(found, preflight.Level.WARNING)
    assert "Connection refused" in said(found, preflight.Level.WARNING)
    polling = ready.model_copy(
        update={"telegram": ready.telegram.model_copy(update={"mode": "polling"})}
    )
    found = await preflight.check(polling)
    assert "but [telegram] mode is polling" in said(found, preflight.Level.WARNING)


async def test_twilio_credentials_refused_an_account_suspended_templates_missing(
    ready: Settings, twilio: FakeTwilio
) -> None:
    wrong = ready.model_copy(
        update={"whatsapp": ready.whatsapp.model_copy(update={"auth_token": "wrong"})}
    )
    found = await preflight.check(wrong)
    assert "Twilio refused the account SID and auth token" in said(found, preflight.Level.PROBLEM)
    twilio.account_status = "suspended"
    found = await preflight.check(ready)
    assert "is suspended" in said(found, preflight.Level.PROBLEM)
    twilio.account_status = "active"
    bare = ready.model_copy(
        update={"whatsapp": ready.whatsapp.model_copy(update={"templates": {}})}
    )
    found = await preflight.check(bare)
    assert "no template for alert, followup" in said(found, preflight.Level.WARNING)


@pytest.mark.parametrize(
    ("roles", "level", "says"),
    [
        ((), preflight.Level.PROBLEM, "the task force has no member yet"),
        ((Role.COORDINATOR,), preflight.Level.PROBLEM, "no admin, so nobody can add members"),
        ((Role.ADMIN,), preflight.Level.WARNING, "no coordinator"),
    ],
)
async def test_members_missing(
    right: Settings, roles: tuple[Role, ...], level: preflight.Level, says: str
) -> None:
    await staffed(right, *roles)
    found = await preflight.check(right)
    assert says in said(found, level)


async def test_nobody_on_duty_now_and_the_gaps_of_the_next_day(right: Settings) -> None:
    await staffed(right, Role.ADMIN, Role.COORDINATOR, every_day=False)
    found = await preflight.check(right)
    assert "nobody is on duty now; nobody on duty " in said(found, preflight.Level.WARNING)
    app = await build(right)
    try:
        now = app.services.clock().astimezone(app.services.bot.zone)
        start = (now + timedelta(hours=2)).strftime("%H:00")
        end = (now + timedelta(hours=6)).strftime("%H:00")
        async with app.db.write() as session:
            week = [ShiftRow(day, start, end, (1,)) for day in range(7)]
            await roster.replace_shifts(session, week)
        [gaps] = await preflight.duty(app)
    finally:
        await app.close()
    assert gaps.level is preflight.Level.WARNING
    assert f"-{(now + timedelta(hours=2)):%a} {start}, " in gaps.says  # first gap ends at start
    assert f"{(now + timedelta(hours=6)):%a} {end}-" in gaps.says  # the next begins at end


async def test_a_media_folder_that_cannot_be_written(ready: Settings, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    settings = ready.model_copy(
        update={"storage": ready.storage.model_copy(update={"media_dir": blocked / "media"})}
    )
    found = await preflight.check(settings)
    assert "is not writable" in said(found, preflight.Level.PROBLEM)


async def test_the_port_in_use(ready: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ready.server.port))
        taken.listen()
        found = await preflight.check(ready)
    assert f"port {ready.server.port} on 127.0.0.1 is in use" in said(
        found, preflight.Level.WARNING
    )


async def test_a_clock_minutes_off_the_channels(ready: Settings) -> None:
    def late() -> datetime:
        return datetime.now(UTC) - timedelta(minutes=7)

    app = await build(ready, clock=late)
    try:
        found = await preflight.everything(app)
    finally:
        await app.close()
    problem = said(found, preflight.Level.PROBLEM)
    seconds = re.search(r"this server's clock is (\d+) s behind the channels'", problem)
    assert seconds and 415 <= int(seconds.group(1)) <= 425, problem


async def test_what_sigap_run_checks_as_it_starts_needs_no_network(right: Settings) -> None:
    """`sigap run` logs these (tests/test_telegram.py sees the no-member one in its log);
    Telegram and Twilio it reaches itself."""
    await staffed(right, Role.ADMIN, every_day=False)
    app = await build(right)
    try:
        found = await preflight.local(app)
    finally:
        await app.close()
    assert {f.part for f in found} == {"members", "roster", "media"}
    assert "no coordinator" in said(found, preflight.Level.WARNING)
