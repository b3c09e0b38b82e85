"""Chaos: residents report on Telegram while `sigap run` is killed with SIGKILL again and
again. Prints reports lost (must be 0), answers lost (must be 0), duplicate answers and
alerts (delivery is at least once: what was sent but not yet recorded when the process was
killed is sent again), and the longest wait for an alert after a restart (under 30 s).

The service runs as operators run it (`sigap run`, another process, the task force set up
with the CLI) against a fake Bot API in this process that behaves like Telegram's:
unconfirmed updates come again, a press older than 15 s cannot be answered, and a few
requests get 429 with retry_after. Each resident types a whole report (pressing the first
and the last button), waiting for each answer as a person would.

    python3 dev.py bench chaos [--residents 40] [--kills 8] [--database-url URL] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import fresh_database
from tests.fakes.telegram import FakeTelegram
from tests.journeys.harness import ANDI, BUDI, Sigap, TelegramUser, task_force

# (what the resident does, what the answer to it says): "press:" presses a button.
SCRIPT = [
    ("/lapor", "Do you want to stay anonymous?"),
    ("press:Stay anonymous", "Is any of these happening?"),
    ("4", "Who received this offer"),
    ("1", "Is a child"),
    ("2", "What kind of job"),
    ("1", "Where is the job supposed to be?"),
    ("1", "How did the offer come?"),
    ("1", "Which of these happened?"),
    ("1,3", "recruiter's name"),
    ("skip", "agency or company"),
    ("skip", "phone or WhatsApp numbers"),
    ("skip", "social-media account"),
    ("skip", "Tell us what happened"),
    ("{story}", "photos, screenshots"),
    ("done", "Where did this happen"),
    ("2", "Please check your report"),
    ("press:Send the report", "Your reference number"),
]
WAIT = 120.0  # a person waits this long for an answer before giving up


@dataclass
class Resident:
    user: TelegramUser
    story: str
    answered: int = 0  # steps whose answer came
    sent_at: float = 0.0  # when "Send the report" was pressed
    reference: str | None = None


@dataclass
class Chaos:
    kills: list[tuple[float, float]] = field(default_factory=list)  # (killed, ready again)


async def resident_reports(resident: Resident, rng: random.Random) -> None:
    for action, expected in SCRIPT:
        await asyncio.sleep(rng.uniform(0.2, 1.5))  # reading, thinking, typing
        if action.startswith("press:"):
            if action.endswith("Send the report"):
                resident.sent_at = time.monotonic()
            await resident.user.press(action.removeprefix("press:"))
        else:
            await resident.user.send(action.format(story=resident.story))
        try:
            said = await resident.user.sees(expected, within=WAIT)
        except AssertionError:
            return  # never answered: the resident gives up here
        resident.answered += 1
        found = re.search(r"BTN-\d{4}-\d{5}", said)
        if found and "reference number" in said:
            resident.reference = found[0]


async def kill_again_and_again(sigap: Sigap, kills: int, rng: random.Random, chaos: Chaos) -> None:
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(2, 6))
        killed = time.monotonic()
        await sigap.kill()
        await asyncio.sleep(rng.uniform(0.2, 3))  # down for a moment, as under systemd
        await sigap.start()
        chaos.kills.append((killed, time.monotonic()))


def duplicates(texts: list[str]) -> int:
    """Messages received more than once (a resident's questions are all different)."""
    return sum(n - 1 for n in Counter(texts).values())


async def run(arguments: argparse.Namespace, url: str, folder: Path) -> None:
    rng = random.Random(arguments.seed)
    async with FakeTelegram() as telegram:
        sigap = Sigap(folder, url, telegram, None)
        sigap.configure(sigap.telegram_table(messages_per_second=100, chat_messages_per_second=30))
        await sigap.start()
        await task_force(sigap, folder, on_duty="Andi;Budi")
        # Telegram's own hiccups on top of the kills: a few 429s.
        telegram.fail("sendMessage", status=429, description="Too Many Requests", retry_after=1)
        telegram.fail("getUpdates", status=429, description="Too Many Requests", retry_after=1)
        residents = [
            Resident(
                TelegramUser(telegram, 70_000 + i), f"Resident {i}: a recruiter asked for money."
            )
            for i in range(arguments.residents)
        ]
        chaos = Chaos()
        began = time.monotonic()
        killing = asyncio.create_task(kill_again_and_again(sigap, arguments.kills, rng, chaos))
        await asyncio.gather(*(resident_reports(r, random.Random(rng.random())) for r in residents))
        await killing
        await asyncio.sleep(5)  # whatever is still due (alerts, late duplicates) arrives
        listing = await sigap.cli("reports", "list")
        await sigap.stop()
        took = time.monotonic() - began

    stored = set(re.findall(r"BTN-\d{4}-\d{5}", listing))
    confirmed = {r.reference for r in residents if r.reference}
    answers = sum(len(SCRIPT) for _ in residents)
    answered = sum(r.answered for r in residents)
    alerts: dict[str, list[float]] = {}
    for call in telegram.called("sendMessage"):
        text = str(call.params.get("text", ""))
        if call.done and int(call.params["chat_id"]) in (ANDI, BUDI) and "New report" in text:
            found = re.search(r"BTN-\d{4}-\d{5}", text)
            if found:
                alerts.setdefault(f"{call.params['chat_id']} {found[0]}", []).append(call.at)
    by_reference = {r.reference: r for r in residents if r.reference}
    waits = []
    for key, times in alerts.items():
        resident = by_reference.get(key.split()[1])
        if resident is None:
            continue
        restarts = [ready for killed, ready in chaos.kills if resident.sent_at < ready < times[0]]
        waits.append(times[0] - (max(restarts) if restarts else resident.sent_at))
    print(
        f"{len(residents)} residents, {arguments.kills} kills (SIGKILL), {took:.0f} s, "
        f"{url.split(':')[0]}"
    )
    print(f"reports confirmed to residents  {len(confirmed)}")
    print(f"reports lost                    {len(confirmed - stored)}   (must be 0)")
    print(f"reports stored twice            {len(stored) - len(stored & confirmed)}")
    print(f"answers lost                    {answers - answered} of {answers}   (must be 0)")
    print(
        f"duplicate answers               {sum(duplicates(r.user.texts()) for r in residents)}"
        "   (sent but not yet recorded when killed: sent again)"
    )
    print(
        f"duplicate alerts                {sum(len(t) - 1 for t in alerts.values())}   (the same)"
    )
    print(f"alerts expected / received      {2 * len(confirmed)} / {len(alerts)}")
    print(f"longest wait for an alert       {max(waits, default=0):.1f} s after a restart or send")


async def main(arguments: argparse.Namespace) -> None:
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # requests cut by a kill
    with tempfile.TemporaryDirectory() as folder:
        async with fresh_database(arguments.database_url, Path(folder), "chaos") as url:
            await run(arguments, url, Path(folder))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=40)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
