"""Awareness broadcasts: the checks of a draft (text or library message, areas, language,
image), whom it reaches and what they read, storing it (now or at a time) for the scheduler to
send, and then how far it got, or cancelling it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import library
from handlers.conversation.turn import Services, Work
from handlers.i18n import N_
from handlers.usecases import NOT_ALLOWED, Actor, Refused, may
from storage import broadcasts
from storage.media import MediaProblem, MediaRejected
from storage.models import Broadcast, BroadcastState, Member, OutboxState, Role

MIN_TEXT, MAX_TEXT = 20, 3000
IMAGES = {"image/jpeg", "image/png", "image/webp"}


@dataclass(frozen=True)
class Draft:
    """A broadcast being composed: its own text or a library message (by id), the areas and
    the language of the subscribers it is for (none: all), and an image already in the media
    store."""

    text: str = ""
    library_id: str | None = None
    areas: list[str] = field(default_factory=list)
    language: str | None = None
    image_sha256: str | None = None


def texts_of(services: Services, text: str, library_id: str | None) -> dict[str, str]:
    """The message in each configured language."""
    found = library.get(library_id) if library_id else None
    languages = services.bot.languages
    if found is None:
        return dict.fromkeys(languages, text)
    return {lang: found.texts.get(lang) or next(iter(found.texts.values())) for lang in languages}


def check_text(text: str) -> None:
    """A broadcast's own text has MIN_TEXT to MAX_TEXT characters."""
    if not MIN_TEXT <= len(text) <= MAX_TEXT:
        raise Refused(
            N_("The message must have {minimum} to {maximum} characters."),
            "the text must have {minimum} to {maximum} characters",
            minimum=MIN_TEXT,
            maximum=MAX_TEXT,
        )


def check(services: Services, draft: Draft) -> None:
    """The draft names a library message that exists, configured areas and language, and
    (without a library message) a text of the right length."""
    if draft.library_id is not None and library.get(draft.library_id) is None:
        raise Refused(
            "no message {id!r} in the library (see `sigap broadcast library`)", id=draft.library_id
        )
    unknown = [a for a in draft.areas if a not in services.intake.area_keys]
    if unknown:
        raise Refused(
            "unknown area(s) {unknown}; areas are {areas}",
            unknown=unknown,
            areas=services.intake.area_keys,
        )
    if draft.language is not None and draft.language not in services.bot.languages:
        raise Refused("language must be one of {languages}", languages=services.bot.languages)
    if draft.library_id is None:
        check_text(draft.text)


def check_image(services: Services, data: bytes) -> None:
    """A JPEG, PNG or WebP image within the media size limit."""
    try:
        content_type = services.media.check(data)
    except MediaRejected as error:
        if error.problem is MediaProblem.TOO_LARGE:
            limit = services.media.max_bytes / (1024 * 1024)
            raise Refused(
                N_("The image is larger than the {limit:g} MB limit."),
                "larger than the {limit:g} MB limit",
                limit=limit,
            ) from None
        if error.problem is MediaProblem.EMPTY:
            raise Refused(
                N_("The file is empty, not an image."), "an empty file, not an image"
            ) from None
        content_type = None
    if content_type not in IMAGES:
        raise Refused(N_("This is not a JPEG, PNG or WebP image."), "not a JPEG, PNG or WebP image")


@dataclass(frozen=True)
class Reach:
    """How many subscribers a draft reaches now, and the text each language reads."""

    count: int
    texts: dict[str, str]


async def reach(work: Work, draft: Draft) -> Reach:
    count = await broadcasts.audience_size(work.session, draft.areas, draft.language)
    return Reach(count, texts_of(work.services, draft.text, draft.library_id))


def local_time(services: Services, moment: datetime) -> str:
    """A moment as the task force reads it: local, to the minute (2026-12-01 08:00)."""
    return moment.astimezone(services.bot.zone).strftime("%Y-%m-%d %H:%M")


async def create(work: Work, draft: Draft, due: datetime, *, by: Actor) -> Broadcast:
    """Stores the broadcast, due at `due` (now or later): the scheduler sends it. Only
    coordinators and admins broadcast."""
    if not may(by, Role.COORDINATOR):
        raise Refused(NOT_ALLOWED)
    return await broadcasts.create(
        work.session,
        text=draft.text,
        library_id=draft.library_id,
        image_sha256=draft.image_sha256,
        areas=draft.areas,
        language=draft.language,
        due_at=due,
        at=work.now,
        created_by=by.id if isinstance(by, Member) else None,
    )


async def find(session: AsyncSession, broadcast_id: int) -> Broadcast:
    found = await broadcasts.get(session, broadcast_id)
    if found is None:
        raise Refused("no broadcast #{id}", id=broadcast_id)
    return found


DELIVERED = (OutboxState.SENT, OutboxState.DELIVERED, OutboxState.READ)


@dataclass(frozen=True)
class Progress:
    """How far a broadcast got: messages sent (or delivered, or read), failed, and among the
    failed those lost because the resident blocked the bot or opted out (now unsubscribed)."""

    sent: int
    failed: int
    blocked: int

    @property
    def settled(self) -> int:
        return self.sent + self.failed


async def progress(session: AsyncSession, broadcast_id: int) -> Progress:
    counts = await broadcasts.progress(session, broadcast_id)
    return Progress(
        sent=sum(counts.get(s, 0) for s in DELIVERED),
        failed=counts.get(OutboxState.FAILED, 0),
        blocked=await broadcasts.blocked_count(session, broadcast_id),
    )


async def cancel(work: Work, broadcast_id: int) -> int:
    """Stops a scheduled or running broadcast; returns how many messages will not be sent."""
    found = await find(work.session, broadcast_id)
    if found.state in (BroadcastState.DONE, BroadcastState.CANCELLED):
        raise Refused("broadcast #{id} is already {state}", id=broadcast_id, state=found.state)
    return await broadcasts.cancel(work.session, found, work.now)
