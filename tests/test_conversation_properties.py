"""Property-based tests of the conversation engine (`Conversations.handle`, driven without a
network as the transcript tests drive it): whatever a chat sends, in any order (text of any
Unicode, presses with any callback data or with the options the bot just showed, places,
files, shared contacts), handling it never fails, always answers, and never loses a report
the bot confirmed.

On both databases: the engine stores every message's effect, and what one database accepts
the other may refuse (PostgreSQL refuses a NUL character in text, SQLite takes it). Each
example is a new chat on the same database, so examples do not wait for a fresh database;
the count of examples is the profile's (tests/conftest.py: 40, derandomized, the same
examples on every run): about 7 s on SQLite and 30 s on PostgreSQL on a loaded machine (load
8 on 2 cores). About a third of the examples confirm a report (`--hypothesis-show-statistics`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlmodel import col, select

from bot.app import App
from handlers.conversation.dispatcher import SORRY
from handlers.conversation.messages import (
    Attachment,
    Choice,
    Location,
    Press,
    Prompt,
    read_button,
)
from storage.media import MediaProblem
from storage.models import Channel, Report
from tests.support.answers import ENGLISH_REPORT
from tests.support.chat import Chat
from tests.support.clock import Clock

# Words that take a conversation somewhere (in both languages), and the answers its questions
# take, so that random sequences get deep into the flows and not only to the menu.
WORDS = [
    *("lapor", "report", "LAPOR", "/start", "/start lapor", "mulai", "menu", "/lapor"),
    *("status", "cek", "CHECK", "cek 0812-3456-7890", "tambah BTN-2026-00001", "add"),
    *("bahasa", "bahasa en", "language id", "bantuan", "help", "info", "langganan"),
    *("batal", "cancel", "kembali", "back", "lewati", "skip", "selesai", "done"),
    *("berhenti", "STOP", "mulai lagi", "/hapus", "/balas", "terima kasih", "halo"),
    *("/gabung ABCD-1234", "ACK BTN-2026-00001", "/kasus", "terima", "anggota", "/piket"),
    *("tolong saya disekap", "help me", "0", "1", "2", "3", "4", "9", "1,3", "1 3 5", "12"),
    "Pak Budi 0812-3456-7890 https://fb.com/lowongan PT Maju Jaya rek BCA 1234567890",
    "Saya ditawari kerja di Kamboja, paspor ditahan, harus bayar 5 juta ke rekening pribadi.",
]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

any_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)
texts = st.one_of(st.sampled_from(WORDS), any_text, st.just("9" * 5000), st.just("\x00"))
locations = st.builds(
    Location,
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
)
attachments = st.one_of(
    st.builds(
        Attachment,
        st.one_of(st.binary(max_size=64), st.just(PNG)),
        st.one_of(st.none(), any_text),
    ),
    st.builds(Attachment, st.none(), st.none(), st.sampled_from(MediaProblem)),
)
stray_presses = st.one_of(
    st.builds(read_button, st.one_of(st.none(), any_text)),
    st.builds(Press, st.one_of(st.none(), st.integers()), any_text),
)


def options(chat: Chat) -> list[Press]:
    """The presses of the buttons the bot's last question shows."""
    asked = [r for r in chat.replies if isinstance(r, Choice | Prompt)]
    if not asked:
        return []
    question = asked[-1]
    shown = question.options if isinstance(question, Choice) else question.actions
    if isinstance(question, Choice) and question.done is not None:
        shown = (*shown, question.done)
    return [Press(question.seq, option.value) for option in shown]


def message(chat: Chat) -> st.SearchStrategy[dict[str, Any]]:
    """One inbound message: mostly what a resident would do next, often anything at all."""
    buttons = options(chat)
    pressed = st.sampled_from(buttons) if buttons else stray_presses
    return st.one_of(
        st.fixed_dictionaries({"text": texts}),
        st.fixed_dictionaries({"press": pressed}),
        st.fixed_dictionaries({"press": pressed}),  # twice as likely: deeper into the flows
        st.fixed_dictionaries({"press": stray_presses}),
        st.fixed_dictionaries({"location": locations}),
        st.fixed_dictionaries(
            {"media": st.lists(attachments, min_size=1, max_size=3)},
            optional={"text": texts},
        ),
        st.fixed_dictionaries({"contact": st.one_of(st.just("+6281234567890"), any_text)}),
    )


class Errors(logging.Handler):
    """Errors logged while handling (the dispatcher logs what it caught, and apologises)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors() -> Iterator[Errors]:
    handler = Errors()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


CHATS = count(1)


@given(data=st.data())
async def test_any_messages_are_answered_without_failing_or_losing_a_confirmed_report(
    app: App, clock: Clock, errors: Errors, data: st.DataObject
) -> None:
    errors.records.clear()  # of an earlier example
    channel = data.draw(st.sampled_from([Channel.TELEGRAM, Channel.WHATSAPP]), "channel")
    chat = Chat(app, sender=f"{700_000 + next(CHATS)}", channel=channel)
    confirmed: dict[int, tuple[str, str]] = {}  # report id: (reference, story)
    scripted: list[dict[str, Any]] = []
    if data.draw(st.booleans(), "a whole report first"):
        scripted = [{"text": answer} for answer, _ in ENGLISH_REPORT] + [{"text": "1"}]
    for step in range(len(scripted) + data.draw(st.integers(1, 20), "messages")):
        sent = scripted[step] if step < len(scripted) else data.draw(message(chat))
        clock.advance(seconds=data.draw(st.sampled_from([4, 4, 60, 3600 * 25]), "later"))
        await chat.send(**sent)
        outcome = chat.outcome
        assert not errors.records, errors.records[0].getMessage()
        assert outcome.replies, f"no answer to {sent!r}"
        assert not any(SORRY in str(reply) for reply in outcome.replies)
        async with app.db.read() as session:
            for report_id in outcome.submitted:
                event("a report confirmed")  # --hypothesis-show-statistics: how often
                report = await session.get(Report, report_id)
                assert report is not None, "a report was confirmed but not stored"
                confirmed[report_id] = (report.reference, report.story)
            found = (
                await session.exec(select(Report).where(col(Report.id).in_(list(confirmed))))
            ).all()
        assert {r.id: (r.reference, r.story) for r in found} == confirmed
