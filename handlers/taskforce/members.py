"""The members' side of the bot: joining with an invitation code, inviting, the member list,
duty, and acting on reports (acknowledge, details). Every action checks the member's role."""

from __future__ import annotations

import math
from datetime import timedelta

from handlers.conversation.messages import Document
from handlers.conversation.text import Word
from handlers.conversation.turn import Turn
from handlers.i18n import N_, gettext
from handlers.taskforce import alert_texts, alerts, casework, intel, lifecycle, relay, roster
from handlers.taskforce.alert_texts import relay_buttons
from handlers.usecases import NOT_ALLOWED, Refused, audit, duty, membership
from storage import dashboard, members, outbox, reports
from storage.members import at_least
from storage.models import Door, Member, MessageKind, Role

# What each command needs; /gabung is for anyone with a code.
NEEDS = {
    Word.INVITE: Role.COORDINATOR,
    Word.MEMBERS: Role.COORDINATOR,
    Word.ROSTER: Role.MEMBER,
    Word.ON_DUTY: Role.MEMBER,
    Word.OFF_DUTY: Role.MEMBER,
    Word.ACK: Role.MEMBER,
    Word.DETAIL: Role.MEMBER,
    # Case work: any member may ask; who may act on which case is the usecase's to decide.
    Word.CASE: Role.MEMBER,
    Word.PROGRESS: Role.MEMBER,
    Word.NOTE: Role.MEMBER,
    Word.ASSIGN: Role.MEMBER,
    Word.CLOSE: Role.MEMBER,
    Word.REOPEN: Role.MEMBER,
    Word.RELAY: Role.MEMBER,  # and only on a report of theirs (usecases/relay.py may_relay)
    Word.MARK: Role.MEMBER,  # any member marks; a coordinator confirms (usecases/intel.py)
    Word.CONFIRM: Role.COORDINATOR,
    Word.INTEL: Role.MEMBER,
    Word.LOGIN: Role.MEMBER,  # a one-time link to the dashboard
}
MEMBER_WORDS = set(NEEDS) | {Word.JOIN}
# Words of flows for members only (handlers/taskforce/broadcast.py, referral.py).
ONLY_MEMBERS = MEMBER_WORDS | {Word.BROADCAST, Word.REFER, Word.REFERRALS}

# Wrong codes from one chat: after this many, each try waits longer (1, 2, 4... minutes).
FREE_TRIES = 3


def who(turn: Turn) -> str:
    """The chat or person acting, as the channel knows them."""
    return turn.inbound.user or turn.conv.sender


def stranger(turn: Turn) -> str:
    """Someone refused, as the timeline names them: by the conversation's key, never by the
    number or chat id (a stranger's phone number has no place in a report)."""
    return f"not a member (conversation #{turn.conv.id})"


async def member_of(turn: Turn) -> Member | None:
    return await members.by_address(turn.session, turn.conv.channel, who(turn))


async def acts(turn: Turn, word: Word, argument: str, text: str) -> bool:
    """Whether a member's word acts: always for a member, and /gabung for anyone; for anyone
    else only when typed as a command (/ack) or with what it acts on (ACK BTN-...), and is
    then refused. "Terima" or "anggota" alone are a resident's words."""
    if word is Word.JOIN or argument or text.lstrip().startswith("/"):
        return True
    return await member_of(turn) is not None


async def command(turn: Turn, word: Word, argument: str) -> None:
    """Runs a member's command, or refuses it (a refused press on a report is recorded)."""
    if word is Word.JOIN:
        await join(turn, argument)
        return
    member = await member_of(turn)
    if member is None or not at_least(member.role, NEEDS[word]):
        if (
            word in (Word.ACK, Word.DETAIL, Word.RELAY, Word.MARK) or word in casework.WORDS
        ) and argument:
            reference = argument.split()[0]
            await lifecycle.refuse(turn, reference, stranger(turn), turn.conv.channel)
        turn.say(NOT_ALLOWED)
        return
    try:
        if word is Word.INVITE:
            await invite(turn, member, argument)
        elif word is Word.MEMBERS:
            await listing(turn)
        elif word is Word.ROSTER:
            await show_roster(turn)
        elif word is Word.ON_DUTY:
            await take_duty(turn, member, argument)
        elif word is Word.OFF_DUTY:
            await leave_duty(turn, member)
        elif word is Word.ACK:
            await acknowledge(turn, member, argument)
        elif word in casework.WORDS:
            await casework.command(turn, member, word, argument)
        elif word is Word.RELAY:
            await relay.begin(turn, member, argument)
        elif word in intel.WORDS:
            await intel.command(turn, member, word, argument)
        elif word is Word.LOGIN:
            await login(turn, member)
        else:
            await detail(turn, member, argument)
    except Refused as refused:
        turn.say(refused.message, **refused.values)


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
    await alerts.catch_up(turn, member)
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


async def invite(turn: Turn, inviter: Member, argument: str) -> None:
    """/undang [koordinator|admin] NAME: a one-time code for a new member (see
    membership.invite)."""
    first, _, rest = argument.partition(" ")
    role = ROLE_WORDS.get(first.lower())
    name = rest.strip() if role else argument.strip()
    if not name:
        turn.say(N_("Write the new member's name: /undang Name (or /undang koordinator Name)."))
        return
    made = await membership.invite(turn, name, role or Role.MEMBER, by=inviter)
    turn.say(
        N_(
            "Invitation for {name}: code {code}, valid for {hours:g} hours. They send "
            "/gabung {code} to this bot on Telegram, or GABUNG {code} on WhatsApp."
        ),
        name=made.name,
        code=made.code,
        hours=made.hours,
    )


async def listing(turn: Turn) -> None:
    """/anggota: the members, their role and agency, and who is on duty."""
    everyone = await membership.listing(turn)
    lines = [turn.t(N_("Members ({count}):"), count=len(everyone))]
    for listed in everyone:
        m = listed.member
        mark = " *" if listed.on_duty else ""
        reach = ", ".join(sorted({a.channel.value for a in listed.addresses})) or "-"
        lines.append(f"• {m.name}{mark} — {m.role}, {m.agency or '-'} ({reach})")
    lines.append(turn.t(N_("* on duty now")))
    turn.tell("\n".join(lines))


async def show_roster(turn: Turn) -> None:
    """/piket: stores nothing; who is on duty now and who is next."""
    view = await duty.view(turn)
    if view.on_duty:
        lines = [turn.t(N_("On duty now: {names}"), names=roster.names(view.on_duty))]
    else:
        lines = [
            turn.t(
                N_("Nobody is on duty now: alerts go to the coordinators ({names})."),
                names=roster.names(view.coordinators),
            )
        ]
    if view.upcoming is not None:
        lines.append(
            turn.t(
                N_("Next: {time}, {names}"),
                time=roster.when(turn, view.upcoming.at),
                names=roster.names(view.people(view.upcoming.member_ids)),
            )
        )
    turn.tell("\n".join(lines))


async def take_duty(turn: Turn, member: Member, argument: str) -> None:
    """/siaga [hours]: stores an on-duty override from now."""
    # Anything but a number of hours is refused as 0 is.
    hours = int(argument) if argument.isdigit() else 0 if argument else duty.DEFAULT_HOURS
    until = await duty.take(turn, member, hours)
    turn.say(N_("You are on duty until {time}."), time=roster.when(turn, until))


async def leave_duty(turn: Turn, member: Member) -> None:
    """/selesai: stores an off-duty override until the end of the member's current duty."""
    await duty.leave(turn, member)
    turn.say(N_("You are off duty now. Thank you."))


async def acknowledge(turn: Turn, member: Member, reference: str) -> None:
    """ACK REF: takes the report (see lifecycle.acknowledge)."""
    result = await lifecycle.acknowledge(turn, reference, member, turn.conv.channel)
    if result is None:
        turn.say(N_("There is no report {reference}."), reference=reference)
    elif result.first:
        thanks = turn.t(
            N_(
                "Thank you, {name}: report {reference} is yours. The reporter has been told "
                "it is being handled."
            ),
            name=member.name,
            reference=result.report.reference,
        )
        if relay_buttons(gettext(turn.conv.language), result.report):
            thanks += "\n" + turn.t(
                N_("The reporter agreed to be contacted: /balas {reference} writes to them."),
                reference=result.report.reference,
            )
        # The case's actions come with the thanks (in a group, only the thanks).
        await casework.menu(turn, member, result.report, thanks)
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
    text, files = await alert_texts.details(turn, report, turn.conv.language)
    # In a group the details go to the member privately, without the files.
    seen = audit.seen_of(report, evidence=bool(files) and not turn.inbound.group)
    await audit.viewed(turn, report, member, Door.BOT, seen, "details")
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
                variables={"1": report.reference, "2": text[:200]},
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


async def login(turn: Turn, member: Member) -> None:
    """/masuk: a one-time link to the dashboard, bound to this member, valid a few minutes;
    only in a private chat (the link is theirs alone)."""
    url = turn.services.dashboard_url
    if not url:
        turn.say(N_("The dashboard is not enabled on this server."))
        return
    if turn.inbound.group:
        turn.say(N_("Send /masuk to me in a private chat: the link is yours alone."))
        return
    assert member.id is not None
    minutes = turn.services.dashboard_link_minutes
    token = await dashboard.new_link(turn.session, member.id, turn.now, minutes)
    turn.say(
        N_(
            "Your link to the dashboard, valid for {minutes:g} minutes and only once (do not "
            "share it): {url}"
        ),
        minutes=minutes,
        url=f"{url}/masuk/{token}",
    )
