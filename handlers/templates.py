"""The WhatsApp templates an operator submits for approval: one per kind of message the bot
sends on its own, each body with its numbered variables and what the code puts in each.

Outside WhatsApp's 24-hour window Twilio sends only an approved template (`[whatsapp.templates]`
maps a kind to its Content SID), filled with the outbox row's `variables`. The bodies are here,
in the catalogs like any text people read, so that `sigap whatsapp templates` prints what to
submit in each language and docs/DEPLOY.md cannot drift from it (tests/test_templates.py also
checks that the variables each kind is queued with are the ones listed here)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.i18n import N_, gettext
from handlers.taskforce.lifecycle import NEWS
from handlers.usecases.relay import NOTICE as RELAY_NOTICE
from storage.models import MessageKind


@dataclass(frozen=True)
class Variable:
    """A template's variable: what the bot puts in it, and a sample value (Twilio asks for
    one with every variable when a template is submitted)."""

    meaning: str
    sample: str


@dataclass(frozen=True)
class Template:
    kind: MessageKind
    when: str  # who gets it, and when (for the operator)
    body: str  # the text to submit (a catalog msgid); {{1}}, {{2}}... are the variables
    variables: tuple[Variable, ...] = ()

    def text(self, language: str) -> str:
        return gettext(language)(self.body)


REFERENCE = Variable("the report's reference", "BTN-2026-00042")
ALERT_VARIABLES = (
    REFERENCE,
    Variable("its priority, in the member's language", "URGENT"),
    Variable("the kind of offer, in the member's language", "Ship crew or fishing boat"),
)

# In the order of MessageKind; the reply, always inside the window, has none.
TEMPLATES = [
    Template(
        MessageKind.ALERT,
        "a member alerted about a new report",
        N_(
            "Sigap: new report {{1}} ({{2}}, {{3}}) needs a member of the task force. Reply "
            "ACK and the reference to take it, DETAIL and the reference for the full report."
        ),
        ALERT_VARIABLES,
    ),
    Template(
        MessageKind.FOLLOWUP,
        "the next members alerted when nobody acknowledged a report in time",
        N_(
            "Sigap: report {{1}} ({{2}}, {{3}}) is still waiting for a member of the task "
            "force. Reply ACK and the reference to take it, DETAIL and the reference for the "
            "full report."
        ),
        ALERT_VARIABLES,
    ),
    Template(
        MessageKind.REPORT_UPDATE,
        "a reporter, when their report changed (acknowledged, closed); it names nothing, for "
        "the lock screen",
        NEWS,
    ),
    Template(
        MessageKind.BROADCAST,
        "a subscribed resident, an awareness broadcast (its image is not sent with a template)",
        N_(
            "Message from the anti-trafficking task force (Gugus Tugas TPPO):\n\n{{1}}\n\n"
            "Reply STOP to receive no more messages."
        ),
        (Variable("the broadcast's text (at most 1000 characters)", "Be careful of..."),),
    ),
    Template(
        MessageKind.NOTICE,
        "a member: the reporter's addition, a reminder of a stale case, an unreachable "
        "colleague, a mark to confirm, an agency's answer, a broadcast's summary, an "
        "identifier many residents check, the details asked for in the group, a test alert",
        N_("Sigap, about {{1}}: {{2}} Write to the bot to read more."),
        (
            Variable(
                "what it is about: a report's reference, an identifier residents check, a "
                "broadcast's number, or TEST (`sigap members test`)",
                "BTN-2026-00042",
            ),
            Variable("the notice itself (at most 200 characters)", "The case waits for you."),
        ),
    ),
    Template(
        MessageKind.REFERRAL,
        "a partner agency reached on WhatsApp, a referred case (the case file, a PDF, cannot "
        "go with a template)",
        N_(
            "Case file {{1}} from the anti-trafficking task force (Gugus Tugas TPPO), referral "
            "#{{2}}. Please reply to this message to receive it."
        ),
        (REFERENCE, Variable("the referral's number", "7")),
    ),
    Template(
        MessageKind.RELAY_NOTICE,
        "a reporter a member wrote to (/balas); the message waits until they answer BUKA",
        RELAY_NOTICE,
    ),
]

BY_KIND = {template.kind: template for template in TEMPLATES}

PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


def placeholders(body: str) -> list[str]:
    """The variables of a body, in the order they appear: ["1", "2", ...]."""
    return PLACEHOLDER.findall(body)


def listing(languages: list[str]) -> str:
    """Every template, as Markdown: what to submit to Twilio for each kind, in each language,
    with its variables and sample values, and the key it goes under in [whatsapp.templates]."""
    out: list[str] = []
    for template in TEMPLATES:
        out += [f"### `{template.kind.value}`", "", f"To {template.when}.", ""]
        for language in languages:
            body = [f"    {line}" if line else "" for line in template.text(language).split("\n")]
            out += [f"Body ({language}):", "", *body, ""]
        if template.variables:
            out.append("Variables:")
            out.append("")
            for number, variable in enumerate(template.variables, start=1):
                out.append(
                    f"- `{{{{{number}}}}}`: {variable.meaning} (sample: `{variable.sample}`)"
                )
        else:
            out.append("No variables.")
        out += ["", f'Config: `{template.kind.value} = "HX..."` in `[whatsapp.templates]`.', ""]
    return "\n".join(out).rstrip("\n") + "\n"
