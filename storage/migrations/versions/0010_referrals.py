"""referrals to partner agencies, consent per kind of agency, documents in the outbox

The report's consent to share the reporter's number becomes a list of kinds of agencies
(`consent_share_with`); `consent_share_with_police` stays, true when the police is in it.
Drafts in progress at the old question (may the number go to the police, yes or no) keep
their answer in the new shape. Referrals get their table, and the outbox can carry a document
(the case file) and reach an email address.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_STEP, NEW_STEP = "consent_police", "consent_share"


def draft(data: dict[str, Any]) -> dict[str, Any]:
    """A report draft's answers with the police consent as a list of kinds."""
    data = dict(data)
    if OLD_STEP in data:
        answer = data.pop(OLD_STEP)
        data[NEW_STEP] = ["police"] if answer == "yes" else [] if answer == "no" else None
    if "history" in data:
        data["history"] = [NEW_STEP if s == OLD_STEP else s for s in data["history"]]
    return data


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consent_share_with", sa.JSON(), nullable=False, server_default="[]")
        )
    report = sa.table(
        "report",
        sa.column("consent_share_with_police", sa.Boolean()),
        sa.column("consent_share_with", sa.JSON()),
    )
    op.execute(
        report.update()
        .where(report.c.consent_share_with_police == sa.true())
        .values(consent_share_with=["police"])
    )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("document_name", sa.String(length=128), nullable=True))

    op.create_table(
        "referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("agency", sa.String(length=100), nullable=False),
        sa.Column("agency_kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("with_identity", sa.Boolean(), nullable=False),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["member.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_report_id"), ["report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referral_state"), ["state"], unique=False)

    conversation = sa.table(
        "conversation",
        sa.column("id", sa.Integer()),
        sa.column("flow", sa.String()),
        sa.column("step", sa.String()),
        sa.column("data", sa.JSON()),
    )
    connection = op.get_bind()
    query = sa.select(conversation.c.id, conversation.c.step, conversation.c.data).where(
        conversation.c.flow == "report"
    )
    for id_, step, data in connection.execute(query).all():
        data = json.loads(data) if isinstance(data, str) else dict(data or {})
        connection.execute(
            conversation.update()
            .where(conversation.c.id == id_)
            .values(data=draft(data), step=NEW_STEP if step == OLD_STEP else step)
        )


def downgrade() -> None:
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_state"))
        batch_op.drop_index(batch_op.f("ix_referral_report_id"))
    op.drop_table("referral")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("document_name")
        batch_op.drop_column("document_sha256")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("consent_share_with")
