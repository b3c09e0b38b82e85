"""The risk score through the doors: a resident on Telegram reports an online job in Cambodia,
ticket paid, passport kept; the member on duty reads the risk and its reasons in the alert, the
report is high priority though no warning sign was ticked, and the operator sees every reason
in `sigap reports show`."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.telegram import FakeTelegram
from tests.journeys.conftest import Start
from tests.journeys.harness import (
    ANDI,
    RESIDENT,
    TelegramUser,
    reference_of,
    task_force,
    until,
)

STORY = (
    "my cousin saw an ad for an online job in cambodia customer service salary 1500 usd "
    "the ticket is paid by the agent and he says her passport will be kept by the boss there"
)


async def test_an_online_job_in_cambodia_reaches_the_member_with_its_risk_and_reasons(
    start_sigap: Start, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sigap = await start_sigap()
    await task_force(sigap, tmp_path)
    resident = TelegramUser(telegram, RESIDENT)
    andi = TelegramUser(telegram, ANDI)

    await resident.answer("/start", "What would you like to do?")
    await resident.press("Report a suspicious job offer")
    await resident.sees("is any of these happening?")
    for label, next_question in [
        ("None of these", "May they contact you"),
        ("No, stay anonymous", "Who received this offer"),
        ("Someone I know", "Is a child"),
        ("No", "What kind of job"),
        ('"Online job" or call centre abroad', "Where is the job supposed to be?"),
        ("Cambodia", "Which of these happened?"),
    ]:
        await resident.press(label)
        await resident.sees(next_question)
    await resident.press("Done")  # no warning sign ticked: the story says it all
    await resident.sees("identifies the recruiter")
    await resident.press("Skip")
    await resident.sees("Tell us what happened")
    await resident.answer(STORY, "Please check your report")
    await resident.press("Send the report")
    reference = await reference_of(resident)

    alert = await andi.sees(f"New report {reference}")
    # High from the risk alone: no child, no urgency, no warning sign ticked.
    assert f"New report {reference} — priority High" in alert, alert
    risk = [line for line in alert.splitlines() if line.startswith("Risk:")]
    assert risk == ["Risk: high (14) — passport held; Cambodia for an online job; travel paid"], (
        alert
    )

    shown = await sigap.cli("reports", "show", reference)
    assert "risk:           high (14)" in shown
    assert "+5 passport held [documents_held; words: passport will be kept]" in shown
    assert "+5 Cambodia for an online job [cambodia_online_job; offer: Kamboja + online_job]" in (
        shown
    )
    assert "+2 travel paid [travel_paid; words: ticket is paid]" in shown
    await until("nothing else alerted", lambda: len(telegram.texts(ANDI)) == 1)
