"""the inbound rate limit: each chat's current minute and its count of messages in it

Kept on the conversation row, which every message already loads locked: several processes
share one exact count with no statement of its own.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-21 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("inbound_window_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("inbound_in_window", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("inbound_in_window")
        batch_op.drop_column("inbound_window_at")
