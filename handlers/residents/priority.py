"""How urgent a report is, from what the resident answered."""

from __future__ import annotations

from collections.abc import Collection

from handlers.risk import Level
from storage.models import ChildInvolved, Priority, RedFlag, Urgency

# Flags that on their own mean a person may already be under someone else's control.
CONTROL_FLAGS = frozenset(
    {RedFlag.DOCUMENTS_HELD, RedFlag.CONTACT_CUT_OFF, RedFlag.LIE_TO_OFFICIALS}
)
# With this many red flags an offer is very likely trafficking, whichever they are.
MANY_FLAGS = 3


def priority(
    urgency: Urgency,
    child_involved: ChildInvolved,
    red_flags: Collection[RedFlag],
    risk: Level = Level.LOW,
) -> Priority:
    """- urgent: someone is in danger now, is leaving within 48 hours, or is abroad and needs
      help (the answers that also show the emergency contacts at once);
    - high: a child may be involved (yes, or not known), or a flag of control (documents
      held, contact cut off, told to lie to officials), or at least three red flags, or a high
      risk score (handlers/risk.py: the answers and the words of the story together);
    - normal: everything else.
    The risk score only ever raises a report to high: it never lowers one, and never makes one
    urgent (urgency is what the resident said about someone's safety now).
    """
    if urgency is not Urgency.NONE:
        return Priority.URGENT
    if child_involved is not ChildInvolved.NO:
        return Priority.HIGH
    if CONTROL_FLAGS & set(red_flags) or len(set(red_flags)) >= MANY_FLAGS:
        return Priority.HIGH
    if risk is Level.HIGH:
        return Priority.HIGH
    return Priority.NORMAL
