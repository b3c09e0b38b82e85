"""CEK ("Cek Tawaran"): a resident checks an offer before they pay or leave. They send a phone
number, an agency's name, a link, or the whole advert (a screenshot's caption too), with CEK
or after it; the answer is one message in their language: the task force's confirmed verdicts
on what it names (nothing else: handlers/usecases/cek.py), the risk signs in the text in plain
words, where to check officially, and a way to report it that keeps the advert as the story's
start.

Stores the text checked in the conversation (`CekState.advert`) until the next check or the
end of the flow, for "Report it"; the check itself is stored by the use case."""

from __future__ import annotations

from enum import StrEnum

from handlers.conversation.text import Word
from handlers.conversation.turn import REPORT_IT, Flow, Held, State, Turn
from handlers.i18n import N_
from handlers.residents.report import STORY_MAX, ReportFlow
from handlers.usecases import Refused
from handlers.usecases import cek as usecase
from storage.models import IdentifierKind, Verdict

# The answer stays short enough to read on a phone at a glance (the risk reasons are cut
# first, down to one).
ANSWER_MAX = 900
REASONS = 3  # the risk reasons explained at most
SHOWN_MAX = 60  # of an identifier, in the answer
ADVERT_WORDS = 8  # a text of this many words is an advert: its risk signs are told, or none

ASK = N_(
    "Send me the phone number, the agency's name, the link, or the whole job advert (you can "
    "forward it), and I will check it."
)
NO_TEXT = N_(
    "I cannot read pictures. Please send the text of the advert, or the phone number or the "
    "agency's name in it."
)
DANGEROUS = {
    IdentifierKind.PHONE: N_(
        "⚠️ {value}: this number has been confirmed by the task force as used in job scams."
    ),
    IdentifierKind.ACCOUNT: N_(
        "⚠️ {value}: this account has been confirmed by the task force as used in job scams."
    ),
    IdentifierKind.AGENCY: N_(
        "⚠️ {value}: this agency has been confirmed by the task force as involved in job scams."
    ),
    IdentifierKind.LINK: N_(
        "⚠️ {value}: this link has been confirmed by the task force as used in job scams."
    ),
    IdentifierKind.HANDLE: N_(
        "⚠️ {value}: this account has been confirmed by the task force as used in job scams."
    ),
    IdentifierKind.EMAIL: N_(
        "⚠️ {value}: this e-mail address has been confirmed by the task force as used in job scams."
    ),
}
DO_NOT_PAY = N_("Do not pay them or send them your documents.")
CLEARED_AGENCY = N_("✅ {value}: confirmed by the task force as a registered agency.")
CLEARED_OTHER = N_("✅ {value}: confirmed by the task force as belonging to a registered agency.")
STILL_CHECK = N_(
    "Make sure the offer really comes from them: scammers use the names of real agencies."
)
NO_WARNING = N_(
    "The task force has no confirmed warning about {values}. That alone does not make the "
    "offer safe."
)
NOTHING_FOUND = N_("I found no phone number, account, agency name or link in what you sent.")
LEFT_OUT = N_("Only the first {count} were checked; send the others separately.")
SIGNS = N_("Warning signs in this offer:")
NO_SIGNS = N_("I found none of the usual warning signs in the text.")
OFFICIAL = N_(
    "Check it yourself before you pay or leave:\n"
    "• an agency's licence: siskop2mi.bp2mi.go.id\n"
    "• a phone number: aduannomor.id\n"
    "• a bank account: cekrekening.id"
)
REPORT = N_("Worried about this offer? Report it to the task force, anonymously if you wish.")


class Step(StrEnum):
    ASK = "ask"  # CEK alone: waiting for what to check
    ANSWERED = "answered"  # the answer was given; another text is checked too


class CekState(State):
    advert: str | None = None  # the text last checked: "Report it" starts with it


class CekFlow:
    """Stores the text checked (for "Report it") in the conversation; answers each text sent
    with one message, and asks for a text when none came."""

    name = Flow.CEK
    words = frozenset({Word.CEK})
    holds: Held | None = None
    interrupts = False

    async def start(self, turn: Turn, argument: str = "") -> None:
        if argument:
            await check(turn, argument)
            return
        turn.begin(Flow.CEK, Step.ASK, CekState())
        await self.resume(turn)

    async def resume(self, turn: Turn) -> None:
        turn.prompt(turn.t(ASK))

    async def cancel(self, turn: Turn) -> None:
        turn.reset()
        turn.say(N_("The check is closed."))

    def writing(self, turn: Turn) -> bool:
        return False

    async def handle(self, turn: Turn) -> None:
        press = turn.inbound.press
        if press is not None:
            if not turn.stale() and press.value == REPORT_IT.value:
                await report_it(turn)
            else:
                await self.resume(turn)
            return
        text = turn.typed()
        if not text:
            turn.say(NO_TEXT if turn.inbound.media else ASK)
            return
        await check(turn, text)


async def check(turn: Turn, text: str) -> None:
    """Checks the text and answers in one message, with "Report it"."""
    try:
        checked = await usecase.check(turn, turn.conv.channel, turn.conv.sender, text)
    except Refused as refused:
        turn.say(refused.message, **refused.values)
        return
    turn.begin(Flow.CEK, Step.ANSWERED, CekState(advert=text[:STORY_MAX]))
    advert = len(text.split()) >= ADVERT_WORDS
    turn.prompt(answer(turn, checked, advert=advert), actions=[REPORT_IT])


async def report_it(turn: Turn) -> None:
    """ "Report it": a report begins with the advert checked as the story's start."""
    advert = turn.state(CekState).advert
    if not advert:
        await ReportFlow().start(turn)
        return
    await ReportFlow().open_with(turn, advert, danger=False)


def answer(turn: Turn, checked: usecase.Checked, *, advert: bool) -> str:
    """The one message: verdicts, risk signs, where to check, the way to report; the risk
    reasons are cut to stay within ANSWER_MAX."""
    language = turn.conv.language
    reasons = [r.explanation(language) for r in checked.risk.top(REASONS)]
    while True:
        text = _compose(turn, checked, reasons, advert=advert)
        if len(text) <= ANSWER_MAX or len(reasons) <= 1:
            return text
        reasons = reasons[:-1]


def _compose(turn: Turn, checked: usecase.Checked, reasons: list[str], *, advert: bool) -> str:
    parts: list[str] = []
    dangerous = [f for f in checked.found if f.verdict is Verdict.DANGEROUS]
    cleared = [f for f in checked.found if f.verdict is Verdict.CLEARED]
    unknown = [f for f in checked.found if f.verdict is None]
    verdicts = [turn.t(DANGEROUS[f.identifier.kind], value=_short(f.shown)) for f in dangerous]
    if dangerous:
        verdicts.append(turn.t(DO_NOT_PAY))
    for found in cleared:
        kind = found.identifier.kind
        cleared_text = CLEARED_AGENCY if kind is IdentifierKind.AGENCY else CLEARED_OTHER
        verdicts.append(turn.t(cleared_text, value=_short(found.shown)))
    if cleared:
        verdicts.append(turn.t(STILL_CHECK))
    if unknown:
        values = ", ".join(_short(f.shown) for f in unknown)
        verdicts.append(turn.t(NO_WARNING, values=values))
    if not checked.found:
        verdicts.append(turn.t(NOTHING_FOUND))
    if checked.left_out:
        verdicts.append(turn.t(LEFT_OUT, count=len(checked.found)))
    parts.append("\n".join(verdicts))
    if reasons:
        parts.append("\n".join([turn.t(SIGNS), *(f"• {r}" for r in reasons)]))
    elif advert:
        parts.append(turn.t(NO_SIGNS))
    official = [turn.t(OFFICIAL)]
    contact = kp2mi(turn)
    if contact:
        official.append(f"• {contact}")
    parts.append("\n".join(official))
    parts.append(turn.t(REPORT))
    return "\n\n".join(parts)


def kp2mi(turn: Turn) -> str | None:
    """The KP2MI (formerly BP2MI) call centre among the configured emergency contacts."""
    language, default = turn.conv.language, turn.services.bot.default_language
    for contact in turn.services.intake.emergency_contacts:
        if any(n in t.upper() for t in contact.name.texts() for n in ("KP2MI", "BP2MI")):
            return f"{contact.name.text(language, default)}: {contact.number}"
    return None


def _short(value: str) -> str:
    return value if len(value) <= SHOWN_MAX else value[: SHOWN_MAX - 1] + "…"
