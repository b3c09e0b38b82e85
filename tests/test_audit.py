"""The audit of every look at a reporter's contact, story or evidence, door by door: the bot's
Details (the button and /detail), and the operator's `sigap reports show` and `export` (which
asks for a reason and leaves contacts out unless told), read back with `sigap audit`. The
dashboard's rows are in test_dashboard_security.py, the referral's case file in
test_referral.py."""

from __future__ import annotations

import asyncio
import csv
import getpass
import io

from click.testing import CliRunner, Result

from bot.cli import main
from storage import audit
from tests.support.answers import CONTACTABLE_TO_STORY, ENGLISH_STORY, START_IN_ENGLISH
from tests.support.task_force import ANDI, BUDI, RESIDENT, TaskForce

CONSENTED = [*START_IN_ENGLISH, *CONTACTABLE_TO_STORY, (ENGLISH_STORY, "Please check your report")]
NUMBER = "+6281211112222"  # CONTACT_NUMBER, as stored
OPERATOR = f"operator ({getpass.getuser()})"


async def looks(force: TaskForce) -> list[tuple[str, str, str, str, str]]:
    """The audit, oldest first: (door, who, report, what, where)."""
    async with force.app.db.read() as session:
        found = await audit.entries(session)
    return [(e.row.door, e.who, e.reference, e.row.what, e.row.place) for e in reversed(found)]


async def sigap(force: TaskForce, *args: str) -> Result:
    """`sigap ARGS` on the task force's database, as the operator runs it (in a thread: the
    command runs its own event loop)."""
    settings = force.app.settings.storage
    env = {"SIGAP_STORAGE_URL": settings.url, "SIGAP_MEDIA_DIR": str(settings.media_dir)}
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)


async def test_details_pressed_or_asked_for_are_audited_with_the_contact_only_when_shown(
    force: TaskForce,
) -> None:
    await force.add("Andi", ANDI)
    await force.add("Budi", BUDI)
    anonymous = await force.report()
    consented = await force.report(answers=CONSENTED)
    await force.deliver()
    assert await looks(force) == []  # the alert itself shows no story
    assert ENGLISH_STORY in await force.press(ANDI, "Details")  # on the newest alert
    answer = await force.say(BUDI, f"/detail {anonymous}")
    assert "Reporter: anonymous." in answer
    assert await looks(force) == [
        ("bot", "Andi", consented, "story", "details"),
        ("bot", "Andi", consented, "contact", "details"),
        ("bot", "Budi", anonymous, "story", "details"),
    ]
    await force.say(7777, f"/detail {consented}")  # not a member: refused, nothing seen
    await force.say(ANDI, "/detail BTN-2026-99999")  # no such report
    assert len(await looks(force)) == 3


async def test_reports_show_is_audited_as_the_operators(force: TaskForce) -> None:
    reference = await force.report(answers=CONSENTED)
    shown = await sigap(force, "reports", "show", reference)
    assert shown.exit_code == 0 and NUMBER in shown.output
    assert await looks(force) == [
        ("cli", OPERATOR, reference, "story", "reports show"),
        ("cli", OPERATOR, reference, "contact", "reports show"),
    ]


async def test_an_export_needs_a_reason_and_gives_contacts_only_when_asked(
    force: TaskForce,
) -> None:
    anonymous = await force.report(sender="5002")
    consented = await force.report(answers=CONSENTED)
    refused = await sigap(force, "reports", "export")
    assert refused.exit_code == 2 and "Missing option '--reason'" in refused.output
    refused = await sigap(force, "reports", "export", "--reason", " ok ")
    assert refused.exit_code == 2 and "state the reason in a few words" in refused.output
    assert await looks(force) == []

    plain = await sigap(force, "reports", "export", "--reason", "Monthly figures for the Bupati")
    assert plain.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(plain.output)))
    assert [r["reference"] for r in rows] == [anonymous, consented]
    assert "contact_phone" not in rows[0] and "reporter_chat" not in rows[0]
    assert NUMBER not in plain.output and str(RESIDENT) not in plain.output
    assert rows[1]["story"] == ENGLISH_STORY  # the rest is all there

    full = await sigap(
        force, "reports", "export", "--reason", "Court case 12/2026", "--with-contact"
    )
    rows = list(csv.DictReader(io.StringIO(full.output)))
    assert (rows[0]["contact_phone"], rows[0]["reporter_chat"]) == ("", "")  # anonymous
    assert (rows[1]["contact_phone"], rows[1]["reporter_chat"]) == (NUMBER, f"telegram:{RESIDENT}")

    async with force.app.db.read() as session:
        reasons = [(e.reference, e.row.what, e.row.reason) for e in await audit.entries(session)]
    assert list(reversed(reasons)) == [
        (anonymous, "export", "Monthly figures for the Bupati"),
        (consented, "export", "Monthly figures for the Bupati"),
        (anonymous, "export", "Court case 12/2026"),
        (consented, "export", "Court case 12/2026"),
        (consented, "contact", "Court case 12/2026"),
    ]


async def test_sigap_audit_lists_the_looks_of_a_report_or_a_member_in_local_time(
    force: TaskForce,
) -> None:
    await force.add("Andi", ANDI)
    first = await force.report()
    second = await force.report(answers=CONSENTED)
    await force.say(ANDI, f"/detail {first}")
    force.clock.advance(minutes=5)
    await force.say(ANDI, f"/detail {second}")
    assert (await sigap(force, "reports", "show", first)).exit_code == 0

    listed = (await sigap(force, "audit", "--report", second.lower())).output.splitlines()
    assert listed[0].split() == ["TIME", "DOOR", "WHO", "REPORT", "WHAT", "WHERE", "REASON"]
    # The test clock stands at 10:05 in Jakarta after the five minutes.
    assert [line.split() for line in listed[1:]] == [
        ["2026-11-28", "10:05", "bot", "Andi", second, "contact", "details"],
        ["2026-11-28", "10:05", "bot", "Andi", second, "story", "details"],
    ]
    andi = (await sigap(force, "audit", "--member", "andi")).output.splitlines()
    assert [line.split()[4] for line in andi[1:]] == [second, second, first]
    operator = (await sigap(force, "audit", "--report", first)).output.splitlines()
    assert OPERATOR in operator[1] and "reports show" in operator[1]
    assert len((await sigap(force, "audit", "--limit", "2")).output.splitlines()) == 3
    assert (await sigap(force, "audit", "--member", "Budi")).output.strip() == "nothing recorded"
