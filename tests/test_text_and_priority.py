"""Reading typed input (phone numbers, numbered answers, command words) and the priority."""

from __future__ import annotations

import time

import pytest

from handlers.conversation.text import Word, clean, coordinates, numbers, phone, phones, word
from handlers.residents.priority import priority
from storage.models import ChildInvolved, Priority, RedFlag, Urgency


@pytest.mark.parametrize(
    "typed",
    [
        "0812-3456-7890",
        "+62 812 3456 7890",
        "6281234567890",
        "wa.me/6281234567890",
        "https://wa.me/6281234567890",
        "(0812) 3456 7890",
        "08123456789 0",
    ],
)
def test_indonesian_ways_of_writing_a_number_give_e164(typed: str) -> None:
    assert phone(typed) == "+6281234567890"


@pytest.mark.parametrize("typed", ["12345", "0812", "halo", "", "+1 555", "0812-3456-7890-1234"])
def test_what_is_not_a_number_is_refused(typed: str) -> None:
    assert phone(typed) is None


def test_foreign_numbers_are_kept_in_e164() -> None:
    assert phone("+60 12-345 6789") == "+60123456789"


def test_several_numbers_in_one_message() -> None:
    assert phones("0812-3456-7890 dan +6585551234; 999\n0857 1111 2222") == (
        ["+6281234567890", "+6585551234", "+6285711112222"],
        ["999"],
    )


def test_numbered_answers() -> None:
    assert numbers("2") == [2]
    assert numbers("1,3,5") == numbers("1 3 5") == numbers(" 1, 3; 5 ") == [1, 3, 5]
    assert numbers("1a") is None and numbers("") is None


def test_a_number_too_long_to_be_an_option_is_not_read_as_one() -> None:
    assert numbers("999") == [999]
    assert numbers("1000") is None and numbers("1, 2, 0812345678") is None
    assert numbers("9" * 5000) is None  # int() refuses more than 4,300 digits
    started = time.monotonic()
    assert numbers("1" + " " * 200_000 + "x") is None
    assert time.monotonic() - started < 1  # a run of spaces costs linear time


def test_command_words_in_both_languages() -> None:
    assert word("/tambah BTN-2026-00001") == (Word.ADD, "BTN-2026-00001")
    assert word("TAMBAH btn-2026-00001") == (Word.ADD, "btn-2026-00001")
    assert word("/start@SigapBot lapor") == (Word.START, "lapor")
    assert word("Batal") == (Word.CANCEL, "")
    assert word("status saya") is None  # an answer, not the command
    assert word("laporan") is None
    assert word("siaga 8") == (Word.ON_DUTY, "8")
    assert word("gabung K7M2XQ9P") == (Word.JOIN, "K7M2XQ9P")
    assert word("bahasa indonesia") == (Word.LANGUAGE, "indonesia")
    assert word("terima BTN-2026-00001") == (Word.ACK, "BTN-2026-00001")


def test_asking_to_be_forgotten_takes_several_words_and_hapus_alone_clears_the_chat() -> None:
    for said in ("hapus data", "HAPUS DATA.", "Hapus data saya", "delete my data!", "/hapusdata"):
        assert word(said) == (Word.FORGET, ""), said
    assert word("hapus") == (Word.CLEAR, "")
    assert word("delete my") is None and word("delete") is None
    assert word("hapus data agen itu juga") is None  # a resident's words
    assert word("berhenti balas") == (Word.STOP_RELAY, "")
    assert word("cek status") == (Word.STATUS, "")


@pytest.mark.parametrize(
    "said",
    [
        "Mulai minggu lalu agen itu minta uang",
        "Terima kasih",
        "Tambah lagi, dia minta paspor saya",
        "Bahasa yang dipakai agen itu bahasa Melayu",
        "Detail kerjanya tidak jelas",
        "siaga sampai besok",
        "gabung dengan agen itu katanya aman",
    ],
)
def test_words_that_begin_an_answer_are_not_commands(said: str) -> None:
    """A command word acts only alone, or with the argument it takes (a reference, a code,
    hours, a language): the rest is a resident's words."""
    assert word(said) is None


def test_clean_removes_invisible_and_control_characters() -> None:
    assert clean(" \u200bHa\u202elo\r\nlagi\x00 😀 ") == "Halo\nlagi 😀"


def test_typed_coordinates() -> None:
    assert coordinates("1.0587, 104.4845") == (1.0587, 104.4845)
    assert coordinates("1 3") is None and coordinates("95.0, 10.0") is None


@pytest.mark.parametrize(
    ("urgency", "child", "flags", "expected"),
    [
        (Urgency.DANGER_NOW, ChildInvolved.NO, [], Priority.URGENT),
        (Urgency.LEAVING_SOON, ChildInvolved.NO, [], Priority.URGENT),
        (Urgency.ABROAD_NEEDS_HELP, ChildInvolved.NO, [], Priority.URGENT),
        (Urgency.NONE, ChildInvolved.YES, [], Priority.HIGH),
        (Urgency.NONE, ChildInvolved.UNKNOWN, [], Priority.HIGH),
        (Urgency.NONE, ChildInvolved.NO, [RedFlag.DOCUMENTS_HELD], Priority.HIGH),
        (Urgency.NONE, ChildInvolved.NO, [RedFlag.CONTACT_CUT_OFF], Priority.HIGH),
        (
            Urgency.NONE,
            ChildInvolved.NO,
            [RedFlag.UPFRONT_FEES, RedFlag.TOO_GOOD, RedFlag.NO_CONTRACT],
            Priority.HIGH,
        ),
        (Urgency.NONE, ChildInvolved.NO, [RedFlag.UPFRONT_FEES, RedFlag.TOO_GOOD], Priority.NORMAL),
        (Urgency.NONE, ChildInvolved.NO, [], Priority.NORMAL),
    ],
)
def test_priority(
    urgency: Urgency, child: ChildInvolved, flags: list[RedFlag], expected: Priority
) -> None:
    assert priority(urgency, child, flags) is expected
