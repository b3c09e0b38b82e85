"""The members' side of the bot: joining with an invitation code, inviting, the member list,
duty, and acting on reports (acknowledge, details). Every action checks the member's role."""

from __future__ import annotations

import math
from datetime import timedelta

from handlers import alerts, roster
from handlers.i18n import N_
from handlers.messages import Document
from handlers.text import Word
from handlers.turn import Turn
from storage import members, outbox, reports
from storage.members import at_least
from storage.models import Member, MessageKind, Role

# What each command needs; /gabung is for anyone with a code.
NEEDS = {
    Word.INVITE: Role.COORDINATOR,
    Word.MEMBERS: Role.COORDINATOR,
    Word.ROSTER: Role.MEMBER,
    Word.ON_DUTY: Role.MEMBER,
    Word.OFF_DUTY: Role.MEMBER,
    Word.ACK: Role.MEMBER,
    Word.DETAIL: Role.MEMBER,
}
MEMBER_WORDS = set(NEEDS) | {Word.JOIN}

# Wrong codes from one chat: after this many, each try waits longer (1, 2, 4... minutes).
FREE_TRIES = 3
NOT_ALLOWED = N_("Not allowed: this is for task-force members.")


def who(turn: Turn) -> str:
    """The chat or person acting, as the channel knows them."""
    return turn.inbound.user or turn.conv.sender


def stranger(turn: Turn) -> str:
    """Someone refused, as the timeline names them: by the conversation's key, never by the
    number or chat id (a stranger's phone number has no place in a report)."""
    return f"not a member (conversation #{turn.conv.id})"


async def member_of(turn: Turn) -> Member | None:
    return await members.by_address(turn.session, turn.conv.channel, who(turn))


async def command(turn: Turn, word: Word, argument: str) -> None:
    """Runs a member's command, or refuses it (a refused press on a report is recorded)."""
    if word is Word.JOIN:
        await join(turn, argument)
        return
    member = await member_of(turn)
    if member is None or not at_least(member.role, NEEDS[word]):
        if word in (Word.ACK, Word.DETAIL) and argument:
            await alerts.refuse(turn.session, argument, stranger(turn), turn.conv.channel, turn.now)
        turn.say(NOT_ALLOWED)
        return
    if word is Word.INVITE:
        await invite(turn, argument)
    elif word is Word.MEMBERS:
        await listing(turn)
    elif word is Word.ROSTER:
        await roster.show(turn)
    elif word is Word.ON_DUTY:
        await roster.take_duty(turn, member, argument)
    elif word is Word.OFF_DUTY:
        await roster.leave_duty(turn, member)
    elif word is Word.ACK:
        await acknowledge(turn, member, argument)
    else:
        await detail(turn, member, argument)


async def join(turn: Turn, code: str) -> None:
    """/gabung KODE: links this chat to the member the code was made for."""
    wait = retry_wait(turn)
    if wait is not None:
        turn.say(
            N_("Too many wrong codes. Please try again in {minutes} minute(s)."),
            minutes=max(1, math.ceil(wait.total_seconds() / 60)),
        )
        return
    invitation = await members.invitation(turn.session, code) if code else None
    problem = None
    if invitation is None:
        problem = N_("That code is not valid. Check it and send /gabung CODE again.")
    elif invitation.used_at is not None:
        problem = N_("That code has already been used. Ask your coordinator for a new one.")
    elif invitation.expires_at <= turn.now:
        problem = N_("That code has expired. Ask your coordinator for a new one.")
    if problem is not None or invitation is None:
        turn.conv.join_failures += 1
        turn.conv.join_failed_at = turn.now
        turn.say(problem or N_("That code is not valid."))
        return
    member = await members.add(
        turn.session, invitation.name, invitation.role, agency=invitation.agency, at=turn.now
    )
    if not await members.use(turn.session, invitation, member, turn.now):
        turn.say(N_("That code has already been used. Ask your coordinator for a new one."))
        return
    await members.link(turn.session, member, turn.conv.channel, who(turn))
    await alerts.catch_up(turn.session, turn.services, member, turn.now)
    turn.conv.join_failures = 0
    turn.say(
        N_(
            "Welcome to the task force, {name}. You will get alerts of new reports when you "
            "are on duty. /piket shows who is on duty; /siaga puts you on duty."
        ),
        name=member.name,
    )


def retry_wait(turn: Turn) -> timedelta | None:
    failures, last = turn.conv.join_failures, turn.conv.join_failed_at
    if failures < FREE_TRIES or last is None:
        return None
    ready = last + timedelta(minutes=2 ** (failures - FREE_TRIES))
    return ready - turn.now if ready > turn.now else None


ROLE_WORDS = {
    "anggota": Role.MEMBER,
    "member": Role.MEMBER,
    "koordinator": Role.COORDINATOR,
    "coordinator": Role.COORDINATOR,
    "admin": Role.ADMIN,
}


async def invite(turn: Turn, argument: str) -> None:
    """/undang [koordinator|admin] NAME: a one-time code for a new member. Only an admin
    invites coordinators and admins."""
    first, _, rest = argument.partition(" ")
    role = ROLE_WORDS.get(first.lower())
    name = rest.strip() if role else argument.strip()
    role = role or Role.MEMBER
    if not name:
        turn.say(N_("Write the new member's name: /undang Name (or /undang koordinator Name)."))
        return
    inviter = await member_of(turn)
    if role is not Role.MEMBER and (inviter is None or inviter.role is not Role.ADMIN):
        turn.say(N_("Only an admin can invite coordinators and admins."))
        return
    hours = turn.services.alerts.invite_hours
    made = await members.invite(
        turn.session, name, role, at=turn.now, valid_for=timedelta(hours=hours)
    )
    turn.say(
        N_(
            "Invitation for {name}: code {code}, valid for {hours:g} hours. They send "
            "/gabung {code} to this bot on Telegram, or GABUNG {code} on WhatsApp."
        ),
        name=made.name,
        code=made.code,
        hours=hours,
    )


async def listing(turn: Turn) -> None:
    """/anggota: the members, their role and agency, and who is on duty."""
    on_duty = await roster.duty_now(turn.session, turn.services, turn.now)
    everyone = await members.active(turn.session)
    addresses = await members.addresses(turn.session, [m.id for m in everyone if m.id])
    channels: dict[int, set[str]] = {}
    for address in addresses:
        channels.setdefault(address.member_id, set()).add(address.channel.value)
    lines = [turn.t(N_("Members ({count}):"), count=len(everyone))]
    for m in everyone:
        mark = " *" if m.id in on_duty else ""
        reach = ", ".join(sorted(channels.get(m.id or 0, set()))) or "-"
        lines.append(f"• {m.name}{mark} — {m.role}, {m.agency or '-'} ({reach})")
    lines.append(turn.t(N_("* on duty now")))
    turn.tell("\n".join(lines))


async def acknowledge(turn: Turn, member: Member, reference: str) -> None:
    """ACK REF: takes the report (see alerts.acknowledge)."""
    result = await alerts.acknowledge(
        turn.session, turn.services, reference, member, turn.conv.channel, turn.now
    )
    if result is None:
        turn.say(N_("There is no report {reference}."), reference=reference)
    elif result.first:
        turn.say(
            N_(
                "Thank you, {name}: report {reference} is yours. The reporter has been told "
                "it is being handled."
            ),
            name=member.name,
            reference=result.report.reference,
        )
    else:
        turn.say(
            N_("Report {reference} was already acknowledged by {name} at {time}."),
            reference=result.report.reference,
            name=result.by,
            time=roster.when(turn, result.at),
        )


async def detail(turn: Turn, member: Member, reference: str) -> None:
    """DETAIL REF: the full report, with its evidence; in a group, sent to the member
    privately instead."""
    report = await reports.by_reference(turn.session, reference)
    if report is None:
        turn.say(N_("There is no report {reference}."), reference=reference)
        return
    text, files = await alerts.details(turn.session, turn.services, report, turn.conv.language)
    if turn.inbound.group:
        assert member.id is not None
        for address in await members.addresses(turn.session, [member.id]):
            await outbox.enqueue(
                turn.session,
                address.channel,
                address.address,
                MessageKind.NOTICE,
                text,
                at=turn.now,
                priority=alerts.NOTICE_PRIORITY,
                report_id=report.id,
                member_id=member.id,
            )
        turn.say(N_("{name}, I sent you the details privately."), name=member.name)
        return
    turn.tell(text)
    media = turn.services.media
    for file in files:
        name = file.original_name or f"{file.sha256[:12]}"
        turn.out.replies.append(Document(str(media.path(file.sha256)), name, file.content_type))
