"""Referrals of reports to partner agencies: storing one, finding them, changing their state."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Referral, ReferralState, Report

OPEN = (ReferralState.SENT, ReferralState.ACCEPTED)


async def add(session: AsyncSession, referral: Referral) -> Referral:
    session.add(referral)
    await session.flush()
    return referral


async def get(session: AsyncSession, referral_id: int, *, lock: bool = False) -> Referral | None:
    query = select(Referral).where(col(Referral.id) == referral_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.exec(query)).first()


async def of_report(session: AsyncSession, report_id: int) -> Sequence[Referral]:
    query = select(Referral).where(col(Referral.report_id) == report_id).order_by(col(Referral.id))
    return (await session.exec(query)).all()


async def listing(
    session: AsyncSession,
    *,
    states: Sequence[ReferralState] = (),
    report_id: int | None = None,
    acknowledged_by: int | None = None,
    limit: int | None = None,
) -> Sequence[tuple[Referral, Report]]:
    """Referrals with their reports, newest first: in these states (any when empty), of one
    report, or of the reports one member acknowledged."""
    query = select(Referral, Report).where(col(Referral.report_id) == col(Report.id))
    if states:
        query = query.where(col(Referral.state).in_(list(states)))
    if report_id is not None:
        query = query.where(col(Referral.report_id) == report_id)
    if acknowledged_by is not None:
        query = query.where(col(Report.acknowledged_by) == acknowledged_by)
    query = query.order_by(col(Referral.id).desc())
    if limit is not None:
        query = query.limit(limit)
    return [(referral, report) for referral, report in (await session.exec(query)).all()]


async def document_in_use(session: AsyncSession, sha256: str) -> bool:
    """Whether a case file is that of a referral still open (served to Twilio only then)."""
    query = select(Referral.id).where(
        col(Referral.document_sha256) == sha256, col(Referral.state).in_(list(OPEN))
    )
    return (await session.exec(query.limit(1))).first() is not None
