"""What a channel hands to the flows (Inbound) and what the flows hand back (replies), with
nothing of any one channel in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from storage.media import MediaProblem
from storage.models import Channel


@dataclass(frozen=True)
class Press:
    """A button pressed: the question it belonged to (its `seq`) and the option's value. An
    action button that belongs to no question (an alert's Acknowledge) has no `seq`: its value
    names the action and what it acts on, e.g. `ack:BTN-2026-00042`."""

    seq: int | None
    value: str
    message: str | None = None  # the id of the message that showed the button, if known


def button_data(press: Press) -> str:
    """The one encoding of every button's payload (Telegram's callback data): `12:value` for
    an option of question 12, the bare value for an action (which starts with a letter)."""
    if press.seq is None:
        if not press.value[:1].isalpha():
            raise ValueError(f"an action starts with a letter, not {press.value!r}")
        return press.value
    return f"{press.seq}:{press.value}"


def read_button(data: str | None) -> Press:
    """The press a payload made by `button_data` stands for; anything else reads as a
    button of no question that is still open (the flows answer it as stale)."""
    data = data or ""
    seq, sep, value = data.partition(":")
    if sep and seq.isdigit() and len(seq) < 10:
        return Press(int(seq), value)
    if data[:1].isalpha():
        return Press(None, data)
    return Press(-1, data)


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Attachment:
    """A file the resident sent. `data` is None when the channel could not get it, and
    `problem` says why."""

    data: bytes | None
    name: str | None = None
    problem: MediaProblem | None = None


@dataclass(frozen=True)
class Inbound:
    channel: Channel
    sender: str  # the chat's key on its channel: a Telegram chat id, a WhatsApp number
    text: str | None = None
    press: Press | None = None
    location: Location | None = None
    media: tuple[Attachment, ...] = ()
    contact: str | None = None  # a phone number shared with the channel's own contact button
    known_phone: str | None = None  # the number the channel knows the sender by, if any
    language_hint: str | None = None  # the client's language, used for a new conversation
    key: str | None = None  # the channel's unique id of this delivery: handled once
    message_id: str | None = None  # the message's id in the chat, kept for clearing the chat
    group: bool = False  # sent in a group chat, where no report is taken
    user: str | None = None  # in a group: who sent it (the chat is the group)
    private_link: str | None = None  # a link that opens a private chat with the bot


class Capability(StrEnum):
    """What a channel can do that changes what a flow writes to the outbox. Each channel
    declares its own (bot/delivery.py CAPABILITIES); a flow asks `Services.can`, never which
    channel it is."""

    EDIT = "edit"  # changes a message it sent (an alert then says in place who took it)
    NOTIFY = "notify"  # writes to a chat unasked, later (the terminal keeps no chat)
    PATHS = "paths"  # takes a file as its typed path (the terminal)


class Expect(StrEnum):
    """What a prompt waits for, so a channel can offer the right input (a contact or location
    button, a file picker)."""

    TEXT = "text"
    MEDIA = "media"
    LOCATION = "location"
    CONTACT = "contact"


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Choice:
    """A single or multiple choice. `hint` tells how to answer by typing (numbered channels)."""

    seq: int
    text: str
    options: tuple[Option, ...]
    multiple: bool = False
    selected: frozenset[str] = frozenset()
    done: Option | None = None  # the button that ends a multiple choice
    also: Expect | None = None  # e.g. a location is accepted instead of an option
    hint: str = ""


@dataclass(frozen=True)
class Prompt:
    """A free-form answer, with optional quick actions (skip, done) that can also be typed."""

    seq: int
    text: str
    expects: Expect = Expect.TEXT
    actions: tuple[Option, ...] = ()
    hint: str = ""
    share: str = ""  # the label of a channel's own button sharing a contact, if it has one


@dataclass(frozen=True)
class ClearChat:
    """Asks the channel to delete this conversation's messages from the chat, as far as it
    can. `partly` (with {count} filled in) is said when some could not be deleted; `cannot`
    by a channel that cannot delete messages at all."""

    partly: str
    cannot: str


@dataclass(frozen=True)
class Document:
    """A stored file sent back to a member (evidence in a report's details)."""

    path: str
    name: str
    content_type: str


Reply = Text | Choice | Prompt | ClearChat | Document

KINDS: dict[str, type[Reply]] = {
    "text": Text,
    "choice": Choice,
    "prompt": Prompt,
    "clear": ClearChat,
    "document": Document,
}


def dump(reply: Reply) -> dict[str, Any]:
    """A reply as JSON (an answer waits in the outbox as this)."""
    data: dict[str, Any] = {"type": next(k for k, c in KINDS.items() if c is type(reply))}
    for name, value in vars(reply).items():
        if isinstance(value, Option):
            value = [value.value, value.label]
        elif isinstance(value, tuple):
            value = [[o.value, o.label] for o in value]
        elif isinstance(value, frozenset):
            value = sorted(value)
        data[name] = value
    return data


def load(data: dict[str, Any]) -> Reply:
    """The reply `dump` made."""
    values = {k: v for k, v in data.items() if k != "type"}
    for name in ("options", "actions"):
        if name in values:
            values[name] = tuple(Option(*o) for o in values[name])
    if values.get("done") is not None:
        values["done"] = Option(*values["done"])
    if "selected" in values:
        values["selected"] = frozenset(values["selected"])
    for name in ("expects", "also"):
        if values.get(name) is not None:
            values[name] = Expect(values[name])
    return KINDS[data["type"]](**values)


@dataclass
class Outcome:
    """What handling one inbound message produced."""

    replies: list[Reply] = field(default_factory=list)
    submitted: list[int] = field(default_factory=list)  # ids of reports sent by this message
    duplicate: bool = False  # the message had been handled before: nothing was done
    # False when nothing could be stored, not even an apology (the database is down): the
    # channel leaves the message to be delivered again rather than confirm it.
    stored: bool = True
