"""Recruiter intelligence: identifiers extracted from real-looking adverts (tests/data/
adverts.toml), agency names matched fuzzily, reports sharing an identifier linked (in the
alert, /kasus and the CLI's view), marks and their confirmation (the role matrix, the
timeline), and `confirmed_marks`, which never returns a mark that is not confirmed."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, delete, select

from bot import intel as intel_cli
from bot.app import App
from handlers.intel import indexing
from handlers.intel.identifiers import (
    AGENCY_THRESHOLD,
    Kind,
    agency_key,
    identifiers,
    normalised,
    same_agency,
)
from handlers.usecases import NOT_ALLOWED, OPERATOR, Actor, Refused
from handlers.usecases import intel as usecase
from storage import intel, members, reports
from storage.models import (
    EventKind,
    Identifier,
    IdentifierMark,
    Member,
    ReportIdentifier,
    Role,
    Verdict,
)
from tests.support.answers import DETAILS, ENGLISH_REPORT, Turns
from tests.support.task_force import ANDI, BUDI, CITRA, DEWI, RESIDENT, TaskForce

ADVERTS = tomllib.loads((Path(__file__).parent / "data" / "adverts.toml").read_text())["advert"]
KINDS = ("phone", "account", "agency", "link", "handle", "email")


def test_the_data_file_has_at_least_forty_adverts() -> None:
    assert len(ADVERTS) >= 40


@pytest.mark.parametrize("advert", ADVERTS, ids=[a["text"][:40] for a in ADVERTS])
def test_every_advert_gives_exactly_the_identifiers_expected(advert: dict[str, Any]) -> None:
    expected = {(kind, value) for kind in KINDS for value in advert.get(kind, [])}
    found = {(i.kind.value, i.value) for i in identifiers(advert["text"])}
    assert found == expected


def test_the_same_recruiter_written_many_ways_is_one_identifier() -> None:
    written = [
        "0812-3456-7890",
        "0812 3456 7890",
        "0812.3456.7890",
        "+62 812 3456 7890",
        "6281234567890",
        "wa.me/6281234567890",
        "(0812) 3456-7890",
    ]
    assert {normalised(w) for w in written} == {normalised("+6281234567890")}, (
        "every way of writing the number"
    )
    assert {i.value for w in ["@LokerJohor", "@lokerjohor."] for i in identifiers(w)} == {
        "lokerjohor"
    }
    links = ["https://www.Facebook.com/LokerJohor/?ref=x#top", "facebook.com/lokerjohor/"]
    assert {i.value for w in links for i in identifiers(w)} == {"facebook.com/lokerjohor"}
    assert (
        agency_key("PT. Maju Jaya Abadi") == agency_key("pt maju jaya abadi") == ("maju jaya abadi")
    )
    assert agency_key("Maju-Jaya Abadi, Sdn. Bhd.") == "maju jaya abadi"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("PT. Maju Jaya Abadi", "pt maju jaya abadi"),
        ("PT Maju Jaya Abadi", "CV Maju Jaya Abadii"),  # a typo
        ("PT Maju Jaya Abadi", "Abadi Maju Jaya"),  # words in another order
        ("PT Bintang Samudra Jaya Tbk", "PT. Bintang Samudera Jaya"),  # samudra/samudera
        ("Golden Star Sdn Bhd", "golden star"),
    ],
)
def test_agency_names_are_the_same_above_the_threshold(a: str, b: str) -> None:
    assert same_agency(agency_key(a), agency_key(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("PT. Maju Jaya Abadi", "pt maju jaya"),  # a word missing: another company (75)
        ("PT Maju Jaya", "PT Maju Karya"),
        ("PT Sinar Harapan", "PT Sinar Harapan Bangsa"),
        ("PT Karya Mandiri", "LPK Karya Mandiri"),  # a training centre is not the company
        ("PT Bintang Timur", "PT Bintang Utara"),
    ],
)
def test_near_misses_stay_two_agencies(a: str, b: str) -> None:
    assert not same_agency(agency_key(a), agency_key(b))
    assert AGENCY_THRESHOLD == 90  # the documented threshold (identifiers.py)


def test_a_masked_number_an_amount_and_a_bare_name_are_no_identifiers() -> None:
    assert identifiers("hub 0812-xxxx-xxxx, gaji Rp 15.000.000") == []
    assert identifiers("perusahaan besar di Malaysia") == []


def with_recruiter(answer: str, story: str | None = None) -> Turns:
    turns: Turns = []
    for sent, expected in ENGLISH_REPORT:
        if sent.startswith("Pak Budi"):
            sent = answer
        elif story is not None and expected == "Please check your report":
            sent = story
        turns.append((sent, expected))
    return [*turns, *DETAILS]


async def staffed(force: TaskForce) -> dict[str, Member]:
    """Andi and Budi are members, Citra coordinates, Dewi was removed."""
    people = {
        "Andi": await force.add("Andi", ANDI),
        "Budi": await force.add("Budi", BUDI),
        "Citra": await force.add("Citra", CITRA, Role.COORDINATOR),
        "Dewi": await force.add("Dewi", DEWI),
    }
    async with force.app.db.write() as session:
        dewi = await members.get(session, people["Dewi"].id or 0)
        assert dewi is not None
        await members.remove(session, dewi, force.clock())
        people["Dewi"] = dewi
    return people


async def three_linked(force: TaskForce) -> list[str]:
    """Three reports: the same number written two ways in the first two, the same agency
    written two ways in the last two."""
    first = await force.report("7001", with_recruiter("Pak Rudi, 0813-7777-1234"))
    second = await force.report(
        "7002", with_recruiter("wa.me/6281377771234, PT. Maju Jaya Abadi, rek BRI 1234567890")
    )
    third = await force.report(
        "7003",
        with_recruiter(
            "Bu Sari 0857 1122 3344",
            "The agency pt maju jaya abadi wants 5 million for a job in Johor.",
        ),
    )
    await force.deliver()
    return [first, second, third]


async def test_reports_sharing_an_identifier_are_linked_and_the_alert_says_what_they_share(
    force: TaskForce,
) -> None:
    await staffed(force)
    first, second, third = await three_linked(force)
    alerts = {
        r: t for t in force.texts(CITRA) for r in (first, second, third) if f"report {r}" in t
    }
    assert "Linked reports" not in alerts[first]
    assert f"Linked reports: same phone (+6281377771234) as {first}" in alerts[second]
    assert f"same agency (PT Maju Jaya Abadi) as {second}" in alerts[third]
    assert first not in alerts[third]  # nothing shared with the first
    async with force.app.db.read() as session:
        ids = [(await reports.by_reference(session, r)) for r in (first, second, third)]
        links = await indexing.links(session, [r.id or 0 for r in ids if r])
    shared = {(link.kind, tuple(link.references)) for link in links[ids[1].id or 0]}  # type: ignore[union-attr]
    assert shared == {(Kind.PHONE, (first,)), (Kind.AGENCY, (third,))}


async def test_kasus_and_reports_show_list_the_links(force: TaskForce) -> None:
    await staffed(force)
    first, second, third = await three_linked(force)
    case = await force.say(CITRA, f"/kasus {second}")
    assert f"same phone (+6281377771234) as {first}" in case
    assert f"same agency (PT Maju Jaya Abadi) as {third}" in case
    from bot.reports import show_report

    shown = await show_report(force.app, reference=second)
    assert shown is not None
    assert f"same phone +6281377771234 as {first}" in shown
    assert "account BRI 1234567890" in shown


async def test_an_addition_is_indexed_and_links_the_report(force: TaskForce) -> None:
    await staffed(force)
    first = await force.report("7001", with_recruiter("Pak Rudi, 0813-7777-1234"))
    second = await force.report("7002", with_recruiter("Pak Joko"))
    from storage.models import Channel
    from tests.support.chat import Chat

    chat = Chat(force.app, sender="7002", channel=Channel.TELEGRAM)
    await chat.send(f"tambah {second}")
    await chat.send("He also uses WA 0813 7777 1234")
    async with force.app.db.read() as session:
        report = await reports.by_reference(session, second)
        assert report is not None and report.id is not None
        links = (await indexing.links(session, [report.id]))[report.id]
        named = await intel.of_report(session, report.id)
    assert [(link.kind, link.references) for link in links] == [(Kind.PHONE, [first])]
    assert any(source.value == "addition" for _, source in named)


async def test_reindex_restores_the_links_of_reports_stored_before(force: TaskForce) -> None:
    await staffed(force)
    first, second, _third = await three_linked(force)
    async with force.app.db.write() as session:
        await session.exec(delete(ReportIdentifier))
        await session.exec(delete(Identifier))
    said = await intel_cli.reindex(force.app)
    assert said.startswith("3 report(s) indexed")
    again = await intel_cli.reindex(force.app)
    assert again.endswith(", 0 new link(s)")  # nothing twice
    shown = await intel_cli.show(force.app, "0813 7777 1234")
    assert first in shown and second in shown


# Marks.


async def marked(force: TaskForce, actor: Actor, reference: str, value: str = "0813-7777-1234"):  # type: ignore[no-untyped-def]
    async with force.app.services.work() as work:
        return await usecase.mark(work, actor, value, Verdict.DANGEROUS, reference)


async def test_the_role_matrix_of_marks_and_confirmations(force: TaskForce) -> None:
    people = await staffed(force)
    reference = await force.report("7001", with_recruiter("Pak Rudi, 0813-7777-1234"))

    by_member = await marked(force, people["Andi"], reference)
    assert not by_member.confirmed  # a member's mark waits for a coordinator
    by_coordinator = await marked(force, people["Citra"], reference, "PT Maju Jaya")
    assert by_coordinator.confirmed  # a coordinator's own mark is confirmed at once
    by_operator = await marked(force, OPERATOR, reference, "@lokerjohor")
    assert by_operator.confirmed
    with pytest.raises(Refused) as refused:
        await marked(force, people["Dewi"], reference)  # removed: nothing
    assert refused.value.message == NOT_ALLOWED

    mark_id = by_member.mark.id or 0
    for actor in (people["Budi"], people["Dewi"]):
        with pytest.raises(Refused):
            async with force.app.services.work() as work:
                await usecase.confirm(work, actor, mark_id)
        with pytest.raises(Refused):
            async with force.app.services.work(write=False) as work:
                await usecase.pending(work, actor)
    async with force.app.services.work(write=False) as work:
        waiting = await usecase.pending(work, people["Citra"])
    assert [p.mark.id for p in waiting] == [mark_id]
    async with force.app.services.work() as work:
        await usecase.confirm(work, people["Citra"], mark_id)
    with pytest.raises(Refused, match="already confirmed by Citra"):
        async with force.app.services.work() as work:
            await usecase.confirm(work, OPERATOR, mark_id)

    events = await force.events(reference)
    marks = [e for e in events if e.kind is EventKind.MARKED]
    confirmations = [e for e in events if e.kind is EventKind.MARK_CONFIRMED]
    assert [e.actor for e in marks] == ["Andi", "Citra", "operator"]
    assert [e.detail["confirmed"] for e in marks] == [False, True, True]
    assert [(e.actor, e.detail["identifier"]) for e in confirmations] == [
        ("Citra", "+6281377771234")
    ]


async def test_a_coordinator_is_told_of_a_mark_waiting(force: TaskForce) -> None:
    people = await staffed(force)
    reference = await force.report("7001", with_recruiter("Pak Rudi, 0813-7777-1234"))
    done = await marked(force, people["Andi"], reference)
    await force.deliver()
    told = force.texts(CITRA)[-1]
    assert f"Andi marked +6281377771234 as dangerous, citing {reference}" in told
    assert f"KONFIRMASI {done.mark.id}" in told


async def test_confirmed_marks_never_returns_a_mark_not_confirmed(force: TaskForce) -> None:
    people = await staffed(force)
    reference = await force.report("7001", with_recruiter("Pak Rudi, 0813-7777-1234"))
    asked = identifiers("kerja di Johor, hub 0813 7777 1234, PT Maju Jaya Abadi")

    async def confirmed() -> list[tuple[str, Verdict]]:
        async with force.app.db.read() as session:
            found = await indexing.confirmed_marks(session, asked)
        return [(m.shown, m.verdict) for m in found]

    assert await confirmed() == []
    pending = await marked(force, people["Andi"], reference)
    await marked(force, people["Budi"], reference, "PT. Maju Jaya Abadi")
    assert await confirmed() == []  # two marks, neither confirmed
    async with force.app.services.work() as work:
        await usecase.confirm(work, people["Citra"], pending.mark.id or 0)
    assert await confirmed() == [("+6281377771234", Verdict.DANGEROUS)]
    async with force.app.services.work() as work:  # cleared later, not confirmed yet
        await usecase.mark(work, people["Andi"], "+6281377771234", Verdict.CLEARED, reference)
    assert await confirmed() == [("+6281377771234", Verdict.DANGEROUS)]
    async with force.app.db.read() as session:
        stored = (await session.exec(select(IdentifierMark))).all()
    assert len(stored) == 3 and sum(m.confirmed_at is not None for m in stored) == 1
    # An agency mark, confirmed, is found by a name written another way.
    await marked(force, people["Citra"], reference, "PT Bintang Samudra Jaya")
    async with force.app.db.read() as session:
        fuzzy = await indexing.confirmed_marks(session, identifiers("pt bintang samudera jaya"))
    assert [(m.kind, m.verdict) for m in fuzzy] == [(Kind.AGENCY, Verdict.DANGEROUS)]
    assert not any(hasattr(m, "report_id") or hasattr(m, "reference") for m in fuzzy)


async def test_marks_from_the_chat_and_what_a_resident_may_not_do(force: TaskForce) -> None:
    await staffed(force)
    reference = await force.report("7001", with_recruiter("Pak Rudi, 0813-7777-1234"))

    said = await force.say(ANDI, f"TANDAI {reference} 0813 7777 1234 bahaya")
    assert "+6281377771234 is marked dangerous" in said and "A coordinator confirms" in said
    assert "Not allowed" in await force.say(BUDI, "KONFIRMASI")  # a member
    assert "Not allowed" in await force.say(DEWI, f"TANDAI {reference} 0813 7777 1234 aman")
    # A resident: refused, and the refusal is on the case's timeline.
    assert "Not allowed" in await force.say(RESIDENT, f"TANDAI {reference} 0813 7777 1234 aman")
    assert "Not allowed" in await force.say(RESIDENT, "/intel 0813 7777 1234")
    assert "Not allowed" in await force.say(RESIDENT, "/konfirmasi 1")
    assert any(e.kind is EventKind.REFUSED for e in await force.events(reference))

    waiting = await force.say(CITRA, "KONFIRMASI")
    assert "Marks waiting for confirmation (1)" in waiting and "+6281377771234" in waiting
    mark_id = waiting.split("• ")[1].split(":")[0]
    confirmed = await force.say(CITRA, f"KONFIRMASI {mark_id}")
    assert f"Mark {mark_id} confirmed: +6281377771234 is dangerous" in confirmed
    known = await force.say(BUDI, "/intel +62 813-7777-1234")
    assert f"{reference} — " in known and "confirmed by Citra" in known
    case = await force.say(ANDI, f"/kasus {reference}")
    assert "the mark on +6281377771234 confirmed — Citra" in case
    async with force.app.db.read() as session:
        rows = (
            await session.exec(select(IdentifierMark).where(col(IdentifierMark.by) == "Andi"))
        ).all()
    assert [m.confirmed_by for m in rows] == ["Citra"]


async def test_the_cli_marks_shows_and_lists_pending(app: App, force: TaskForce) -> None:
    people = await staffed(force)
    reference = await force.report("7001", with_recruiter("Pak Rudi, 0813-7777-1234"))
    await marked(force, people["Andi"], reference)
    listing = await intel_cli.pending(app)
    assert "+6281377771234" in listing and "Andi" in listing and reference in listing
    said = await intel_cli.mark(app, "PT Maju Jaya", Verdict.CLEARED, reference)
    assert "agency" in said and "cleared" in said and "confirmed" in said
    shown = await intel_cli.show(app, "0813-7777-1234")
    assert "pending (not shown to residents)" in shown and f"{reference}  new" in shown
    with pytest.raises(Refused, match="Nothing is known"):
        await intel_cli.show(app, "0899 0000 1111")
