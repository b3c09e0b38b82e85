"""Two `sigap run` processes on one PostgreSQL database behind nginx, Telegram in webhook mode
and WhatsApp's webhooks signed for nginx's address: nginx hands the requests to the processes
in turn, so one resident's messages are handled by both.

How one chat's updates are serialised across processes: each message is handled in one
transaction that first records its update id (a unique row: a redelivery, even to the other
process at the same moment, waits for the first to commit and is then dropped) and then loads
the chat's conversation with an upsert that locks its row as SELECT ... FOR UPDATE would
(storage/conversations.py). A second
message of that chat, in either process, waits on the row lock until the first one's new
state and answer are committed, then starts from that state: no answer is lost or taken
twice. Alerts, follow-ups and broadcasts are rows claimed with FOR UPDATE SKIP LOCKED and a
compare-and-set UPDATE (storage/db.py `claim`): whichever process claims a row sends it, the
other skips it. PostgreSQL only: SQLite is for one process."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from storage.db import Database
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.journeys.harness import (
    STORY,
    Sigap,
    TelegramUser,
    WhatsAppUser,
    free_port,
    report_with_buttons,
    task_force,
    until,
    up_to_the_warning_signs,
)
from tests.journeys.test_whatsapp_journeys import report_by_typing
from tests.support.database import truncate
from tests.support.nginx import Nginx
from tests.support.task_force import ANDI, BUDI, CITRA

SECRET = "two-processes-secret"
# Follow-ups after 3 seconds: Citra (a coordinator) first, then everyone; the last step is
# repeated only after an hour, so each step goes out once within the journey.
ESCALATION = (
    "[escalation]\n"
    'steps = ["on_duty", "coordinators", "all_members"]\n'
    "ack_timeout_minutes = { urgent = 0.05, high = 0.05, normal = 0.05 }\n"
    "repeat_minutes = { urgent = 60, high = 60, normal = 60 }\n"
)
FOLLOWUP = "Not yet acknowledged"
# What a resident reporting with buttons is asked, in this order, each once.
QUESTIONS = [
    "What would you like to do?",
    "is any of these happening?",
    "May they contact you",
    "Who received this offer",
    "Is a child",
    "What kind of job",
    "Where is the job supposed to be?",
    "Which of these happened?",
    "identifies the recruiter",
    "Tell us what happened",
    "How did the offer come?",
    "photos, screenshots or documents",
    "Where did this happen",
    "Your reference number",
]
FLAGS = [
    "Fees demanded up front",
    "Passport or ID held by the recruiter",
    "Told to lie to officials",
    "Pressure to leave quickly or keep it secret",
]
BROADCAST = "Hati-hati dengan tawaran kerja ke luar negeri yang meminta uang di muka."


@pytest.fixture
def postgresql_url(postgres_database: str) -> str:
    """The tests' PostgreSQL database, emptied (as `database_url` does, without SQLite)."""
    truncate(postgres_database)
    return postgres_database


@dataclass
class Deployment:
    one: Sigap
    two: Sigap
    nginx: Nginx


@pytest.fixture
async def deployment(
    postgresql_url: str, tmp_path: Path, telegram: FakeTelegram, twilio: FakeTwilio
) -> AsyncIterator[Deployment]:
    """nginx in front of two `sigap run` on one database and one media folder; the fake
    Telegram posts updates to the webhook they set (the same URL, nginx's, set by both)."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    extra = (
        f'[telegram]\ntoken = "{telegram.TOKEN}"\nbase_url = "{telegram.base_url}"\n'
        f'mode = "webhook"\nsecret_token = "{SECRET}"\n'
        "chat_messages_per_second = 30\ngroup_messages_per_minute = 60\n" + ESCALATION
    )
    started = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        started.append(
            Sigap(
                folder,
                postgresql_url,
                telegram,
                twilio,
                extra,
                public_url=public,
                media=tmp_path / "media",
            )
        )
    one, two = started
    two.said_on_whatsapp = one.said_on_whatsapp  # what residents wrote, for both logs' checks
    nginx = Nginx(tmp_path / "nginx", [one.port, two.port], port)
    telegram.delivers_to_webhook = True
    try:
        await nginx.start()
        await asyncio.gather(one.start(), two.start())
        assert telegram.webhook is not None and telegram.webhook["url"] == public + (
            "/telegram/webhook"
        )
        yield Deployment(one, two, nginx)
    finally:
        for sigap in started:
            await sigap.close()
            print(sigap.log())  # shown by pytest when the test failed
        await nginx.stop()
        print(nginx.errors())
        print()
    for sigap in started:
        assert sigap.leaks() == [], "the log names someone who wrote to the service"
    assert await one.stored_leaks() == [], "a copy of the database or media names someone"


def count(texts: list[str], part: str) -> int:
    return sum(part in said for said in texts)


def starting(texts: list[str], part: str) -> int:
    return sum(said.startswith(part) for said in texts)


def both_answered(nginx: Nginx, deployment: Deployment) -> None:
    answered = nginx.upstreams()
    ports = {f"127.0.0.1:{d.port}" for d in (deployment.one, deployment.two)}
    assert ports <= answered.keys(), answered
    assert all(answered[p] >= 5 for p in ports), answered


async def test_residents_reporting_at_once_through_two_processes_each_see_one_whole_conversation(
    deployment: Deployment, telegram: FakeTelegram, twilio: FakeTwilio, tmp_path: Path
) -> None:
    one = deployment.one
    await task_force(one, tmp_path)
    residents = [TelegramUser(telegram, 5201 + n) for n in range(6)]
    numbers = ["+6281200000001", "+6281200000002"]
    on_whatsapp = [WhatsAppUser(one, twilio, number) for number in numbers]
    references = await asyncio.gather(
        *(report_with_buttons(r) for r in residents), *(report_by_typing(w) for w in on_whatsapp)
    )
    assert len(set(references)) == 8, references

    # Each transcript is whole and in order: every question once, one reference, no apology
    # and no "this question has expired" (an answer taken twice or out of turn).
    for resident in residents:
        said = resident.texts()
        where = [next(i for i, t in enumerate(said) if q in t) for q in QUESTIONS]
        assert where == sorted(where), said
        assert [count(said, q) for q in QUESTIONS] == [1] * len(QUESTIONS), "\n---\n".join(said)
        assert not any("Sorry" in t or "has expired" in t for t in said), said
        assert len(set(re.findall(r"BTN-\d{4}-\d{5}", " ".join(said)))) == 1, said
    for person in on_whatsapp:
        bodies = person.bodies()
        assert count(bodies, "Your reference number") == 1, bodies
        assert not any("Sorry" in b or "has expired" in b for b in bodies), bodies

    # Andi, on duty, gets each alert once; after 3 s Citra is followed up, after 6 s all three.
    members = [TelegramUser(telegram, chat) for chat in (ANDI, BUDI, CITRA)]
    andi, budi = members[:2]

    def alerted() -> bool:
        return all(count(andi.texts(), f"New report {r}") for r in references)

    await until("every alert to Andi", alerted)

    def followed_up_everyone() -> bool:
        return all(count(budi.texts(), r) == 1 for r in references)

    await until("the last step of every report's follow-ups", followed_up_everyone, 40)
    await asyncio.sleep(4)  # more than a step: nothing more may come
    for reference in references:
        alerts = {m.chat: starting(m.texts(), f"New report {reference}") for m in members}
        assert alerts == {ANDI: 1, BUDI: 0, CITRA: 0}, reference
        followups = {
            m.chat: starting(m.texts(), f"{FOLLOWUP}: report {reference}") for m in members
        }
        assert followups == {ANDI: 1, BUDI: 1, CITRA: 2}, reference
    both_answered(deployment.nginx, deployment)


async def test_one_chats_updates_at_the_same_moment_in_both_processes_are_taken_in_turn(
    deployment: Deployment, telegram: FakeTelegram
) -> None:
    """Four ticks of one multiple choice, two posted to each process at once: each process
    waits for the other's to commit (the conversation's row lock), so all four are kept.
    An update posted to both at once (a redelivery) is answered once."""
    one, two = deployment.one, deployment.two
    resident = TelegramUser(telegram, 5301)
    await resident.answer("/start", "What would you like to do?")
    await resident.press("Report a suspicious job offer")
    await resident.sees("is any of these happening?")
    await resident.press("None of these")
    await resident.sees("May they contact you")
    await resident.press("No, stay anonymous")
    await resident.sees("Who received this offer")
    await up_to_the_warning_signs(resident)

    presses = []
    for flag in FLAGS:
        found = resident.button(flag)
        assert found is not None, flag
        message_id, data = found
        presses.append(telegram.callback(resident.chat, data, message_id=message_id))
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with httpx.AsyncClient(timeout=30) as client:
        posted = await asyncio.gather(
            *(
                client.post(f"{(one, two)[n % 2].url}/telegram/webhook", json=u, headers=headers)
                for n, u in enumerate(presses)
            )
        )
        assert [r.status_code for r in posted] == [200] * 4
        await resident.press("Done")
        await resident.sees("identifies the recruiter")
        await resident.press("Skip")
        await resident.sees("Tell us what happened")
        summary = await resident.answer(STORY, "Please check your report")
        assert all(flag in summary for flag in FLAGS), summary

        other = TelegramUser(telegram, 5302)
        update = telegram.message(other.chat, "/start", language_code="en")
        twice = await asyncio.gather(
            *(
                client.post(f"{s.url}/telegram/webhook", json=update, headers=headers)
                for s in (one, two)
            )
        )
        assert [r.status_code for r in twice] == [200, 200]
    await other.sees("What would you like to do?")
    await asyncio.sleep(1)
    assert count(other.texts(), "What would you like to do?") == 1


async def test_an_answer_waits_for_the_one_before_it_still_being_sent_by_the_other_process(
    deployment: Deployment, telegram: FakeTelegram
) -> None:
    """Telegram answers slowly: process one's answer (a menu) is still on its way when the
    chat's next message reaches process two. Two's answer waits for it (asked in the
    transaction that stores the answer, under the conversation's lock), then takes the
    buttons off it: the chat shows one menu to press, the newest."""
    one, two = deployment.one, deployment.two
    resident = TelegramUser(telegram, 5501)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    telegram.latency = 3.0  # longer than a webhook waits for its answer to go out (2 s)
    async with httpx.AsyncClient(timeout=30) as client:
        for sigap in (one, two):
            update = telegram.message(resident.chat, "/start", language_code="en")
            posted = await client.post(
                f"{sigap.url}/telegram/webhook", json=update, headers=headers
            )
            assert posted.status_code == 200

    def both_menus() -> bool:
        return count(resident.texts(), "What would you like to do?") == 2

    await until("both menus", both_menus, 30)
    telegram.latency = 0.0
    await asyncio.sleep(1)
    assert len(telegram.keyboards(resident.chat)) == 1, "both menus show their buttons"


async def test_a_broadcast_is_sent_by_both_processes_and_reaches_each_subscriber_once(
    deployment: Deployment, telegram: FakeTelegram, tmp_path: Path
) -> None:
    one, two = deployment.one, deployment.two
    subscribers = [TelegramUser(telegram, 5400 + n) for n in range(40)]

    async def subscribe(resident: TelegramUser) -> None:
        await resident.answer("/langganan", "For which area do you want them?")
        await resident.press("All areas")
        await resident.sees("In which language")
        await resident.press("English")
        await resident.sees("You are subscribed")

    await asyncio.gather(*(subscribe(r) for r in subscribers))
    # Telegram answers slowly now: the process that claims the first messages (24 at most
    # at a time) still has them in hand when the other's delivery job (each second) claims
    # the rest.
    telegram.latency = 2.0
    message = tmp_path / "message.txt"
    message.write_text(BROADCAST)
    made = await one.cli("broadcast", "send", "--text", str(message), "--yes")
    assert "40 subscriber(s)" in made, made

    def everyone() -> bool:
        return all(count(r.texts(), BROADCAST) >= 1 for r in subscribers)

    await until("the broadcast to every subscriber", everyone, 60)
    telegram.latency = 0.0
    await asyncio.sleep(2)
    assert [count(r.texts(), BROADCAST) for r in subscribers] == [1] * 40

    # Who sent them: each outbox row keeps the worker (a process) that claimed it.
    db = Database(one.database_url)
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT worker.pid, count(*) FROM outbox JOIN worker "
                    "ON worker.id = outbox.claimed_by WHERE outbox.broadcast_id IS NOT NULL "
                    "GROUP BY worker.pid"
                )
            )
            by_process = {pid: n for pid, n in rows}
    finally:
        await db.close()
    assert one.process is not None and two.process is not None
    assert set(by_process) == {one.process.pid, two.process.pid}, by_process
    assert sum(by_process.values()) == 40
    both_answered(deployment.nginx, deployment)
