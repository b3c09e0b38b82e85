"""Members' words on recruiters' identifiers: `TANDAI REF VALUE bahaya|aman` (MARK ...
dangerous|cleared) marks an identifier citing a case, `KONFIRMASI` lists the marks waiting
for a coordinator and `KONFIRMASI ID` confirms one, `/intel VALUE` shows what the task force
knows of an identifier. Stores nothing of its own: handlers/usecases/intel.py decides and
stores; members.py checked the role each word needs."""

from __future__ import annotations

from handlers import labels
from handlers.conversation.text import Word
from handlers.conversation.turn import Turn
from handlers.i18n import N_
from handlers.taskforce import alert_texts
from handlers.usecases import intel
from handlers.usecases.intel import VERDICTS
from storage.models import Member, Verdict

WORDS = {Word.MARK, Word.CONFIRM, Word.INTEL}

VERDICT_WORDS = {
    "bahaya": Verdict.DANGEROUS,
    "berbahaya": Verdict.DANGEROUS,
    "dangerous": Verdict.DANGEROUS,
    "aman": Verdict.CLEARED,
    "cleared": Verdict.CLEARED,
}


async def command(turn: Turn, member: Member, word: Word, argument: str) -> None:
    if word is Word.MARK:
        await mark(turn, member, argument)
    elif word is Word.CONFIRM and argument:
        await confirm(turn, member, int(argument.lstrip("#")))
    elif word is Word.CONFIRM:
        await waiting(turn, member)
    elif argument:
        await show(turn, member, argument)
    else:
        turn.say(N_("Write what to look up, e.g. /intel +6281234567890 or /intel PT Maju Jaya."))


async def mark(turn: Turn, member: Member, argument: str) -> None:
    """TANDAI BTN-2026-00042 0812-3456-7890 bahaya."""
    reference, _, rest = argument.partition(" ")
    value, _, said = rest.strip().rpartition(" ")
    verdict = VERDICT_WORDS.get(said.lower())
    if not reference or not value.strip() or verdict is None:
        turn.say(
            N_(
                "Write the case, what to mark and bahaya (dangerous) or aman (cleared), e.g. "
                "TANDAI BTN-2026-00042 +6281234567890 bahaya."
            )
        )
        return
    done = await intel.mark(turn, member, value, verdict, reference, turn.conv.channel)
    values = {
        "value": done.identifier.shown,
        "verdict": turn.t(VERDICTS[verdict]),
        "reference": done.report.reference,
        "id": done.mark.id,
    }
    if done.confirmed:
        turn.say(
            N_(
                "{value} is marked {verdict} (mark {id}, citing {reference}), confirmed: "
                "residents who check it are told."
            ),
            **values,
        )
    else:
        turn.say(
            N_(
                "{value} is marked {verdict} (mark {id}, citing {reference}). A coordinator "
                "confirms it before residents are told."
            ),
            **values,
        )


async def waiting(turn: Turn, member: Member) -> None:
    """KONFIRMASI: the marks waiting, each with the word that confirms it."""
    found = await intel.pending(turn, member)
    if not found:
        turn.say(N_("No marks are waiting for confirmation."))
        return
    lines = [turn.t(N_("Marks waiting for confirmation ({count}):"), count=len(found))]
    for pending in found:
        lines.append(
            turn.t(
                N_("• {id}: {value} {verdict} — {name}, citing {reference}"),
                id=pending.mark.id,
                value=pending.identifier.shown,
                verdict=turn.t(VERDICTS[pending.mark.verdict]),
                name=pending.mark.by,
                reference=pending.reference,
            )
        )
    lines.append(turn.t(N_("KONFIRMASI and a number confirms that mark.")))
    turn.tell("\n".join(lines))


async def confirm(turn: Turn, member: Member, mark_id: int) -> None:
    done = await intel.confirm(turn, member, mark_id, turn.conv.channel)
    turn.say(
        N_("Mark {id} confirmed: {value} is {verdict}. Residents who check it are told."),
        id=mark_id,
        value=done.identifier.shown,
        verdict=turn.t(VERDICTS[done.mark.verdict]),
    )


async def show(turn: Turn, member: Member, value: str) -> None:
    """/intel VALUE: the identifier, the reports naming it with their states, its marks."""
    known = await intel.about(turn, member, value)
    identifier = known.identifier
    lines = [
        turn.t(
            N_("{value} ({kind})"),
            value=identifier.shown,
            kind=turn.t(alert_texts.IDENTIFIER_KIND[identifier.kind]),
        ),
        turn.t(N_("Reports naming it ({count}):"), count=len(known.reports)),
    ]
    for naming in known.reports:
        lines.append(
            f"• {naming.report.reference} — {turn.t(labels.CASE_STATE[naming.report.state])}"
        )
    lines.append(turn.t(N_("Marks ({count}):"), count=len(known.marks)))
    for made, reference in known.marks:
        state = (
            turn.t(N_("confirmed by {name}"), name=made.confirmed_by)
            if made.confirmed_at is not None
            else turn.t(N_("waiting for a coordinator"))
        )
        lines.append(
            turn.t(
                N_("• {id}: {verdict} — {name}, citing {reference}; {state}"),
                id=made.id,
                verdict=turn.t(VERDICTS[made.verdict]),
                name=made.by,
                reference=reference,
                state=state,
            )
        )
    turn.tell("\n".join(lines))
