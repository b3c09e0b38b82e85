"""view audit: every look at a reporter's contact, story or evidence, from every door (the
bot, the dashboard, the command line), in one table that replaces contact_audit

The dashboard's rows are kept: they were contacts shown on a dashboard page (their old `what`
named the page, now `place`).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-28 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "view_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("operator", sa.String(length=64), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("door", sa.String(length=32), nullable=False),
        sa.Column("what", sa.String(length=32), nullable=False),
        sa.Column("place", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("view_audit", schema=None) as batch_op:
        batch_op.create_index("ix_view_audit_at", ["at"], unique=False)
        batch_op.create_index("ix_view_audit_member_id", ["member_id"], unique=False)
        batch_op.create_index("ix_view_audit_report_id", ["report_id"], unique=False)
    op.execute(
        "INSERT INTO view_audit (at, member_id, report_id, door, what, place) "
        "SELECT at, member_id, report_id, 'dashboard', 'contact', what FROM contact_audit "
        "ORDER BY id"
    )
    op.drop_table("contact_audit")


def downgrade() -> None:
    op.create_table(
        "contact_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact_audit", schema=None) as batch_op:
        batch_op.create_index("ix_contact_audit_at", ["at"], unique=False)
        batch_op.create_index("ix_contact_audit_report_id", ["report_id"], unique=False)
    # Only what the old table could hold: the dashboard's contacts, seen by members.
    op.execute(
        "INSERT INTO contact_audit (at, member_id, report_id, what) "
        "SELECT at, member_id, report_id, place FROM view_audit "
        "WHERE door = 'dashboard' AND what = 'contact' AND member_id IS NOT NULL ORDER BY id"
    )
    op.drop_table("view_audit")
