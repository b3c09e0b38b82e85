"""A resident's own reports, where each stands and its latest news (what the bot's neutral
"there is news for you" points to); never anyone else's."""

from __future__ import annotations

from babel.dates import format_date, format_time

from handlers import labels
from handlers.conversation.turn import Turn
from handlers.i18n import N_
from storage import reports
from storage.models import EventKind, ReportState

# The events that change where a report stands, as its timeline records them.
NEWS = (EventKind.ACKNOWLEDGED, EventKind.STATE_CHANGED, EventKind.REOPENED)


async def show(turn: Turn) -> None:
    """Stores nothing; tells the chat the state of each report it sent, newest first, and
    since when it has stood there."""
    mine = await reports.of_sender(turn.session, turn.conv.channel, turn.conv.sender)
    if not mine:
        turn.say(N_("You have not sent any report from this chat."))
        return
    lines = [turn.t(N_("Your reports:"))]
    zone, language = turn.services.bot.zone, turn.conv.language
    for report in mine:
        assert report.id is not None
        sent = format_date(report.created_at.astimezone(zone), "medium", locale=language)
        state = turn.t(labels.STATE[report.state])
        if report.state == ReportState.CLOSED and report.outcome is not None:
            # What it came to, in a resident's words; never the investigation's details.
            state = turn.t(labels.CLOSED_AS[report.outcome])
        news = await reports.events_of(turn.session, report.id, NEWS)
        if report.state == ReportState.NEW or not news:
            lines.append(
                turn.t(
                    N_("• {reference}, sent {date}: {state}"),
                    reference=report.reference,
                    date=sent,
                    state=state,
                )
            )
            continue
        at = news[-1].at.astimezone(zone)
        lines.append(
            turn.t(
                N_("• {reference}, sent {date}: {state}, since {day} at {time}"),
                reference=report.reference,
                date=sent,
                state=state,
                day=format_date(at, "medium", locale=language),
                time=format_time(at, "HH:mm", locale=language),
            )
        )
    turn.tell("\n".join(lines))
