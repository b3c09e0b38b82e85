"""A member's case work in the chat: `/kasus` (their open cases; a coordinator's: everyone's,
per member), `/kasus REF` (the case and its actions as a menu), the words that act directly
(PROSES, CATAT, ALIHKAN, TUTUP, BUKA LAGI with the reference) and the menu shown after an
acknowledgement. What may be done is decided by handlers/usecases/casework.py; this flow
stores only where the member is (the case's reference, the note being written) and asks
what an action needs: the note, the outcome, the other report of a duplicate, the member."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from babel.dates import format_datetime

from handlers import labels
from handlers.conversation import evidence
from handlers.conversation.messages import Expect, Option
from handlers.conversation.text import Word
from handlers.conversation.turn import DONE, Flow, Held, State, Turn
from handlers.i18n import N_, Gettext, gettext
from handlers.intel import indexing
from handlers.taskforce import relay
from handlers.taskforce.alert_texts import linked_line
from handlers.usecases import NOT_ALLOWED, Refused
from handlers.usecases import casework as cases
from handlers.usecases import relay as relaying
from handlers.usecases.casework import Action
from handlers.usecases.intel import VERDICTS
from storage import members
from storage.models import (
    Erasure,
    EventKind,
    Member,
    Outcome,
    Report,
    ReportEvent,
    ReportState,
    Verdict,
)


class Step(StrEnum):
    MENU = "menu"
    NOTE = "note"
    OUTCOME = "outcome"
    DUPLICATE = "duplicate"
    ASSIGNEE = "assignee"


class CaseState(State):
    reference: str = ""
    note_id: int = 0  # the note being written, once its first message is stored


RELAY = "relay"  # the menu's "Reply to reporter" (handlers/taskforce/relay.py)

WORDS = {Word.CASE, Word.PROGRESS, Word.NOTE, Word.ASSIGN, Word.CLOSE, Word.REOPEN}

ACTION_LABELS = {
    Action.PROGRESS: N_("In progress"),
    Action.NOTE: N_("Note"),
    Action.ASSIGN: N_("Reassign"),
    Action.CLOSE: N_("Close"),
    Action.REOPEN: N_("Reopen"),
}

# How each action is typed, for a member who gave no reference.
TYPED = {
    Word.PROGRESS: "PROSES",
    Word.NOTE: "CATAT",
    Word.ASSIGN: "ALIHKAN",
    Word.CLOSE: "TUTUP",
    Word.REOPEN: "BUKA LAGI",
}

EVENTS = {
    EventKind.SUBMITTED: N_("sent"),
    EventKind.ADDITION: N_("the reporter added information"),
    EventKind.STATE_CHANGED: N_("{before} → {after}"),
    EventKind.ALERTED: N_("alerted"),
    EventKind.FOLLOWED_UP: N_("followed up"),
    EventKind.ACKNOWLEDGED: N_("acknowledged"),
    EventKind.REFUSED: N_("refused a non-member"),
    EventKind.UNREACHABLE: N_("a member could not be reached"),
    EventKind.NOTE: N_("note"),
    EventKind.ASSIGNED: N_("assigned to {name}"),
    EventKind.REOPENED: N_("reopened"),
    EventKind.REMINDED: N_("reminder sent"),
    EventKind.REFERRED: N_("referred to a partner agency"),
    EventKind.REFERRAL_CHANGED: N_("the referral changed"),
    EventKind.RELAYED: N_("a message relayed"),
    EventKind.RELAY_STOPPED: N_("the reporter stopped replies"),
    EventKind.MARKED: N_("{identifier} marked {verdict}"),
    EventKind.MARK_CONFIRMED: N_("the mark on {identifier} confirmed"),
    EventKind.IDENTITY_ERASED: N_("the reporter's identity erased"),
    EventKind.EVIDENCE_REMOVED: N_("{count} evidence file(s) removed (retention)"),
}
# An erasure says who asked for it (its detail "by").
ERASURES = {
    Erasure.REPORTER: N_("the reporter asked to be forgotten: their identity erased"),
    Erasure.OPERATOR: N_("the reporter's identity erased by an administrator"),
    Erasure.RETENTION: N_("the reporter's identity removed (retention)"),
}


async def member_here(turn: Turn) -> Member | None:
    """The active member writing (in a group: the one who wrote)."""
    return await members.by_address(
        turn.session, turn.conv.channel, turn.inbound.user or turn.conv.sender
    )


async def command(turn: Turn, member: Member, word: Word, argument: str) -> None:
    """A case word from a member (their role was checked as a member's; the usecase decides
    the rest)."""
    reference, _, rest = argument.partition(" ")
    rest = rest.strip()
    if word is Word.CASE:
        await (show(turn, member, reference) if reference else listing(turn, member))
        return
    if not reference:
        turn.say(
            N_("Write the case's reference too, e.g. {example}."),
            example=f"{TYPED[word]} {example(turn)}",
        )
        return
    if word is Word.PROGRESS:
        await progress(turn, member, reference)
    elif word is Word.NOTE and rest:
        await cases.note(turn, reference, member, rest, channel=turn.conv.channel)
        turn.say(N_("Note saved on {reference}."), reference=reference.upper())
    elif word is Word.NOTE:
        await ask(turn, member, reference, Action.NOTE)
    elif word is Word.ASSIGN and rest:
        await assign(turn, member, reference, rest)
    elif word is Word.ASSIGN:
        await ask(turn, member, reference, Action.ASSIGN)
    elif word is Word.CLOSE:
        await ask(turn, member, reference, Action.CLOSE)
    else:
        await reopen(turn, member, reference)


def example(turn: Turn) -> str:
    bot = turn.services.bot
    return f"{bot.reference_prefix}-{turn.now.astimezone(bot.zone).year}-00042"


async def listing(turn: Turn, member: Member) -> None:
    """/kasus: the member's open cases; a coordinator's: everyone's, per member."""
    desks = await cases.open_cases(turn, member)
    mine = len(desks) <= 1 and all(
        d.assignee is not None and d.assignee.id == member.id for d in desks
    )
    if not desks:
        turn.say(N_("No open cases."))
        return
    if mine:
        lines = [turn.t(N_("Your open cases ({count}):"), count=len(desks[0].cases))]
        lines += [line(turn, r) for r in desks[0].cases]
    else:
        lines = [turn.t(N_("Open cases per member:"))]
        for desk in desks:
            name = desk.assignee.name if desk.assignee else turn.t(N_("nobody"))
            lines.append(f"{name} ({len(desk.cases)}):")
            lines += [line(turn, r) for r in desk.cases]
    lines.append(turn.t(N_("KASUS and a reference shows one case.")))
    turn.tell("\n".join(lines))


def line(turn: Turn, report: Report) -> str:
    return turn.t(
        N_("• {reference} — {state}, {priority}, since {time}"),
        reference=report.reference,
        state=turn.t(labels.CASE_STATE[report.state]),
        priority=turn.t(labels.PRIORITY[report.priority]),
        time=when(turn, report.acknowledged_at or report.created_at),
    )


def when(turn: Turn, moment: datetime) -> str:
    zone = turn.services.bot.zone
    return format_datetime(moment.astimezone(zone), "d MMM HH:mm", locale=turn.conv.language)


async def show(turn: Turn, member: Member, reference: str) -> None:
    """/kasus REF: where the case stands, who has it, its last events and notes; then its
    actions as a menu."""
    seen = await cases.view(turn, reference, member)
    report = seen.report
    state = turn.t(labels.CASE_STATE[report.state])
    lines = [
        turn.t(
            N_("Case {reference} — {state}, priority {priority}"),
            reference=report.reference,
            state=state,
            priority=turn.t(labels.PRIORITY[report.priority]),
        ),
        turn.t(N_("Assigned to: {name}"), name=seen.assignee.name if seen.assignee else "-"),
    ]
    linked = (await indexing.links(turn.session, [report.id or 0]))[report.id or 0]
    if linked:
        lines.append(linked_line(gettext(turn.conv.language), linked))
    if report.outcome is not None:
        outcome = turn.t(labels.OUTCOME[report.outcome])
        if report.duplicate_of:
            outcome += f" ({report.duplicate_of})"
        lines.append(turn.t(N_("Outcome: {outcome}"), outcome=outcome))
    lines.append(turn.t(N_("Last events:")))
    lines += [event_line(turn, e) for e in seen.events]
    lines.append(turn.t(N_("Notes ({count}):"), count=len(seen.notes)))
    for written in seen.notes:
        files = (
            " " + turn.t(N_("(+{count} file(s))"), count=len(written.files))
            if written.files
            else ""
        )
        lines.append(
            f"• {when(turn, written.note.created_at)} {written.note.author}: "
            f"{written.note.text or ''}{files}"
        )
    turn.tell("\n".join(lines))
    await menu(turn, member, report)


def event_line(turn: Turn, event: ReportEvent) -> str:
    actor = "" if event.actor in ("reporter", "sigap") else f" — {event.actor}"
    return f"• {when(turn, event.at)} {event_text(turn.t, event)}{actor}"


def event_text(t: Gettext, event: ReportEvent) -> str:
    """What happened, in the words of `t` (the bot's timeline and the dashboard's)."""
    detail = event.detail
    text = t(EVENTS.get(event.kind, event.kind.value))
    if event.kind is EventKind.STATE_CHANGED:

        def named(value: object) -> str:
            try:
                return t(labels.CASE_STATE[ReportState(str(value))])
            except ValueError:
                return str(value)

        text = text.format(before=named(detail.get("from")), after=named(detail.get("to")))
        if detail.get("outcome"):
            text += f" ({t(labels.OUTCOME[Outcome(detail['outcome'])])})"
    elif event.kind is EventKind.ASSIGNED:
        text = text.format(name=detail.get("to", "?"))
    elif event.kind is EventKind.IDENTITY_ERASED and detail.get("by") in ERASURES:
        text = t(ERASURES[Erasure(str(detail["by"]))])
    elif event.kind is EventKind.EVIDENCE_REMOVED:
        text = text.format(count=detail.get("files", "?"))
    elif event.kind in (EventKind.MARKED, EventKind.MARK_CONFIRMED):
        verdict = VERDICTS.get(Verdict(str(detail.get("verdict", Verdict.DANGEROUS.value))))
        text = text.format(
            identifier=detail.get("identifier", "?"), verdict=t(verdict) if verdict else "?"
        )
    return text


async def menu(turn: Turn, member: Member, report: Report, said: str = "") -> None:
    """The case's actions the member may take, as a choice (buttons, or numbers to type);
    none in a group, where a conversation is everyone's."""
    offered = options(member, report)
    if not offered or turn.inbound.group:
        turn.reset()
        if said:
            turn.tell(said)
        return
    turn.begin(Flow.CASE, Step.MENU, CaseState(reference=report.reference))
    heading = turn.t(
        N_("Case {reference} ({state}). What next?"),
        reference=report.reference,
        state=turn.t(labels.CASE_STATE[report.state]),
    )
    turn.choose(f"{said}\n\n{heading}" if said else heading, offered)


def options(member: Member, report: Report) -> list[Option]:
    """The case's actions the member may take, and writing to the reporter when they can."""
    offered = [Option(a.value, ACTION_LABELS[a]) for a in cases.actions(member, report)]
    if report.state is not ReportState.CLOSED and relaying.open_to(member, report):
        offered.append(Option(RELAY, N_("Reply to reporter")))
    return offered


async def progress(turn: Turn, member: Member, reference: str) -> None:
    report = await cases.progress(turn, reference, member, turn.conv.channel)
    said = turn.t(N_("Case {reference} is in progress."), reference=report.reference)
    await menu(turn, member, report, said)


async def assign(turn: Turn, member: Member, reference: str, to: str) -> None:
    done = await cases.assign(turn, reference, member, to, turn.conv.channel)
    turn.reset()
    turn.say(
        N_("Case {reference} is now {name}'s; they have been told."),
        reference=done.report.reference,
        name=done.member.name,
    )


async def reopen(turn: Turn, member: Member, reference: str) -> None:
    report = await cases.reopen(turn, reference, member, turn.conv.channel)
    said = turn.t(N_("Case {reference} is open again, in progress."), reference=report.reference)
    await menu(turn, member, report, said)


async def ask(turn: Turn, member: Member, reference: str, action: Action) -> None:
    """Asks what the action needs, once the member may do it."""
    report = await cases.require(turn, reference, member, action)
    state = CaseState(reference=report.reference)
    if turn.inbound.group:
        turn.say(
            N_("Please do this in your private chat with me: KASUS {reference}."),
            reference=report.reference,
        )
        return
    if action is Action.NOTE:
        turn.begin(Flow.CASE, Step.NOTE, state)
        turn.prompt(
            turn.t(
                N_(
                    "Write the note for {reference} (only the task force sees it). You can "
                    "send photos or documents with it."
                ),
                reference=report.reference,
            ),
            expects=Expect.MEDIA,
            actions=[DONE],
        )
    elif action is Action.CLOSE:
        turn.begin(Flow.CASE, Step.OUTCOME, state)
        ask_outcome(turn)
    elif action is Action.ASSIGN:
        turn.begin(Flow.CASE, Step.ASSIGNEE, state)
        await ask_assignee(turn, member)
    elif action is Action.PROGRESS:
        await progress(turn, member, reference)
    else:
        await reopen(turn, member, reference)


def ask_outcome(turn: Turn) -> None:
    turn.choose(
        turn.t(N_("How did case {reference} end?"), reference=turn.state(CaseState).reference),
        labels.options(labels.OUTCOME),
    )


async def ask_assignee(turn: Turn, member: Member) -> None:
    reference = turn.state(CaseState).reference
    people = await cases.assignable(turn, reference, member)
    turn.choose(
        turn.t(N_("Who should take case {reference}?"), reference=reference),
        [Option(str(m.id), m.name) for m in people],
    )


class CaseFlow:
    """Started by a member's case word or the menu after an acknowledgement (never by a
    word of its own: members.command routes the words)."""

    name = Flow.CASE
    words: frozenset[Word] = frozenset()
    holds: Held | None = None
    interrupts = False

    async def start(self, turn: Turn, argument: str) -> None:
        member = await member_here(turn)
        if member is None:
            turn.say(NOT_ALLOWED)
            return
        await show(turn, member, argument)

    async def cancel(self, turn: Turn) -> None:
        turn.reset()
        turn.say(N_("Cancelled."))

    def writing(self, turn: Turn) -> bool:
        return turn.step in (Step.NOTE, Step.DUPLICATE)

    async def resume(self, turn: Turn) -> None:
        member = await member_here(turn)
        reference = turn.state(CaseState).reference
        if member is None:
            turn.reset()
            return
        try:
            if turn.step == Step.NOTE:
                self._more(turn)
            elif turn.step == Step.OUTCOME:
                ask_outcome(turn)
            elif turn.step == Step.DUPLICATE:
                self._ask_duplicate(turn)
            elif turn.step == Step.ASSIGNEE:
                await ask_assignee(turn, member)
            else:
                await menu(turn, member, await cases.require_any(turn, reference))
        except Refused as refused:
            turn.reset()
            turn.say(refused.message, **refused.values)

    async def handle(self, turn: Turn) -> None:
        member = await member_here(turn)
        if member is None:
            turn.reset()
            turn.say(NOT_ALLOWED)
            return
        try:
            await self._handle(turn, member)
        except Refused as refused:
            turn.reset()
            turn.say(refused.message, **refused.values)

    async def _handle(self, turn: Turn, member: Member) -> None:
        state = turn.state(CaseState)
        reference = state.reference
        if turn.step == Step.MENU:
            report = await cases.require_any(turn, reference)
            picked = turn.picked(options(member, report))
            if picked is None:
                await menu(turn, member, report)
            elif picked[0] == RELAY:
                await relay.begin(turn, member, reference)
            else:
                await ask(turn, member, reference, Action(picked[0]))
        elif turn.step == Step.NOTE:
            await self._note(turn, member, state)
        elif turn.step == Step.OUTCOME:
            picked = turn.picked(labels.options(labels.OUTCOME))
            if picked is None:
                ask_outcome(turn)
                return
            outcome = Outcome(picked[0])
            if outcome is Outcome.DUPLICATE:
                turn.go(Flow.CASE, Step.DUPLICATE)
                self._ask_duplicate(turn)
                return
            await self._close(turn, member, outcome, None)
        elif turn.step == Step.DUPLICATE:
            other = (turn.typed() or "").strip()
            await self._close(turn, member, Outcome.DUPLICATE, other)
        elif turn.step == Step.ASSIGNEE:
            people = await cases.assignable(turn, reference, member)
            picked = turn.picked([Option(str(m.id), m.name) for m in people])
            if picked is None:
                await ask_assignee(turn, member)
                return
            await assign(turn, member, reference, picked[0])

    async def _note(self, turn: Turn, member: Member, state: CaseState) -> None:
        if turn.action() is Word.DONE:
            report = await cases.require_any(turn, state.reference)
            said = (
                turn.t(N_("Note saved on {reference}."), reference=report.reference)
                if state.note_id
                else ""
            )
            await menu(turn, member, report, said)
            return
        text = turn.typed() or None
        files = await evidence.store(turn)
        if text is None and not files:
            self._more(turn)
            return
        if state.note_id:
            await cases.add_to_note(turn, state.note_id, member, text, files, turn.conv.channel)
        else:
            written = await cases.note(
                turn, state.reference, member, text, files, channel=turn.conv.channel
            )
            state.note_id = written.id or 0
        self._more(turn, saved=True)

    def _more(self, turn: Turn, *, saved: bool = False) -> None:
        reference = turn.state(CaseState).reference
        turn.prompt(
            turn.t(
                N_("Saved in the note on {reference}. You can send more.")
                if saved
                else N_("Write the note for {reference}, or send photos or documents."),
                reference=reference,
            ),
            expects=Expect.MEDIA,
            actions=[DONE],
        )

    def _ask_duplicate(self, turn: Turn) -> None:
        turn.prompt(
            turn.t(
                N_("Which report is {reference} a duplicate of? Send its reference."),
                reference=turn.state(CaseState).reference,
            )
        )

    async def _close(self, turn: Turn, member: Member, outcome: Outcome, other: str | None) -> None:
        reference = turn.state(CaseState).reference
        try:
            report = await cases.close(turn, reference, member, outcome, other, turn.conv.channel)
        except Refused as refused:
            if outcome is not Outcome.DUPLICATE or turn.step != Step.DUPLICATE:
                raise
            turn.say(refused.message, **refused.values)  # a wrong reference: asked again
            self._ask_duplicate(turn)
            return
        said = turn.t(
            N_("Case {reference} is closed: {outcome}. The reporter has been told there is news."),
            reference=report.reference,
            outcome=turn.t(labels.OUTCOME[outcome]),
        )
        await menu(turn, member, report, said)
