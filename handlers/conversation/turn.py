"""One inbound message being handled: the conversation it belongs to, the services, what to
answer, and the ways every flow asks and reads questions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.conversation.messages import (
    Capability,
    Choice,
    ClearChat,
    Expect,
    Inbound,
    Option,
    Outcome,
    Prompt,
    Text,
)
from handlers.conversation.text import Word, clean, numbers, word
from handlers.i18n import N_, gettext
from handlers.settings import (
    AlertSettings,
    BotSettings,
    CaseworkSettings,
    CekSettings,
    EscalationSettings,
    IntakeSettings,
    ReferralSettings,
    RetentionSettings,
)
from storage.db import Database
from storage.media import MediaStore
from storage.models import Channel, Conversation, Outbox
from storage.outbox import Claimant


class Flow(StrEnum):
    """The flows' names, as stored in `Conversation.flow` (the registry is flows.py)."""

    MENU = "menu"
    REPORT = "report"
    ADD = "add"
    LANGUAGE = "language"
    SUBSCRIBE = "subscribe"
    BROADCAST = "broadcast"
    REFER = "refer"
    REFERRALS = "referrals"
    CASE = "case"
    RELAY_WRITE = "relay_write"  # a member writing to a reporter (BALAS)
    RELAY_READ = "relay_read"  # a reporter who opened their messages, answering (BUKA)
    CEK = "cek"  # a resident checking an offer
    FORGET = "forget"  # a resident asking to be forgotten (HAPUS DATA), confirming


class State(BaseModel):
    """A flow's answers so far, stored as JSON in `Conversation.data`; each flow declares its
    own subclass. `selected`: the options toggled on the multiple choice being asked."""

    selected: list[str] = Field(default_factory=list)


S = TypeVar("S", bound=State)


@dataclass(frozen=True)
class Held:
    """What a flow that holds the conversation until it ends (the report) says when another
    flow's word comes (`other`), or its own or MULAI (`same`); then it asks its question again."""

    same: str
    other: str


@dataclass
class Services:
    """What the flows need from the runtime, typed (no dict lookups)."""

    db: Database
    media: MediaStore
    bot: BotSettings
    intake: IntakeSettings
    clock: Callable[[], datetime]
    escalation: EscalationSettings = field(default_factory=EscalationSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    referral: ReferralSettings = field(default_factory=ReferralSettings)
    casework: CaseworkSettings = field(default_factory=CaseworkSettings)
    cek: CekSettings = field(default_factory=CekSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    # The dashboard's address ("" when it is off) and how long its login links last.
    dashboard_url: str = ""
    dashboard_link_minutes: float = 10
    # What each channel can do, as the channels declare it (bot/delivery.py).
    channels: Mapping[Channel, frozenset[Capability]] = field(default_factory=dict)

    def can(self, channel: Channel, capability: Capability) -> bool:
        return capability in self.channels.get(channel, frozenset())

    @asynccontextmanager
    async def work(self, *, write: bool = True) -> AsyncIterator[Work]:
        """A unit of work: one transaction (a write, or a read), at one moment."""
        async with self.db.write() if write else self.db.read() as session:
            yield Work(self, session, self.clock())


@dataclass
class Work:
    """What the flows (a Turn is one) and the scheduled jobs work with: the services, the
    transaction, and the moment it happens. `claimant`: the process that sends the urgent
    messages this work stores as soon as it commits (a new report's alerts), when there is
    one; `claimed`, those messages, to hand it then."""

    services: Services
    session: AsyncSession
    now: datetime
    claimant: Claimant | None = field(default=None, kw_only=True)
    claimed: list[Outbox] = field(default_factory=list, kw_only=True)


SKIP = Option(Word.SKIP.value, N_("Skip"))
DONE = Option(Word.DONE.value, N_("Done"))
CLEAR = Option(Word.CLEAR.value, N_("Clear this chat"))
SUBSCRIBE = Option(Word.SUBSCRIBE.value, N_("Subscribe"))
REPORT_IT = Option(Word.REPORT.value, N_("Report it"))

PARTLY_CLEARED = N_(
    "{count} message(s) could not be deleted (Telegram only allows it within 48 hours). "
    "Please delete this chat yourself: press and hold the chat, then Delete."
)
EXPIRED = N_("This question has expired. Here is the current one:")


@dataclass
class Turn(Work):
    """One inbound message being handled, in its conversation."""

    conv: Conversation
    inbound: Inbound
    out: Outcome = field(default_factory=Outcome)
    # Files of discarded drafts, deleted from the media store once the transaction commits.
    delete_files: list[str] = field(default_factory=list)
    # What the dispatcher does once the flow has handled the message: carry out a command
    # (the menu's choice), or ask again where the conversation stands (the language chosen).
    then: Word | None = None
    resume: bool = False
    _keep_seq: bool = False
    _state: State | None = None  # the flow's state, once read or begun in this turn
    _cleared: bool = False

    def __post_init__(self) -> None:
        self._ = gettext(self.conv.language)

    # Where the conversation stands.

    @property
    def flow(self) -> Flow | None:
        return Flow(self.conv.flow) if self.conv.flow else None

    @property
    def step(self) -> str | None:
        return self.conv.step

    def state(self, kind: type[S]) -> S:
        """The flow in progress's state, typed: as stored, or as begun in this turn."""
        if not isinstance(self._state, kind):
            self._state = kind.model_validate({} if self._cleared else self.conv.data)
        return self._state

    def begin(self, flow: Flow, step: str, state: S) -> S:
        """Starts `flow` at `step` with a new state (the previous flow's answers are gone)."""
        self.go(flow, step)
        self._state, self._cleared = state, False
        return state

    def stored(self) -> dict[str, Any]:
        """The state as it would be stored now (kept aside by an interruption)."""
        if self._state is not None:
            return self._state.model_dump(mode="json", exclude_defaults=True)
        return {} if self._cleared else dict(self.conv.data)

    def restore(self, flow: Flow | None, step: str | None, stored: dict[str, Any]) -> None:
        """Back to a flow kept aside with `stored()`."""
        self.go(flow, step)
        self.conv.data, self._state, self._cleared = stored, None, False

    def go(self, flow: Flow | None, step: str | None) -> None:
        """To `step` of `flow`; the toggles of the multiple choice being left are dropped."""
        if (flow, step) != (self.flow, self.step):
            if self._state is not None:
                self._state.selected = []
            elif "selected" in self.conv.data:
                self.conv.data = {k: v for k, v in self.conv.data.items() if k != "selected"}
        self.conv.flow = flow.value if flow else None
        self.conv.step = step

    def reset(self) -> None:
        """Back to no flow, forgetting every answer (the language stays)."""
        self.go(None, None)
        self._state, self._cleared = None, True

    def set_language(self, language: str) -> None:
        self.conv.language = language
        self._ = gettext(language)

    def save(self) -> None:
        if self._state is not None or self._cleared:
            self.conv.data = self.stored()
            flag_modified(self.conv, "data")
        self.conv.updated_at = self.now
        self.session.add(self.conv)

    @property
    def _selected(self) -> list[str]:
        if self._state is not None:
            return self._state.selected
        return [] if self._cleared else list(self.conv.data.get("selected", []))

    # What is said.

    def t(self, message: str, **values: object) -> str:
        """The message in the conversation's language, with its {placeholders} filled."""
        text = self._(message)
        return text.format(**values) if values else text

    def say(self, message: str, **values: object) -> None:
        self.tell(self.t(message, **values))

    def tell(self, text: str) -> None:
        """Sends text already in the conversation's language."""
        self.out.replies.append(Text(text))

    def clear_chat(self, cannot: str) -> None:
        """Asks the channel to delete the chat's messages; `cannot` is said by a channel that
        cannot delete any."""
        self.out.replies.append(ClearChat(partly=self.t(PARTLY_CLEARED), cannot=self.t(cannot)))

    def _next_seq(self) -> int:
        if not self._keep_seq:
            self.conv.seq += 1
        self._keep_seq = False
        return self.conv.seq

    def choose(
        self,
        text: str,
        options: Sequence[Option],
        *,
        multiple: bool = False,
        also: Expect | None = None,
        hint: str = "",
    ) -> None:
        """Asks a question with options (their labels translated here)."""
        shown = [Option(o.value, self._(o.label)) for o in options]
        typed = self.numbered(len(shown), multiple=multiple)
        selected = frozenset(self._selected)
        self.out.replies.append(
            Choice(
                seq=self._next_seq(),
                text=text,
                options=tuple(shown),
                multiple=multiple,
                selected=selected,
                done=Option(DONE.value, self._(DONE.label)) if multiple else None,
                also=also,
                hint=" ".join(h for h in (typed, hint) if h),
            )
        )

    def numbered(self, count: int, *, multiple: bool = False) -> str:
        """How to answer a choice of `count` numbered options by typing: "Reply with 1 or 2.",
        and for a multiple choice how to choose several, and none."""
        if multiple:
            example = "1,3" if count >= 3 else "1,2"
            return self.t(
                N_("Reply with one or more numbers, e.g. {example}, or with 0 if none apply."),
                example=example,
            )
        if count == 1:
            return self.t(N_("Reply with the number 1."))
        if count == 2:
            return self.t(N_("Reply with 1 or 2."))
        return self.t(N_("Reply with a number from 1 to {count}."), count=count)

    def prompt(
        self, text: str, *, expects: Expect = Expect.TEXT, actions: Sequence[Option] = ()
    ) -> None:
        """Asks for a free answer; each action (skip, done) is a button and a typed word.
        The text says what to send, never how to act on an action ("tap Done", "type
        SELESAI"): Telegram shows the actions as buttons, and the channels without buttons
        show the typed words of this hint (the terminal, WhatsApp)."""
        hints = {
            SKIP.value: N_("Type LEWATI to skip."),
            DONE.value: N_("Type SELESAI when you are done."),
            CLEAR.value: N_("Type HAPUS to clear this chat."),
            SUBSCRIBE.value: N_("Type LANGGANAN to subscribe."),
            REPORT_IT.value: N_("Type LAPOR to report it."),
        }
        typed = [self.t(hints[a.value]) for a in actions if a.value in hints]
        if expects is Expect.MEDIA and self.services.can(self.conv.channel, Capability.PATHS):
            typed.insert(0, self.t(N_("Type the path of a file to attach it.")))
        self.out.replies.append(
            Prompt(
                seq=self._next_seq(),
                text=text,
                expects=expects,
                actions=tuple(Option(a.value, self._(a.label)) for a in actions),
                hint=" ".join(typed),
                share=self.t(N_("Share my phone number")) if expects is Expect.CONTACT else "",
            )
        )

    # What was answered.

    def typed(self) -> str | None:
        """The message's text, cleaned; None if it had none."""
        return None if self.inbound.text is None else clean(self.inbound.text)

    def action(self) -> Word | None:
        """A step word (skip, done, back) typed or pressed, if the message is one."""
        press = self.inbound.press
        if press is not None:
            return Word(press.value) if press.value in {w.value for w in Word} else None
        text = self.typed()
        found = word(text) if text else None
        return found[0] if found and not found[1] else None

    def stale(self) -> bool:
        """True (and says so) when a button of an earlier question was pressed."""
        press = self.inbound.press
        if press is None or press.seq == self.conv.seq:
            return False
        self.say(EXPIRED)
        return True

    def picked(self, options: Sequence[Option], *, multiple: bool = False) -> list[str] | None:
        """The values chosen by a press or by typed numbers or labels. None when there is no
        answer yet: after saying what was wrong, or after a toggle of a multiple choice (the
        caller asks again, which shows the new selection)."""
        values = [o.value for o in options]
        press = self.inbound.press
        if press is not None:
            if self.stale():
                return None
            if multiple and press.value == DONE.value:
                return list(self._selected)
            if press.value not in values:
                self.say(EXPIRED)
                return None
            if not multiple:
                return [press.value]
            # A multiple choice is asked only inside a flow, which has a state.
            assert self._state is not None
            selected = list(self._selected)
            if press.value in selected:
                selected.remove(press.value)
            else:
                selected.append(press.value)
            self._state.selected = [v for v in values if v in selected]
            self._keep_seq = True
            return None
        if multiple and self.action() is Word.DONE:
            return list(self._selected)
        text = self.typed()
        if not text:
            self.say(N_("Please choose one of the options."))
            return None
        chosen = numbers(text)
        if chosen is not None:
            if multiple and chosen == [0]:
                return []  # none of them
            how = self.numbered(len(values), multiple=multiple)
            if multiple and 0 in chosen:
                alone = self.t(N_("0 means none of them: send it alone."))
                self.tell(f"{alone} {how}")
                return None
            wrong = [n for n in chosen if not 1 <= n <= len(values)]
            if wrong:
                listed = ", ".join(str(n) for n in wrong)
                not_one = self.t(N_("{wrong} is not one of the options."), wrong=listed)
                self.tell(f"{not_one} {how}")
                return None
            if len(set(chosen)) > 1 and not multiple:
                only = self.t(N_("Choose only one."))
                self.tell(f"{only} {how}")
                return None
            return list(dict.fromkeys(values[n - 1] for n in chosen))
        by_label = {self._(o.label).casefold(): o.value for o in options}
        if text.casefold() in by_label:
            return [by_label[text.casefold()]]
        self.say(N_("Please answer with the number of an option."))
        return None
