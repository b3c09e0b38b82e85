"""Bad input: each gets a clear message, the step is asked again, nothing answered is lost."""

from __future__ import annotations

import pytest

from bot.app import App
from handlers.conversation.flows import BY_NAME
from handlers.conversation.messages import Attachment
from handlers.conversation.turn import Flow
from handlers.settings import IntakeSettings
from storage import conversations
from storage.media import MediaProblem
from storage.models import Channel
from tests.support.answers import ANONYMOUS_TO_STORY, DETAILS, ENGLISH_REPORT, START_IN_ENGLISH
from tests.support.chat import Chat

STORY = "The agent kept my cousin's passport and asked for 7 million rupiah for the visa."


async def at_story(chat: Chat) -> None:
    """An English report answered up to the free-text story."""
    await chat.dialog(
        [
            *START_IN_ENGLISH,
            *ANONYMOUS_TO_STORY[:6],
            ("2", "identifies the recruiter"),  # one red flag
        ]
    )
    screen = await chat.send("skip")
    assert "Tell us what happened" in screen


async def data(app: App, chat: Chat) -> dict[str, object]:
    async with app.db.read() as session:
        conv = await conversations.find(session, Channel.CONSOLE, chat.sender)
    assert conv is not None
    return conv.data


async def test_a_story_that_begins_with_a_command_word_is_kept(chat: Chat, app: App) -> None:
    await at_story(chat)
    story = "Tambah lagi: agen minta 5 juta dan paspor adik saya ditahan"
    assert "Please check your report" in await chat.send(story)
    assert (await data(app, chat))["story"] == story


async def test_in_a_written_answer_only_the_control_words_act(chat: Chat, app: App) -> None:
    await chat.dialog(
        [*START_IN_ENGLISH, *ANONYMOUS_TO_STORY[:6], ("2", "identifies the recruiter")]
    )
    screen = await chat.send("bantuan")  # help still answers, and asks again
    assert "If someone is in danger, call now:" in screen and "identifies the recruiter" in screen
    assert "Other: Status" in await chat.send("Status")  # a nickname, not STATUS
    assert (await data(app, chat))["recruiter"] == ["Status"]
    assert "Which of these happened?" in await chat.send("kembali")
    assert "Send BATAL again" in await chat.send("batal")
    assert "Your report was cancelled" in await chat.send("batal")


async def test_empty_and_whitespace_text_is_asked_again(chat: Chat, app: App) -> None:
    await at_story(chat)
    before = await data(app, chat)
    for text in ["", "   \n\t ", "\u200b\u200b", "\x00\x07"]:
        screen = await chat.send(text)
        assert "Please type your answer as text." in screen
        assert "Tell us what happened" in screen
    assert await data(app, chat) == before


async def test_a_story_that_is_too_short_or_too_long_is_asked_again(chat: Chat, app: App) -> None:
    await at_story(chat)
    assert "at least 10 characters" in await chat.send("help me")  # not the command: has a space
    screen = await chat.send("x" * 10_000)
    assert "That is too long (10000 characters): please keep it under 3000." in screen
    assert "Tell us what happened" in screen
    assert (await data(app, chat))["affected"] == "me"


async def test_emoji_are_kept_and_invisible_characters_removed(chat: Chat, app: App) -> None:
    await at_story(chat)
    await chat.send("\u202eHe\u200bld my passport 😡 and my phone\x1b[31m.")
    assert (await data(app, chat))["story"] == "Held my passport 😡 and my phone[31m."


async def test_an_unknown_option_is_refused(chat: Chat) -> None:
    await chat.send("bahasa en")
    await chat.send("report")
    screen = await chat.send("9")
    assert "9 is not one of the options. Reply with a number from 1 to 4." in screen
    assert "is any of these happening?" in screen
    screen = await chat.send("maybe")
    assert "Please answer with the number of an option." in screen
    screen = await chat.send("1,2")
    assert "Choose only one. Reply with a number from 1 to 4." in screen
    assert "1 to 2" not in screen


async def test_a_multiple_choice_with_a_wrong_number_keeps_nothing_of_it(
    chat: Chat, app: App
) -> None:
    await chat.dialog([*START_IN_ENGLISH, *ANONYMOUS_TO_STORY[:6]])  # up to the red flags
    screen = await chat.send("1,99")
    assert (
        "99 is not one of the options. Reply with one or more numbers, e.g. 1,3, or with 0 if "
        "none apply."
    ) in screen
    assert "Which of these happened?" in screen
    assert "red_flags" not in await data(app, chat)
    await chat.send("1 5 9")
    assert (await data(app, chat))["red_flags"] == ["upfront_fees", "too_good", "contact_cut_off"]


async def test_0_answers_a_multiple_choice_with_none_of_the_options(chat: Chat, app: App) -> None:
    await chat.dialog([*START_IN_ENGLISH, *ANONYMOUS_TO_STORY[:5]])
    screen = await chat.send("1")
    assert "Which of these happened?" in screen
    assert "(Reply with one or more numbers, e.g. 1,3, or with 0 if none apply.)" in screen
    screen = await chat.send("0, 2")
    assert "0 means none of them: send it alone." in screen
    assert "Which of these happened?" in screen and "red_flags" not in await data(app, chat)
    screen = await chat.send("0")
    assert "identifies the recruiter" in screen
    assert (await data(app, chat))["red_flags"] == []
    screen = await chat.send("back")
    assert "Which of these happened?" in screen
    screen = await chat.send("done")  # the word works too, and chooses none as well
    assert "identifies the recruiter" in screen


async def test_a_choice_of_one_option_asks_for_the_number_1(chat: Chat, app: App) -> None:
    app.services.intake = IntakeSettings(areas=["Bintan Timur"])
    await chat.dialog([*ENGLISH_REPORT, *DETAILS[:3]])  # up to the area
    assert "(Reply with the number 1." in chat.screen
    screen = await chat.send("2")
    assert "2 is not one of the options. Reply with the number 1." in screen
    assert "from 1 to 1" not in screen
    screen = await chat.send("1")
    assert "Please check your report" in screen and "Bintan Timur" in screen


async def test_a_number_that_is_not_a_phone_number_is_kept_as_said(chat: Chat, app: App) -> None:
    await chat.dialog([*START_IN_ENGLISH, *ANONYMOUS_TO_STORY[:7]])  # up to the recruiter
    screen = await chat.send("0812-3456-7890, 12345, wa.me/6281399990000")
    assert "Phone numbers: +6281399990000, +6281234567890" in screen
    assert "Other: 12345" in screen
    screen = await chat.send("+62 857 1111 2222")
    assert "Phone numbers: +6281399990000, +6281234567890, +6285711112222" in screen
    assert "Tell us what happened" in await chat.send("done")
    assert len((await data(app, chat))["recruiter"]) == 2


async def test_unreadable_oversized_and_unsupported_files_are_explained(
    chat: Chat, app: App
) -> None:
    await at_story(chat)
    await chat.send(STORY)
    screen = await chat.send(media=[Attachment(b"MZ\x90\x00 an exe")])
    assert "I cannot accept that kind of file." in screen
    screen = await chat.send(media=[Attachment(None, "x.jpg", problem=MediaProblem.UNREADABLE)])
    assert "I could not read that file." in screen
    big = b"\xff\xd8\xff" + b"\x00" * (app.services.media.max_bytes)
    screen = await chat.send(media=[Attachment(big, "big.jpg")])
    assert "That file is too large: the limit is 20 MB." in screen
    screen = await chat.send(media=[Attachment(b"")])
    assert "That file is empty." in screen
    assert "Please check your report" in screen
    assert (await data(app, chat))["story"] == STORY


async def test_a_file_sent_at_another_step_is_kept_as_evidence(chat: Chat) -> None:
    await at_story(chat)
    screen = await chat.send(media=[Attachment(b"\xff\xd8\xff\xe0 jpeg")])
    assert "I have kept the file(s) with your evidence." in screen
    assert "Tell us what happened" in screen
    await chat.send(STORY)
    assert "Evidence: 1 file(s)" in chat.screen


async def test_one_conversation_failing_does_not_touch_another(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = Chat(app, sender="alice"), Chat(app, sender="bob")
    await alice.send("bahasa en")
    await bob.send("bahasa en")
    await alice.send("report")
    await bob.send("report")

    report = BY_NAME[Flow.REPORT]
    original = report.handle

    async def broken(turn: object) -> None:
        if getattr(turn, "conv").sender == "alice":  # noqa: B009
            raise RuntimeError("boom")
        await original(turn)  # type: ignore[arg-type]

    monkeypatch.setattr(report, "handle", broken)
    screen = await alice.send("4")
    assert "Sorry, something went wrong on our side." in screen
    assert "May they contact you" in await bob.send("4")
    monkeypatch.undo()
    assert "May they contact you" in await alice.send("4")


async def test_a_members_word_alone_is_a_residents_word(chat: Chat) -> None:
    await chat.send("bahasa en")
    screen = await chat.send("terima kasih")
    assert "You're welcome." in screen and "What would you like to do?" in screen
    screen = await chat.send("anggota")
    assert "Not allowed" not in screen and "What would you like to do?" in screen
    assert "Not allowed" in await chat.send("/anggota")  # typed as a command: refused
    assert "Not allowed" in await chat.send("ack BTN-2026-00001")


async def test_thanks_and_greetings_in_a_report_are_answered_and_the_question_stands(
    chat: Chat, app: App
) -> None:
    await chat.dialog([*START_IN_ENGLISH, *ANONYMOUS_TO_STORY[:3]])
    before = await data(app, chat)
    screen = await chat.send("makasih kak 🙏")
    assert "You're welcome." in screen and "Is a child (under 18) involved?" in screen
    screen = await chat.send("halo min")
    assert "Hello!" in screen and "Is a child (under 18) involved?" in screen
    assert await data(app, chat) == before
