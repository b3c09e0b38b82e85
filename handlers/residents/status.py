"""A resident's own reports and where each stands; never anyone else's."""

from __future__ import annotations

from babel.dates import format_date

from handlers import labels
from handlers.conversation.turn import Turn
from handlers.i18n import N_
from storage import reports


async def show(turn: Turn) -> None:
    """Stores nothing; tells the chat the state of each report it sent."""
    mine = await reports.of_sender(turn.session, turn.conv.channel, turn.conv.sender)
    if not mine:
        turn.say(N_("You have not sent any report from this chat."))
        return
    lines = [turn.t(N_("Your reports:"))]
    zone = turn.services.bot.zone
    for report in mine:
        sent = format_date(report.created_at.astimezone(zone), "medium", locale=turn.conv.language)
        lines.append(
            turn.t(
                N_("• {reference}, sent {date}: {state}"),
                reference=report.reference,
                date=sent,
                state=turn.t(labels.STATE[report.state]),
            )
        )
    turn.tell("\n".join(lines))
