"""The welcome, the menu of what a resident can do, and the help text."""

from __future__ import annotations

from enum import StrEnum

from handlers.conversation.messages import Option
from handlers.conversation.text import Word, numbers
from handlers.conversation.turn import Flow, Held, Turn
from handlers.i18n import N_, gettext
from handlers.residents.emergency import emergency_text
from handlers.residents.report import own_words

MENU = [
    Option(Word.REPORT.value, N_("Report a suspicious job offer")),
    Option(Word.CEK.value, N_("Check a job offer before you go")),
    Option(Word.STATUS.value, N_("Status of my reports")),
    Option(Word.ADD.value, N_("Add information to my report")),
    Option(Word.SUBSCRIBE.value, N_("Awareness messages (subscribe)")),
    Option(Word.HELP.value, N_("Help and emergency contacts")),
    Option(Word.LANGUAGE.value, N_("Bahasa / Language")),
]


class Step(StrEnum):
    MENU = "menu"


class MenuFlow:
    """Stores nothing; hands the chosen action to the dispatcher."""

    name = Flow.MENU
    words: frozenset[Word] = frozenset()  # the menu comes by itself, or with MULAI
    holds: Held | None = None
    interrupts = False

    async def start(self, turn: Turn, argument: str = "") -> None:
        await self.show(turn)

    async def resume(self, turn: Turn) -> None:
        await self.show(turn, welcome=False)

    async def cancel(self, turn: Turn) -> None:
        turn.say(N_("There is nothing to cancel."))

    def writing(self, turn: Turn) -> bool:
        return False

    async def handle(self, turn: Turn) -> None:
        text = turn.typed()
        if (
            text
            and turn.inbound.press is None
            and not chosen(turn, text)
            and await own_words(turn, text)
        ):
            return
        picked = turn.picked(MENU)
        if picked is None:
            await self.ask(turn)
        else:
            turn.then = Word(picked[0])

    async def show(self, turn: Turn, *, welcome: bool = True) -> None:
        if welcome:
            turn.say(
                N_(
                    "Welcome to Sigap, the reporting line of the anti-trafficking task force "
                    "(Gugus Tugas TPPO). Offered a job abroad that seems too good, asks for "
                    "fees, or wants you to leave in secret? Tell us, anonymously if you wish."
                )
            )
        turn.go(Flow.MENU, Step.MENU)
        await self.ask(turn)

    async def ask(self, turn: Turn) -> None:
        turn.choose(turn.t(N_("What would you like to do?")), MENU)


def chosen(turn: Turn, text: str) -> bool:
    """Whether the text picks an option of the menu (its number or its name)."""
    labels = {turn.t(option.label).casefold() for option in MENU}
    return numbers(text) is not None or text.casefold() in labels


# The commands a channel lists for its users (Telegram's menu), in this order.
COMMANDS = [
    ("start", N_("Start, or continue where you left off")),
    ("lapor", N_("Report a suspicious job offer")),
    ("cek", N_("Check a job offer before you go")),
    ("status", N_("Status of my reports")),
    ("tambah", N_("Add information to my report")),
    ("bahasa", N_("Change the language")),
    ("bantuan", N_("Help and emergency contacts")),
    ("info", N_("Signs of trafficking, checking an agency, the words to type")),
    ("batal", N_("Cancel what you are doing")),
    ("hapus", N_("Clear this chat from your phone")),
    ("hapusdata", N_("Delete my data: be forgotten")),
    ("langganan", N_("Subscribe to awareness messages")),
    ("berhenti", N_("Stop all messages from us")),
]


def commands(language: str) -> list[tuple[str, str]]:
    _ = gettext(language)
    return [(name, _(description)) for name, description in COMMANDS]


def help_text(turn: Turn) -> str:
    """BANTUAN: the emergency numbers first, short enough to read at a glance; the rest is
    behind INFO (`more_help_text`)."""
    more = turn.t(
        N_(
            "Type REPORT to report, anonymously if you wish. Type INFO for the signs of "
            "trafficking, how to check an agency, and the words you can type."
        )
    )
    return emergency_text(turn) + "\n\n" + more


def more_help_text(turn: Turn) -> str:
    """INFO: what the help leaves out."""
    return turn.t(
        N_(
            "Signs that a job offer may be trafficking: fees up front, someone else holds your "
            "passport, a tourist visa for work, leaving through an unofficial port, no contract "
            "you can read, pay too good to be true, pressure to leave fast or keep it secret.\n\n"
            "Before you pay or sign anything, check the agency's licence with the manpower "
            "office (Disnaker) or BP3MI (KP2MI).\n\n"
            "Words you can type at any time: LAPOR (report), CEK (check an offer: a number, "
            "an agency, a link or the advert), STATUS, TAMBAH (add information), BAHASA "
            "(language), BATAL (cancel), KEMBALI (back), BANTUAN (help), HAPUS DATA (delete "
            "your data from our records)."
        )
    )
