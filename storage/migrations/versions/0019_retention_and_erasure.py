"""retention and erasure: when a case closed, a reporter's identity erased (when, why), and
the record of each day's retention run (counts only)

A case closed before this migration gets its closed_at from its last change of state on the
timeline (a closed case's last one is its closing; reopening is an event of its own).

Revision ID: 0019
Revises: 0018
Create Date: 2027-01-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("identity_erased_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("identity_erased_by", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_report_closed_at", ["closed_at"], unique=False)
    op.execute(
        "UPDATE report SET closed_at = COALESCE(("
        "SELECT max(report_event.at) FROM report_event "
        "WHERE report_event.report_id = report.id AND report_event.kind = 'state_changed'"
        "), created_at) WHERE state = 'closed'"
    )
    op.create_table(
        "retention_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("drafts", sa.Integer(), nullable=False),
        sa.Column("chats", sa.Integer(), nullable=False),
        sa.Column("identities", sa.Integer(), nullable=False),
        sa.Column("evidence_files", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("retention_run")
    # Dropped in place (SQLite 3.35 and later can), not by copying the table: rows of other
    # tables refer to the reports, which a copy would have to drop first.
    with op.batch_alter_table("report", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_report_closed_at")
        batch_op.drop_column("identity_erased_by")
        batch_op.drop_column("identity_erased_at")
        batch_op.drop_column("closed_at")
