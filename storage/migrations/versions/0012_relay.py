"""the anonymous relay between a member and a reporter

Messages either way are rows (`relay_message`): those waiting for the reporter survive a
restart. `report.relay_stopped_at` is set when the reporter stops replies.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=3000), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("relay_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relay_message_report_id"), ["report_id"], unique=False)
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("relay_stopped_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("relay_stopped_at")
    with op.batch_alter_table("relay_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_message_report_id"))
    op.drop_table("relay_message")
