"""What the task force does, written once for every door: the bot's commands, the `sigap`
command line and (later) the dashboard call these use cases and only render what they return.

A use case is a plain async function. It takes what it needs (a session in the caller's
transaction, the services, the time, and who acts where the role matters), returns a dataclass,
or raises `Refused`. It never asks a question and knows no chat, click or HTTP:

- `membership`: inviting, the member list, adding, finding, removing, changing a role;
- `duty`: who is on duty (the roster view), taking and leaving duty;
- `broadcasting`: checking a broadcast's draft, whom it reaches, storing it.
"""

from __future__ import annotations

import getpass
from typing import TypeAlias

from handlers.i18n import N_
from storage.members import at_least
from storage.models import Member, Role

NOT_ALLOWED = N_("Not allowed: this is for task-force members.")


class Operator:
    """The operator at the server's command line: they hold the database, so every action is
    theirs to take. A member acting in a chat (or the dashboard) is a `Member` instead."""

    @property
    def login(self) -> str:
        """Their login name on the server, for the audit of what they looked at."""
        try:
            return getpass.getuser()
        except (KeyError, OSError):  # no name for this user id (a bare container)
            return "unknown"

    def __repr__(self) -> str:
        return "OPERATOR"


OPERATOR = Operator()
Actor: TypeAlias = "Member | Operator"


def may(actor: Actor, role: Role) -> bool:
    """Whether the actor holds at least that role (the operator holds every role)."""
    return isinstance(actor, Operator) or at_least(actor.role, role)


class Refused(Exception):
    """A use case that cannot be carried out. `message` (a catalog text, filled with `values`)
    is what a member is told in their language; `str()` is the operator's plain English, which
    is the same text unless the operator is told it in other words."""

    def __init__(self, message: str, operator: str | None = None, /, **values: object) -> None:
        self.message, self.values = message, values
        text = operator or message
        super().__init__(text.format(**values) if values else text)
