"""`sigap members`, `sigap roster` and `sigap outbox`, as an operator runs them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli import main
from storage import broadcasts, outbox, workers
from storage.db import Database
from storage.media import MediaStore
from storage.models import (
    Affected,
    Channel,
    ChildInvolved,
    MessageKind,
    OfferKind,
    OfferSource,
    Outbox,
    OutboxState,
    Priority,
    Report,
    Subscription,
    Urgency,
)
from tests.support.cli import run_sigap


def sigap(database_url: str, tmp_path: Path, *args: str, answer: str | None = None) -> Result:
    env = {"SIGAP_STORAGE_URL": database_url, "SIGAP_MEDIA_DIR": str(tmp_path / "media")}
    return CliRunner().invoke(main, list(args), env=env, input=answer, catch_exceptions=False)


def operator(
    database_url: str, tmp_path: Path, *args: str, answer: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`sigap ARGS` as another process, as the operator runs it."""
    env = {
        **os.environ,
        "SIGAP_STORAGE_URL": database_url,
        "SIGAP_MEDIA_DIR": str(tmp_path / "media"),
    }
    return run_sigap(args, tmp_path, env, answer)


def complaint(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command prints, asserting it failed with one line and no
    traceback."""
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    return line


def test_members_are_added_invited_listed_changed_and_removed(
    database_url: str, tmp_path: Path
) -> None:
    added = sigap(
        database_url,
        tmp_path,
        "members",
        "add",
        "--name",
        "Citra",
        "--role",
        "admin",
        "--agency",
        "DP3KB",
        "--telegram-id",
        "9003",
        "--whatsapp",
        "0812-3456-7890",
    )
    assert added.exit_code == 0 and "added Citra (admin)" in added.output
    invited = sigap(database_url, tmp_path, "members", "invite", "--name", "Eko")
    assert invited.exit_code == 0 and "/gabung " in invited.output
    listing = sigap(database_url, tmp_path, "members", "list").output
    assert (
        "Citra" in listing and "telegram:9003" in listing and "whatsapp:+6281234567890" in listing
    )
    assert "admin" in sigap(database_url, tmp_path, "members", "list").output
    another_admin = ("--name", "Dewi", "--role", "admin", "--telegram-id", "9004")
    sigap(database_url, tmp_path, "members", "add", *another_admin)
    changed = sigap(database_url, tmp_path, "members", "set-role", "citra", "coordinator")
    assert "Citra is now coordinator" in changed.output
    removed = sigap(database_url, tmp_path, "members", "remove", "Citra")
    assert "removed Citra" in removed.output
    assert "Citra" not in sigap(database_url, tmp_path, "members", "list").output
    missing = sigap(database_url, tmp_path, "members", "remove", "Nobody")
    assert missing.exit_code == 1 and "no member 'Nobody'" in missing.output
    bad = sigap(database_url, tmp_path, "members", "add", "--name", "X", "--whatsapp", "123")
    assert bad.exit_code == 1 and "'123' is not a phone number" in bad.output


def test_an_address_belongs_to_one_active_member(database_url: str, tmp_path: Path) -> None:
    def add(name: str, *reach: str) -> subprocess.CompletedProcess[str]:
        return operator(database_url, tmp_path, "members", "add", "--name", name, *reach)

    assert add("Andi", "--telegram-id", "9001", "--whatsapp", "0812-3456-7890").returncode == 0
    before = sigap(database_url, tmp_path, "members", "list").output
    assert complaint(add("Budi", "--telegram-id", "9001")) == (
        "Error: Telegram id 9001 already belongs to Andi (id 1); nothing was changed"
    )
    assert complaint(add("Budi", "--telegram-id", "9002", "--whatsapp", "+62 812 3456 7890")) == (
        "Error: WhatsApp number +6281234567890 already belongs to Andi (id 1); nothing was changed"
    )
    assert sigap(database_url, tmp_path, "members", "list").output == before
    sigap(database_url, tmp_path, "members", "remove", "Andi")
    moved = add("Budi", "--telegram-id", "9001")  # a removed member's address is free
    assert moved.returncode == 0 and "added Budi" in moved.stdout
    assert "telegram:9001" in sigap(database_url, tmp_path, "members", "list").output


def test_a_name_two_members_share_asks_for_the_id(database_url: str, tmp_path: Path) -> None:
    for name, *details in (
        ("Citra", "--role", "admin", "--telegram-id", "9003"),
        ("Andi", "--agency", "Polres", "--telegram-id", "9001"),
        ("andi", "--role", "coordinator", "--agency", "BP3MI", "--whatsapp", "0812-3456-7890"),
    ):
        sigap(database_url, tmp_path, "members", "add", "--name", name, *details)
    before = sigap(database_url, tmp_path, "members", "list").output
    candidates = [
        "Error: 2 members are called 'ANDI'; give the id:",
        "  id 2: Andi (member, Polres) telegram:9001",
        "  id 3: andi (coordinator, BP3MI) whatsapp:+6281234567890",
    ]
    for command in (["remove", "ANDI"], ["set-role", "ANDI", "admin"]):
        refused = operator(database_url, tmp_path, "members", *command)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert refused.stderr.splitlines() == candidates
    roster = tmp_path / "roster.csv"
    roster.write_text("day,start,end,members\nmon,08:00,16:00,ANDI\n", encoding="utf-8")
    refused = operator(database_url, tmp_path, "roster", "import", str(roster))
    assert refused.stderr.splitlines() == [
        f"Error: {roster}, shift 1: 2 members are called 'ANDI'; give the id:",
        *candidates[1:],
    ]
    assert sigap(database_url, tmp_path, "members", "list").output == before
    assert sigap(database_url, tmp_path, "roster", "export").output == "day,start,end,members\n"
    removed = operator(database_url, tmp_path, "members", "remove", "3")
    assert removed.stdout == "removed andi: their old buttons no longer work\n"
    changed = operator(database_url, tmp_path, "members", "set-role", "andi", "coordinator")
    assert changed.stdout == "Andi is now coordinator\n"


def test_the_last_admin_is_neither_removed_nor_demoted(database_url: str, tmp_path: Path) -> None:
    def members(*args: str) -> subprocess.CompletedProcess[str]:
        return operator(database_url, tmp_path, "members", *args)

    citra = ("--name", "Citra", "--role", "admin", "--telegram-id", "9003")
    sigap(database_url, tmp_path, "members", "add", *citra)
    last = (
        "they are the last admin; make another member admin first "
        "(`sigap members set-role MEMBER admin`)"
    )
    assert complaint(members("remove", "Citra")) == f"Error: cannot remove Citra: {last}"
    assert complaint(members("set-role", "Citra", "coordinator")) == (
        f"Error: cannot make Citra coordinator: {last}"
    )
    assert "Citra  admin" in sigap(database_url, tmp_path, "members", "list").output
    sigap(database_url, tmp_path, "members", "add", "--name", "Dewi", "--telegram-id", "9004")
    assert members("set-role", "Dewi", "admin").stdout == "Dewi is now admin\n"
    assert members("set-role", "Citra", "member").stdout == "Citra is now member\n"
    assert complaint(members("remove", "Dewi")) == f"Error: cannot remove Dewi: {last}"
    assert members("set-role", "Dewi", "admin").returncode == 0  # an admin stays admin
    assert members("remove", "Citra").returncode == 0  # not an admin any more


def test_a_roster_file_without_shifts_changes_nothing_unless_replace(
    database_url: str, tmp_path: Path
) -> None:
    sigap(database_url, tmp_path, "members", "add", "--name", "Andi", "--telegram-id", "9001")
    roster = tmp_path / "roster.csv"
    roster.write_text("day,start,end,members\nmon,08:00,16:00,Andi\n", encoding="utf-8")
    assert "1 shift(s)" in sigap(database_url, tmp_path, "roster", "import", str(roster)).output
    exported = sigap(database_url, tmp_path, "roster", "export").output
    files = {
        "headless.csv": "mon,08:00,16:00,Andi\n",
        "wrong.csv": "hari,mulai,selesai,anggota\nsen,08:00,16:00,Andi\n",
        "empty.csv": "",
        "header.csv": "day,start,end,members\n",
        "empty.toml": "",
        "typo.toml": '[[shifts]]\nday = "mon"\nstart = "08:00"\nend = "16:00"\n',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    csv_header = "not a roster: the first line must be the header day,start,end,members"
    no_shifts = "has no shifts: the roster is unchanged (--replace empties it on purpose)"
    expected = {
        "headless.csv": f"Error: {tmp_path / 'headless.csv'}: {csv_header}",
        "wrong.csv": f"Error: {tmp_path / 'wrong.csv'}: {csv_header}",
        "empty.csv": f"Error: {tmp_path / 'empty.csv'}: {csv_header}",
        "header.csv": f"Error: {tmp_path / 'header.csv'} {no_shifts}",
        "empty.toml": f"Error: {tmp_path / 'empty.toml'} {no_shifts}",
        "typo.toml": f"Error: {tmp_path / 'typo.toml'}: not a roster: shifts are [[shift]] "
        "tables with day, start, end, members (found ['shifts'])",
    }
    for name, line in expected.items():
        refused = operator(database_url, tmp_path, "roster", "import", str(tmp_path / name))
        assert complaint(refused) == line
    replace = ("roster", "import", "--replace")
    refused = operator(database_url, tmp_path, *replace, str(tmp_path / "headless.csv"))
    assert complaint(refused) == expected["headless.csv"]
    assert sigap(database_url, tmp_path, "roster", "export").output == exported

    cleared = operator(database_url, tmp_path, *replace, str(tmp_path / "header.csv"))
    assert cleared.stdout == (
        "roster cleared: no weekly shifts; alerts go to the coordinators unless someone takes "
        "duty (/siaga)\n"
    )
    assert sigap(database_url, tmp_path, "roster", "export").output == "day,start,end,members\n"
    refilled = operator(database_url, tmp_path, *replace, str(roster))
    assert refilled.stdout == "roster replaced: 1 shift(s)\n"


def test_a_roster_is_imported_shown_and_exported(database_url: str, tmp_path: Path) -> None:
    for name, chat in (("Andi", "9001"), ("Budi", "9002")):
        sigap(database_url, tmp_path, "members", "add", "--name", name, "--telegram-id", chat)
    csv_file = tmp_path / "roster.csv"
    csv_file.write_text(
        "day,start,end,members\nmon,08:00,16:00,Andi;Budi\nsen,22:00,06:00,Budi\n",
        encoding="utf-8",
    )
    assert "2 shift(s)" in sigap(database_url, tmp_path, "roster", "import", str(csv_file)).output
    shown = sigap(database_url, tmp_path, "roster", "show", "--at", "2026-11-30 23:30").output
    assert "on duty: Budi" in shown and "mon 22:00-06:00  Budi" in shown
    shown = sigap(database_url, tmp_path, "roster", "show", "--at", "2026-11-29 12:00").output
    assert "nobody on duty: alerts go to the coordinators" in shown
    assert "next: Mon 30 Nov 2026 08:00, Andi, Budi" in shown
    exported = sigap(database_url, tmp_path, "roster", "export").output
    assert exported == "day,start,end,members\nmon,08:00,16:00,Andi;Budi\nmon,22:00,06:00,Budi\n"
    toml = sigap(database_url, tmp_path, "roster", "export", "--format", "toml").output
    toml_file = tmp_path / "roster.toml"
    toml_file.write_text(toml, encoding="utf-8")
    sigap(database_url, tmp_path, "roster", "import", str(toml_file))
    assert sigap(database_url, tmp_path, "roster", "export").output == exported
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("day,start,end,members\nmon,8am,16:00,Andi\n", encoding="utf-8")
    failed = sigap(database_url, tmp_path, "roster", "import", str(wrong))
    assert failed.exit_code == 1 and "shift 1: a time such as 08:00, not '8am'" in failed.output
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("day,start,end,members\nmon,08:00,16:00,Zaki\n", encoding="utf-8")
    failed = sigap(database_url, tmp_path, "roster", "import", str(unknown))
    assert "no member 'Zaki'" in failed.output
    assert sigap(database_url, tmp_path, "roster", "export").output == exported


async def record(
    session: AsyncSession,
    address: str,
    kind: MessageKind,
    *,
    at: datetime,
    state: OutboxState,
    provider_id: str | None = None,
    error_code: str | None = None,
    error: str | None = None,
) -> Outbox:
    """A WhatsApp message "New report" whose delivery already has a result."""
    row = await outbox.enqueue(session, Channel.WHATSAPP, address, kind, "New report", at=at)
    row.state, row.attempts, row.provider_id = state, 1, provider_id
    row.error_code, row.error = error_code, error
    session.add(row)
    await session.flush()
    return row


def test_outbox_failed_lists_what_could_not_be_delivered(database_url: str, tmp_path: Path) -> None:
    assert "no failed messages" in sigap(database_url, tmp_path, "outbox", "failed").output

    async def fail_one() -> None:
        db = Database(database_url)
        async with db.write() as session:
            await record(
                session,
                "+6281234567890",
                MessageKind.ALERT,
                at=datetime.now(UTC),
                state=OutboxState.FAILED,
                error_code="no_template",
                error="outside the 24-hour window and no [whatsapp.templates] alert",
            )
        await db.close()

    asyncio.run(fail_one())
    listing = sigap(database_url, tmp_path, "outbox", "failed").output
    assert "+6281234567890" in listing and "no_template outside the 24-hour window" in listing


async def failed_messages(database_url: str) -> dict[str, int]:
    """Outbox rows by what they are: failed for good, undelivered, sent, an alert of a report
    acknowledged since, a message of a cancelled broadcast, broadcasts to a subscriber and to
    a resident who stopped."""
    db = Database(database_url)
    now = datetime.now(UTC)
    ids = {}
    async with db.write() as session:
        report = Report(
            reference="BTN-2026-00001",
            created_at=now,
            priority=Priority.HIGH,
            channel=Channel.CONSOLE,
            sender="terminal",
            language="id",
            urgency=Urgency.LEAVING_SOON,
            affected=Affected.ME,
            child_involved=ChildInvolved.NO,
            offer_kind=OfferKind.WORK_ABROAD,
            destination="Malaysia",
            offer_source=OfferSource.AGENT,
            story="Ditawari kerja di Malaysia, harus bayar dulu.",
            acknowledged_at=now,
        )
        session.add(report)
        cancelled = await broadcasts.create(
            session, text="Waspada", areas=[], language=None, due_at=now, at=now
        )
        await broadcasts.cancel(session, cancelled, now)
        live = await broadcasts.create(
            session, text="Waspada", areas=[], language=None, due_at=now, at=now
        )
        member, subscriber, stopped = "+6281234567890", "+6281111111111", "+6282222222222"
        session.add(
            Subscription(
                channel=Channel.WHATSAPP, address=subscriber, language="id", created_at=now
            )
        )
        session.add(
            Subscription(
                channel=Channel.WHATSAPP,
                address=stopped,
                language="id",
                created_at=now,
                ended_at=now,
                end_reason="stop",
            )
        )
        for name, state, kind, address, broadcast in (
            ("failed", OutboxState.FAILED, MessageKind.ALERT, member, None),
            ("undelivered", OutboxState.UNDELIVERED, MessageKind.ALERT, member, None),
            ("sent", OutboxState.SENT, MessageKind.ALERT, member, None),
            ("acknowledged", OutboxState.FAILED, MessageKind.ALERT, member, None),
            ("cancelled", OutboxState.FAILED, MessageKind.BROADCAST, subscriber, cancelled),
            ("subscribed", OutboxState.FAILED, MessageKind.BROADCAST, subscriber, live),
            ("unsubscribed", OutboxState.FAILED, MessageKind.BROADCAST, stopped, live),
        ):
            code = {"failed": "no_template", "undelivered": "63016", "sent": None}.get(
                name, "timeout"
            )
            row = await record(
                session,
                address,
                kind,
                at=now,
                state=state,
                provider_id=f"SM{name}",
                error_code=code,
                error=f"{name} for a test" if code else None,
            )
            row.attempts = 8
            row.report_id = report.id if name == "acknowledged" else None
            row.broadcast_id = broadcast.id if broadcast is not None else None
            session.add(row)
            await session.flush()
            assert row.id is not None
            ids[name] = row.id
    await db.close()
    return ids


async def outbox_rows(database_url: str) -> dict[int, Outbox]:
    db = Database(database_url)
    async with db.read() as session:
        rows = {r.id or 0: r for r in (await session.exec(select(Outbox))).all()}
    await db.close()
    return rows


async def claimed_now(database_url: str) -> list[int]:
    """What the delivery job would take now."""
    db = Database(database_url)
    now = datetime.now(UTC)
    async with db.write() as session:
        worker = await workers.register(session, now)
        assert worker.id is not None
        taken = [
            *await outbox.claim(session, now, 50, [Channel.WHATSAPP], worker.id),
            *await outbox.claim(session, now, 50, [Channel.WHATSAPP], worker.id, bulk=True),
        ]
    await db.close()
    return sorted(r.id or 0 for r in taken)


def test_failed_messages_are_sent_again_one_or_all(database_url: str, tmp_path: Path) -> None:
    ids = asyncio.run(failed_messages(database_url))
    retry = ("outbox", "retry")
    unknown = operator(database_url, tmp_path, *retry, "999")
    assert complaint(unknown) == "Error: no message #999 in the outbox"
    sent = operator(database_url, tmp_path, *retry, str(ids["sent"]))
    assert complaint(sent) == f"Error: message #{ids['sent']} has not failed: it is sent"
    acknowledged = operator(database_url, tmp_path, *retry, str(ids["acknowledged"]))
    assert complaint(acknowledged) == (
        f"Error: message #{ids['acknowledged']} is not sent again: its report was acknowledged"
    )
    cancelled = operator(database_url, tmp_path, *retry, str(ids["cancelled"]))
    assert complaint(cancelled) == (
        f"Error: message #{ids['cancelled']} is not sent again: its broadcast was cancelled"
    )
    stopped = operator(database_url, tmp_path, *retry, str(ids["unsubscribed"]))
    assert complaint(stopped) == (
        f"Error: message #{ids['unsubscribed']} is not sent again: the resident has unsubscribed"
    )
    neither = operator(database_url, tmp_path, *retry)
    assert neither.returncode == 2 and "give a message ID or --all" in neither.stderr
    both = operator(database_url, tmp_path, *retry, str(ids["failed"]), "--all")
    assert both.returncode == 2 and "give a message ID or --all" in both.stderr

    one = operator(database_url, tmp_path, *retry, str(ids["failed"]))
    assert one.returncode == 0, one.stderr
    assert one.stdout == (
        f"message #{ids['failed']} to whatsapp +6281234567890 will be sent again\n"
    )
    row = asyncio.run(outbox_rows(database_url))[ids["failed"]]
    assert (row.state, row.attempts, row.provider_id) == (OutboxState.PENDING, 0, None)
    assert (row.error_code, row.error) == ("no_template", "failed for a test")  # for the record
    listing = operator(database_url, tmp_path, "outbox", "failed").stdout
    assert "no_template" not in listing and "63016" in listing

    every = operator(database_url, tmp_path, *retry, "--all")
    assert every.returncode == 0, every.stderr
    assert every.stdout.splitlines() == [
        "2 failed message(s) will be sent again",
        "3 left as they are: alerts of reports acknowledged since, messages of cancelled "
        "broadcasts, broadcasts to residents who unsubscribed",
    ]
    rows = asyncio.run(outbox_rows(database_url))
    assert rows[ids["undelivered"]].state == rows[ids["subscribed"]].state == OutboxState.PENDING
    for moot in ("acknowledged", "cancelled", "unsubscribed"):
        assert rows[ids[moot]].state == OutboxState.FAILED
    assert rows[ids["sent"]].state == OutboxState.SENT
    assert asyncio.run(claimed_now(database_url)) == sorted(
        [ids["failed"], ids["undelivered"], ids["subscribed"]]
    )
    again = operator(database_url, tmp_path, *retry, "--all")
    assert again.stdout.splitlines()[0] == "0 failed message(s) will be sent again"


def test_broadcasts_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    library = sigap(database_url, tmp_path, "broadcast", "library").output
    assert "signs" in library and "online_scam" in library
    text = tmp_path / "message.txt"
    text.write_text("Waspada tawaran kerja yang meminta paspor Anda ditahan.\n", encoding="utf-8")
    refused = sigap(database_url, tmp_path, "broadcast", "send", "--text", str(text), answer="n\n")
    assert "-> 0 subscriber(s), now. Send?" in refused.output and "not sent" in refused.output
    sent = sigap(
        database_url,
        tmp_path,
        "broadcast",
        "send",
        "--text",
        str(text),
        "--area",
        "Toapaya",
        "--at",
        "2030-01-01 08:00",
        "--yes",
    )
    assert "broadcast #1: 0 subscriber(s), 2030-01-01 08:00" in sent.output
    library_sent = sigap(
        database_url, tmp_path, "broadcast", "send", "--library", "signs", "--lang", "en", "--yes"
    )
    assert "broadcast #2" in library_sent.output
    listing = sigap(database_url, tmp_path, "broadcast", "list").output
    assert "Toapaya" in listing and "[signs]" in listing
    status = sigap(database_url, tmp_path, "broadcast", "status", "1", "--no-wait").output
    assert "#1 scheduled for 2030-01-01 08:00: nothing is sending it yet" in status
    assert "cancelled" in sigap(database_url, tmp_path, "broadcast", "cancel", "1").output
    again = sigap(database_url, tmp_path, "broadcast", "cancel", "1")
    assert again.exit_code == 1 and "already cancelled" in again.output
    wrong = sigap(database_url, tmp_path, "broadcast", "send", "--library", "nope", "--yes")
    assert wrong.exit_code == 1 and "no message 'nope' in the library" in wrong.output
    area = sigap(
        database_url,
        tmp_path,
        "broadcast",
        "send",
        "--text",
        str(text),
        "--area",
        "Atlantis",
        "--yes",
    )
    assert area.exit_code == 1 and "unknown area" in area.output


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_broadcast_image_is_checked_and_kept_with_the_broadcast(
    database_url: str, tmp_path: Path
) -> None:
    text = tmp_path / "message.txt"
    text.write_text("Waspada tawaran kerja yang meminta paspor Anda ditahan.\n", encoding="utf-8")
    send = ("broadcast", "send", "--text", str(text), "--image")
    for name, data in (("poster.pdf", b"%PDF-1.4 a leaflet"), ("poster.gif", b"GIF89a" + PNG)):
        (tmp_path / name).write_bytes(data)
        refused = operator(database_url, tmp_path, *send, str(tmp_path / name), "--yes")
        assert complaint(refused) == f"Error: {tmp_path / name}: not a JPEG, PNG or WebP image"
    (tmp_path / "empty.png").write_bytes(b"")
    refused = operator(database_url, tmp_path, *send, str(tmp_path / "empty.png"), "--yes")
    assert complaint(refused) == f"Error: {tmp_path / 'empty.png'}: an empty file, not an image"
    poster = tmp_path / "poster.png"
    poster.write_bytes(PNG)
    declined = operator(database_url, tmp_path, *send, str(poster), answer="n\n")
    assert declined.returncode == 0 and "not sent" in declined.stdout
    assert not (tmp_path / "media").exists()
    assert "no broadcasts yet" in operator(database_url, tmp_path, "broadcast", "list").stdout

    sent = operator(database_url, tmp_path, *send, str(poster), "--yes")
    assert sent.returncode == 0 and "broadcast #1: 0 subscriber(s), now" in sent.stdout

    async def stored_image() -> str | None:
        db = Database(database_url)
        async with db.read() as session:
            made = await broadcasts.get(session, 1)
        await db.close()
        assert made is not None
        return made.image_sha256

    sha256 = hashlib.sha256(PNG).hexdigest()
    assert asyncio.run(stored_image()) == sha256
    assert asyncio.run(MediaStore(tmp_path / "media", 10**6).read(sha256)) == PNG
