"""What `sigap referrals` does: the referrals of reports to partner agencies, and the agency's
answer recorded by the operator (the use cases in handlers/usecases/referral.py, as OPERATOR)."""

from __future__ import annotations

from bot.admin import table
from bot.app import App
from handlers.usecases import OPERATOR
from handlers.usecases import referral as usecase
from storage.models import ReferralState


async def listing(app: App, *, every: bool, reference: str | None) -> str:
    async with app.services.work(write=False) as work:
        listed = await usecase.listing(work, OPERATOR, open_only=not every, reference=reference)
    if not listed:
        return "no referrals" if every else "no open referrals (--all shows the others)"
    zone = app.services.bot.zone
    rows = [
        [
            str(r.id),
            report.reference,
            r.agency,
            r.agency_kind,
            f"{r.channel}:{r.address}",
            r.state,
            "override" if r.override_reason else "yes" if r.with_identity else "no",
            r.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            (r.reason or "")[:60],
        ]
        for r, report in listed
    ]
    header = ["ID", "REPORT", "AGENCY", "KIND", "SENT TO", "STATE", "IDENTITY", "SENT", "REASON"]
    return table(header, rows)


async def change(app: App, referral_id: int, to: ReferralState, reason: str | None) -> str:
    async with app.services.work() as work:
        referral, report = await usecase.change(work, referral_id, to, by=OPERATOR, reason=reason)
    return f"referral #{referral.id} of {report.reference} to {referral.agency}: {referral.state}"
