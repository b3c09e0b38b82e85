"""`sigap reports`: the operator's view of the reports (a table, one report, a CSV export).
An anonymous reporter's chat address is never printed. Showing a report and exporting are
audited (handlers/usecases/audit.py): the operator's login name, the door "cli"."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.app import App
from bot.tables import local, table
from handlers import risk
from handlers.consent import consents as shared_with
from handlers.consent import contact as contact_of
from handlers.intel import indexing
from handlers.usecases import OPERATOR, Refused, audit, erasure
from handlers.usecases import casework as cases
from storage import audit as storage_audit
from storage import casework, intel, members, reports, retention
from storage.casework import OPEN
from storage.media import MediaRejected, StoredFile
from storage.models import Door, Erasure, Outcome, Report, ReportState, Seen

CSV_COLUMNS = [
    "reference",
    "created_at_utc",
    "created_at_local",
    "state",
    "priority",
    "channel",
    "language",
    "anonymous",
    "consent_contact",
    "consent_share_with_police",
    "urgency",
    "affected",
    "child_involved",
    "offer_kind",
    "destination",
    "offer_source",
    "red_flags",
    "recruiter_name",
    "recruiter_agency",
    "recruiter_phones",
    "recruiter_link",
    "story",
    "area",
    "latitude",
    "longitude",
    "evidence_files",
    "additions",
]
# Only with `--with-contact`: the number a reporter agreed to be contacted at, and the chat
# address of one who is not anonymous.
CONTACT_COLUMNS = ["contact_phone", "reporter_chat"]


async def audit_table(
    app: App, *, reference: str | None = None, member: str | None = None, limit: int = 50
) -> str:
    """`sigap audit`: who looked at reporters' contacts, stories and evidence, the newest
    first, in local time."""
    async with app.db.read() as session:
        found = await storage_audit.entries(
            session, reference=reference, member=member, limit=limit
        )
    if not found:
        return "nothing recorded"
    rows = [
        [
            local(app, e.row.at),
            e.row.door,
            e.who,
            e.reference,
            e.row.what,
            e.row.place,
            e.row.reason or "",
        ]
        for e in found
    ]
    return table(["TIME", "DOOR", "WHO", "REPORT", "WHAT", "WHERE", "REASON"], rows)


async def show_report(app: App, *, reference: str) -> str | None:
    async with app.services.work() as work:
        session = work.session
        report = await reports.by_reference(session, reference)
        if report is None or report.id is None:
            return None
        await audit.viewed(work, report, OPERATOR, Door.CLI, audit.seen_of(report), "reports show")
        phones = await reports.recruiter_phones(session, report.id)
        media = await reports.media_of(session, report.id)
        additions = await reports.additions_of(session, report.id)
        events = await reports.timeline(session, report.id)
        assignee = await members.get(session, report.assignee_id) if report.assignee_id else None
        notes = await casework.notes_of(session, report.id)
        linked = (await indexing.links(session, [report.id]))[report.id]
        named = await intel.of_report(session, report.id)
    outcome = f"{report.outcome or '-'}" + (
        f" of {report.duplicate_of}" if report.duplicate_of else ""
    )
    lines = [
        f"{report.reference}  ({report.priority}, {report.state})",
        f"sent:           {local(app, report.created_at)} via {report.channel}",
        f"reporter:       {reporter(app, report)}",
        f"assignee:       {assignee.name if assignee else '-'}; outcome: {outcome}",
        f"urgency:        {report.urgency}",
        f"affected:       {report.affected}; child involved: {report.child_involved}",
        f"offer:          {report.offer_kind} in {report.destination}, via {report.offer_source}",
        f"warning signs:  {', '.join(report.red_flags) or '-'}",
        *risk_lines(risk.of_report(report)),
        f"recruiter:      {report.recruiter_name or '-'}; agency: {report.recruiter_agency or '-'}",
        f"phones:         {', '.join(phones) or '-'}",
        f"link:           {report.recruiter_link or '-'}",
        f"where:          {where(report)}",
        f"identifiers:    {', '.join(f'{i.kind} {i.shown}' for i, _ in named) or '-'}",
        f"linked ({len(linked)}):",
        *(f"  same {link.kind} {link.shown} as {', '.join(link.references)}" for link in linked),
        "",
        report.story,
        "",
        f"evidence ({len(media)}):",
        *(
            f"  {app.services.media.path(m.sha256)}  {m.content_type}, {m.size} bytes"
            f"{', ' + m.original_name if m.original_name else ''}"
            for m in media
        ),
        f"additions ({len(additions)}):",
        *(f"  {local(app, a.created_at)}  {a.text or '(files)'}" for a in additions),
        f"notes ({len(notes)}):",
        *(f"  {local(app, n.created_at)}  {n.author}: {n.text or '(files)'}" for n in notes),
        "timeline:",
        *(
            f"  {local(app, e.at)}  {e.kind}  by {e.actor}"
            f"{' via ' + e.channel if e.channel else ''}{' ' + str(e.detail) if e.detail else ''}"
            for e in events
        ),
    ]
    return "\n".join(lines)


def risk_lines(found: risk.Risk) -> list[str]:
    """The score and every reason, with what found it (handlers/data/indicators.toml)."""
    return [
        f"risk:           {found.level} ({found.points})",
        *(
            f"  +{r.points} {r.label('en')} [{r.indicator}; {r.by}: {r.found}]"
            for r in found.reasons
        ),
    ]


ERASED_BY = {
    Erasure.REPORTER: "they asked to be forgotten",
    Erasure.OPERATOR: "by an admin",
    Erasure.RETENTION: "by the retention rules",
}


def reporter(app: App, report: Report) -> str:
    if report.identity_erased_at is not None:
        by = ERASED_BY[report.identity_erased_by or Erasure.OPERATOR]
        return f"identity erased on {local(app, report.identity_erased_at)} ({by})"
    if report.anonymous:
        return "anonymous"
    consents = []
    if report.consent_contact:
        consents.append(f"may be contacted at {report.contact_phone or '-'}")
    kinds = shared_with(report)
    if kinds:
        consents.append("number may be given to: " + ", ".join(k.value for k in kinds))
    return "; ".join(consents) or "not anonymous, but no consent to contact"


def where(report: Report) -> str:
    if report.latitude is not None and report.longitude is not None:
        place = f"{report.latitude:.5f}, {report.longitude:.5f}"
        return f"{report.area} ({place})" if report.area else place
    return report.area or "-"


async def export_csv(app: App, writer: Any, *, reason: str, with_contact: bool = False) -> None:
    """Every report, one row each, without the reporter's contact unless `with_contact`; each
    report's export is audited with the stated reason, before anything is written (in a short
    transaction of its own: the export's reading does not hold up the service's writers)."""
    async with app.db.read() as session:
        listed = list(reversed(await reports.listing(session)))
    async with app.services.work() as work:
        for report in listed:
            contact = with_contact and any(contact_columns(report))
            seen = [Seen.EXPORT, *([Seen.CONTACT] if contact else [])]
            await audit.viewed(
                work, report, OPERATOR, Door.CLI, seen, "reports export", reason=reason
            )
    writer.writerow(CSV_COLUMNS + (CONTACT_COLUMNS if with_contact else []))
    async with app.db.read() as session:
        for report in listed:
            assert report.id is not None
            contact_cells = contact_columns(report) if with_contact else []
            phones = await reports.recruiter_phones(session, report.id)
            media = await reports.media_of(session, report.id)
            additions = await reports.additions_of(session, report.id)
            writer.writerow(
                [
                    report.reference,
                    report.created_at.isoformat(),
                    local(app, report.created_at),
                    report.state,
                    report.priority,
                    report.channel,
                    report.language,
                    report.anonymous,
                    report.consent_contact,
                    report.consent_share_with_police,
                    report.urgency,
                    report.affected,
                    report.child_involved,
                    report.offer_kind,
                    report.destination,
                    report.offer_source,
                    ";".join(report.red_flags),
                    report.recruiter_name or "",
                    report.recruiter_agency or "",
                    ";".join(phones),
                    report.recruiter_link or "",
                    report.story,
                    report.area or "",
                    "" if report.latitude is None else report.latitude,
                    "" if report.longitude is None else report.longitude,
                    len(media),
                    len(additions),
                    *contact_cells,
                ]
            )


def contact_columns(report: Report) -> list[str]:
    """The CONTACT_COLUMNS of a report: empty where the reporter did not give them."""
    chat = "" if report.anonymous else f"{report.channel}:{report.sender}"
    return [contact_of(report) or "", chat]


# Case work, as the operator (the timeline names them "operator").


async def cases_table(app: App, *, states: Sequence[str], assignee: str | None) -> str:
    """The cases per member: in those states ("open" by default), of one member or all."""
    wanted: list[ReportState] = []
    for state in states or ["open"]:
        wanted += list(OPEN) if state == "open" else [ReportState(state)]
    async with app.services.work(write=False) as work:
        desks = await cases.open_cases(
            work, OPERATOR, states=list(dict.fromkeys(wanted)), assignee=assignee
        )
    rows = [
        [
            desk.assignee.name if desk.assignee else "-",
            r.reference,
            r.state,
            r.outcome or "-",
            r.priority,
            local(app, r.acknowledged_at) if r.acknowledged_at else "-",
        ]
        for desk in desks
        for r in desk.cases
    ]
    if not rows:
        return "no cases"
    header = ["ASSIGNEE", "REFERENCE", "STATE", "OUTCOME", "PRIORITY", "ACKNOWLEDGED"]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    per = ", ".join(
        f"{desk.assignee.name if desk.assignee else 'nobody'} {len(desk.cases)}" for desk in desks
    )
    return "\n".join([*lines, "", f"per member: {per}"])


async def case_note(
    app: App, reference: str, text: str, author: str | None, files: Sequence[Path]
) -> str:
    stored: list[tuple[StoredFile, str | None]] = []
    for path in files:
        try:
            stored.append((await app.services.media.put(path.read_bytes()), path.name))
        except MediaRejected as rejected:
            raise Refused(f"{path}: {rejected.problem.value}") from None
    async with app.services.work() as work:
        writer = None
        if author is not None:
            found = await members.named(work.session, author)
            if len(found) != 1:
                raise Refused(f"no single active member {author!r}")
            writer = found[0]
        note = await cases.note(work, reference, OPERATOR, text, stored, author=writer)
    return f"note {note.id} added to {reference.upper()}" + (
        f" ({len(stored)} file(s))" if stored else ""
    )


async def case_assign(app: App, reference: str, member: str) -> str:
    async with app.services.work() as work:
        done = await cases.assign(work, reference, OPERATOR, member)
    return f"{done.report.reference} is now {done.member.name}'s (they have been told)"


async def case_close(app: App, reference: str, outcome: Outcome, duplicate_of: str | None) -> str:
    async with app.services.work() as work:
        report = await cases.close(work, reference, OPERATOR, outcome, duplicate_of)
    other = f" of {report.duplicate_of}" if report.duplicate_of else ""
    return f"{report.reference} closed: {outcome}{other}; the reporter is told there is news"


async def case_reopen(app: App, reference: str) -> str:
    async with app.services.work() as work:
        report = await cases.reopen(work, reference, OPERATOR)
    return f"{report.reference} reopened: {report.state}"


async def erase_identity(app: App, reference: str, reason: str) -> str:
    """`sigap reports erase`: the reporter's identity of one report, as the operator (the
    audit keeps their login name and the reason)."""
    async with app.services.work() as work:
        done = await erasure.erase_report(
            work, reference, OPERATOR, reason, door=Door.CLI, place="reports erase"
        )
    lines = [
        f"{done.report.reference}: the reporter's identity is erased (their chat address, "
        "contact number and consents); the report stays, anonymised, and nothing can be sent "
        "to them any more.",
        "Their chat is forgotten too."
        if done.chat_forgotten
        else "Another report still names their chat: erase it too, or they can send HAPUS DATA.",
    ]
    return "\n".join(lines)


async def retention_table(app: App, *, limit: int = 14) -> str:
    """`sigap retention`: what `[retention]` keeps, and what its latest runs removed."""
    rules = app.services.retention

    def kept(value: int, unit: str) -> str:
        return f"{value} {unit}" if value else "forever"

    lines = [
        f"drafts and chat bookkeeping: {kept(rules.drafts_days, 'days')}",
        f"a closed case's reporter identity: {kept(rules.closed_identity_months, 'months')}",
        f"a closed case's evidence: {kept(rules.evidence_months, 'months')}",
        "",
    ]
    async with app.db.read() as session:
        found = await retention.runs(session, limit=limit)
    if not found:
        return "\n".join([*lines, "no run yet"])
    rows = [
        [
            run.day.isoformat(),
            local(app, run.started_at),
            local(app, run.finished_at) if run.finished_at else "unfinished",
            str(run.drafts),
            str(run.chats),
            str(run.identities),
            str(run.evidence_files),
        ]
        for run in found
    ]
    header = ["DAY", "STARTED", "FINISHED", "DRAFTS", "CHATS", "IDENTITIES", "EVIDENCE FILES"]
    return "\n".join([*lines, table(header, rows)])
