"""Recording who looked at a reporter's contact, story or evidence, whatever the door: the bot's
Details, the dashboard's case page and files, `sigap reports show` and `export`, the case file
sent with a referral. Each door calls `viewed` in the transaction that shows it."""

from __future__ import annotations

from collections.abc import Iterable

from handlers.consent import contact
from handlers.conversation.turn import Work
from handlers.usecases import Actor, Operator
from storage import audit
from storage.models import Door, Report, Seen


def seen_of(report: Report, *, evidence: bool = False) -> list[Seen]:
    """What showing the whole report shows: the story, the contact when the task force may see
    it, the evidence when the files go with it."""
    return [
        Seen.STORY,
        *([Seen.CONTACT] if contact(report) else []),
        *([Seen.EVIDENCE] if evidence else []),
    ]


async def viewed(
    work: Work,
    report: Report,
    by: Actor,
    door: Door,
    seen: Iterable[Seen],
    place: str,
    *,
    reason: str | None = None,
) -> None:
    """One row for each thing seen (`seen_of`, or a file), by a member or the operator."""
    assert report.id is not None
    member_id, operator = (None, by.login) if isinstance(by, Operator) else (by.id, None)
    await audit.record(
        work.session,
        at=work.now,
        report_id=report.id,
        door=door,
        seen=seen,
        place=place,
        member_id=member_id,
        operator=operator,
        reason=reason,
    )
