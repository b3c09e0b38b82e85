"""Awareness broadcasts: coordinators compose one in the bot (`/siaran`), the scheduler starts
it when due (one outbox row per subscriber) and tells the coordinator how it went."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from handlers import library
from handlers.conversation import evidence
from handlers.conversation.messages import Document, Expect, Option
from handlers.conversation.text import Word
from handlers.conversation.turn import Flow, Held, Services, State, Turn
from handlers.i18n import N_, gettext
from handlers.taskforce.members import member_of
from handlers.usecases import NOT_ALLOWED, Refused, broadcasting
from handlers.usecases.broadcasting import Draft
from storage import broadcasts, members, outbox
from storage.members import at_least
from storage.models import Broadcast, BroadcastState, MessageKind, Role


class Step(StrEnum):
    TEXT = "text"
    AREAS = "areas"
    LANGUAGE = "language"
    PREVIEW = "preview"
    WHEN = "when"


class BroadcastDraft(State):
    """The draft as the conversation stores it so far."""

    text: str = ""  # written here, or
    library: str | None = None  # the id of a library message
    image: str | None = None  # sha256 in the media store
    areas: list[str] = Field(default_factory=list)  # none: every area
    language: str | None = None  # None: every language

    def draft(self) -> Draft:
        return Draft(self.text, self.library, self.areas, self.language, self.image)


EVERY = "every"
NOW, LATER, CANCEL = "now", "later", "cancel"
DECISIONS = [
    Option(NOW, N_("Send now")),
    Option(LATER, N_("Schedule for a time")),
    Option(CANCEL, N_("Cancel")),
]


class BroadcastFlow:
    """Stores the draft in the conversation step by step; on Send or Schedule, stores the
    broadcast. Every step checks that the sender is still a coordinator."""

    name = Flow.BROADCAST
    words = frozenset({Word.BROADCAST})
    holds: Held | None = None
    interrupts = False

    async def allowed(self, turn: Turn) -> bool:
        member = await member_of(turn)
        if member is None or not at_least(member.role, Role.COORDINATOR):
            turn.reset()
            turn.say(NOT_ALLOWED)
            return False
        return True

    async def start(self, turn: Turn, argument: str = "") -> None:
        if not await self.allowed(turn):
            return
        turn.begin(Flow.BROADCAST, Step.TEXT, BroadcastDraft())
        await self.resume(turn)

    async def cancel(self, turn: Turn) -> None:
        turn.reset()
        turn.say(N_("Cancelled."))

    def writing(self, turn: Turn) -> bool:
        return turn.step in (Step.TEXT, Step.WHEN)

    def library_options(self, turn: Turn) -> list[Option]:
        return [Option(m.id, m.title(turn.conv.language)) for m in library.messages()]

    def area_options(self, turn: Turn) -> list[Option]:
        language, default = turn.conv.language, turn.services.bot.default_language
        areas = turn.services.intake.areas
        return [Option(str(i), a.text(language, default)) for i, a in enumerate(areas)]

    def language_options(self, turn: Turn) -> list[Option]:
        return [Option(EVERY, N_("Every language"))] + [
            Option(code, code) for code in turn.services.bot.languages
        ]

    async def resume(self, turn: Turn) -> None:
        step = turn.step
        if step == Step.TEXT:
            turn.choose(
                turn.t(N_("Write the awareness message, or choose one from the library:")),
                self.library_options(turn),
                also=Expect.TEXT,
            )
        elif step == Step.AREAS:
            turn.choose(
                turn.t(N_("For which areas? Choose some, then Done (none chosen: every area).")),
                self.area_options(turn),
                multiple=True,
            )
        elif step == Step.LANGUAGE:
            turn.choose(
                turn.t(N_("For subscribers of which language?")), self.language_options(turn)
            )
        elif step == Step.PREVIEW:
            await self.preview(turn)
        else:
            turn.prompt(
                turn.t(N_("When should it go out? Local time, e.g. 2026-12-01 08:00.")),
            )

    async def handle(self, turn: Turn) -> None:
        if not await self.allowed(turn):
            return
        step, state = turn.step, turn.state(BroadcastDraft)
        if step == Step.TEXT:
            await self._text(turn)
        elif step == Step.AREAS:
            picked = turn.picked(self.area_options(turn), multiple=True)
            if picked is not None:
                state.areas = [turn.services.intake.areas[int(v)].key for v in picked]
                turn.go(Flow.BROADCAST, Step.LANGUAGE)
            await self.resume(turn)
        elif step == Step.LANGUAGE:
            picked = turn.picked(self.language_options(turn))
            if picked is not None:
                state.language = None if picked[0] == EVERY else picked[0]
                turn.go(Flow.BROADCAST, Step.PREVIEW)
            await self.resume(turn)
        elif step == Step.PREVIEW:
            await self._decide(turn)
        else:
            await self._when(turn)

    async def _text(self, turn: Turn) -> None:
        state = turn.state(BroadcastDraft)
        if turn.inbound.media:
            images = [
                f
                for f, _name in await evidence.store(turn)
                if f.content_type in broadcasting.IMAGES
            ]
            if images:
                state.image = images[0].sha256
                turn.say(N_("Image kept. Now write the message (or choose one from the library)."))
            elif not turn.out.replies:
                turn.say(N_("Only an image (JPEG, PNG or WebP) can go with a broadcast."))
            await self.resume(turn)
            return
        if turn.inbound.press is not None or (turn.typed() or "").isdigit():
            picked = turn.picked(self.library_options(turn))
            if picked is None:
                await self.resume(turn)
                return
            state.library = picked[0]
        else:
            text = turn.typed() or ""
            try:
                broadcasting.check_text(text)
            except Refused as refused:
                turn.say(refused.message, **refused.values)
                await self.resume(turn)
                return
            state.text = text
        turn.go(Flow.BROADCAST, Step.AREAS)
        await self.resume(turn)

    async def preview(self, turn: Turn) -> None:
        draft = turn.state(BroadcastDraft).draft()
        reached = await broadcasting.reach(turn, draft)
        shown = reached.texts.get(turn.conv.language) or next(iter(reached.texts.values()))
        turn.say(N_("Preview, exactly as residents will see it:"))
        if draft.image_sha256:
            path = str(turn.services.media.path(draft.image_sha256))
            turn.out.replies.append(Document(path, "image", "image/jpeg"))
        turn.tell(shown)
        turn.choose(
            turn.t(N_("It will reach {count} subscriber(s). Send it?"), count=reached.count),
            DECISIONS,
        )

    async def _decide(self, turn: Turn) -> None:
        picked = turn.picked(DECISIONS)
        if picked is None:
            await self.resume(turn)
        elif picked[0] == NOW:
            await self._store(turn, turn.now)
        elif picked[0] == LATER:
            turn.go(Flow.BROADCAST, Step.WHEN)
            await self.resume(turn)
        else:
            turn.reset()
            turn.say(N_("The broadcast was cancelled; nothing was sent."))

    async def _when(self, turn: Turn) -> None:
        text = turn.typed() or ""
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=turn.services.bot.zone)
        if moment is None or moment <= turn.now:
            turn.say(N_("Please give a time in the future, like 2026-12-01 08:00."))
            await self.resume(turn)
            return
        await self._store(turn, moment)

    async def _store(self, turn: Turn, due: datetime) -> None:
        member = await member_of(turn)
        assert member is not None  # allowed() found them in this transaction
        made = await broadcasting.create(turn, turn.state(BroadcastDraft).draft(), due, by=member)
        turn.reset()
        if due <= turn.now:
            turn.say(
                N_("Broadcast #{id} is being sent. I will tell you when it is done."), id=made.id
            )
        else:
            turn.say(
                N_("Broadcast #{id} is scheduled for {time}."),
                id=made.id,
                time=broadcasting.local_time(turn.services, due),
            )


async def start_due(services: Services) -> int:
    """Starts the broadcasts that are due and fans them out, one outbox row per subscriber,
    a chunk a transaction. Returns the rows written."""
    rows = 0
    async with services.db.write() as session:
        await broadcasts.claim_due(session, services.clock())
    while True:
        async with services.db.write() as session:
            sending = await broadcasts.fanning(session)
            if sending is None:
                return rows
            texts = broadcasting.texts_of(services, sending.text, sending.library_id)
            rows += await broadcasts.fan_out_chunk(session, sending, texts, services.clock())


SUMMARY = N_(
    "Broadcast #{id} is done in {minutes} min: {delivered} delivered, {failed} failed, "
    "{blocked} blocked or opted out (now unsubscribed)."
)


async def finish(services: Services) -> list[Broadcast]:
    """Closes the broadcasts whose every message is settled and tells whoever sent them."""
    now = services.clock()
    async with services.db.write() as session:
        done = list(await broadcasts.finishing(session))
        for finished in done:
            assert finished.id is not None
            finished.state, finished.finished_at = BroadcastState.DONE, now
            session.add(finished)
            got = await broadcasting.progress(session, finished.id)
            started = finished.started_at or finished.due_at
            values = {
                "id": finished.id,
                "minutes": max(0, round((now - started).total_seconds() / 60)),
                "delivered": got.sent,
                "failed": got.failed - got.blocked,
                "blocked": got.blocked,
            }
            if finished.created_by is None:
                continue
            for address in await members.addresses(session, [finished.created_by]):
                _ = gettext(services.bot.default_language)
                summary = _(SUMMARY).format(**values)
                await outbox.enqueue(
                    session,
                    address.channel,
                    address.address,
                    MessageKind.NOTICE,
                    summary,
                    at=now,
                    priority=1,
                    variables={"1": f"#{finished.id}", "2": summary[:200]},
                )
    return done
