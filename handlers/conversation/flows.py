"""The registry of conversation flows. A flow is one object that satisfies `FlowHandler`; the
dispatcher (dispatcher.py) finds the flow in progress by its name and the flow a
command starts by its words, here. To add a flow: a module with its steps (a StrEnum), its
state (a `State` subclass) and a class like the ones below, one line in FLOWS, its texts in
the catalogs, its tests."""

from __future__ import annotations

from typing import Protocol

from handlers.conversation.text import Word
from handlers.conversation.turn import Flow, Held, Turn
from handlers.residents.add import AddFlow
from handlers.residents.cek import CekFlow
from handlers.residents.forget import ForgetFlow
from handlers.residents.language import LanguageFlow
from handlers.residents.menu import MenuFlow
from handlers.residents.replies import RepliesFlow
from handlers.residents.report import ReportFlow
from handlers.residents.subscribe import SubscribeFlow
from handlers.taskforce.broadcast import BroadcastFlow
from handlers.taskforce.casework import CaseFlow
from handlers.taskforce.referral import ReferFlow, ReferralsFlow
from handlers.taskforce.relay import RelayFlow


class FlowHandler(Protocol):
    name: Flow
    words: frozenset[Word]  # the commands that start it
    holds: Held | None
    # Starts inside another flow and returns to it when done (the language picker).
    interrupts: bool

    async def start(self, turn: Turn, argument: str) -> None:
        """Begins the flow (the command's argument may answer its first question)."""

    async def handle(self, turn: Turn) -> None:
        """Handles a message to the step the flow is at."""

    async def resume(self, turn: Turn) -> None:
        """Asks again the question the flow is at."""

    async def cancel(self, turn: Turn) -> None:
        """Ends the flow on the resident's BATAL, saying so."""

    def writing(self, turn: Turn) -> bool:
        """True when the step in progress is answered in the person's own words: then only
        the control words (BATAL, KEMBALI, LEWATI, SELESAI, BANTUAN, BERHENTI) act, and any
        other command word is part of the answer."""


FLOWS: tuple[FlowHandler, ...] = (
    MenuFlow(),
    ReportFlow(),
    AddFlow(),
    LanguageFlow(),
    SubscribeFlow(),
    BroadcastFlow(),
    ReferFlow(),
    ReferralsFlow(),
    CaseFlow(),
    RelayFlow(),
    RepliesFlow(),
    CekFlow(),
    ForgetFlow(),
)
BY_NAME: dict[Flow, FlowHandler] = {flow.name: flow for flow in FLOWS}
BY_WORD: dict[Word, FlowHandler] = {word: flow for flow in FLOWS for word in flow.words}
