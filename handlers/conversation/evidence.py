"""Files residents send (photos, screenshots, documents): stored in the media store, and a
clear word for each one that cannot be kept."""

from __future__ import annotations

from handlers.conversation.turn import Turn
from handlers.i18n import N_
from storage.media import MediaProblem, MediaRejected, StoredFile

PROBLEMS = {
    MediaProblem.TOO_LARGE: N_("That file is too large: the limit is {max_mb} MB."),
    MediaProblem.UNSUPPORTED: N_(
        "I cannot accept that kind of file. Please send a photo, a PDF or a Word document."
    ),
    MediaProblem.UNREADABLE: N_("I could not read that file. Please try sending it again."),
    MediaProblem.EMPTY: N_("That file is empty."),
}


async def store(turn: Turn) -> list[tuple[StoredFile, str | None]]:
    """The message's files that were stored, with their names; says why any other was not."""
    stored: list[tuple[StoredFile, str | None]] = []
    limit = f"{turn.services.intake.max_media_mb:g}"
    for attachment in turn.inbound.media:
        problem = attachment.problem
        if problem is None and attachment.data is not None:
            try:
                stored.append((await turn.services.media.put(attachment.data), attachment.name))
                continue
            except MediaRejected as rejected:
                problem = rejected.problem
        turn.say(PROBLEMS[problem or MediaProblem.UNREADABLE], max_mb=limit)
    return stored
