"""The emergency contacts as a resident reads them: at once when someone is in danger, in the
help, and after a report nobody could be told about yet."""

from __future__ import annotations

from handlers.conversation.turn import Turn
from handlers.i18n import N_


def emergency_text(turn: Turn, abroad: bool = False) -> str:
    """The configured contacts in the resident's language. `abroad`: for someone already
    abroad, only the numbers that can be called from there, and the embassy."""
    language, default = turn.conv.language, turn.services.bot.default_language
    contacts = turn.services.intake.emergency_contacts
    if abroad:
        lines = [turn.t(N_("If someone is in danger, call now. From abroad:"))]
        for contact in contacts:
            if contact.abroad_number:
                name = contact.name.text(language, default)
                lines.append(f"• {name}: {contact.abroad_number}")
        lines.append(
            turn.t(N_("Or go to the nearest Indonesian embassy or consulate (KBRI or KJRI)."))
        )
        return "\n".join(lines)
    lines = [turn.t(N_("If someone is in danger, call now:"))]
    for contact in contacts:
        note = f" ({contact.note.text(language, default)})" if contact.note else ""
        lines.append(f"• {contact.name.text(language, default)}: {contact.number}{note}")
    return "\n".join(lines)
