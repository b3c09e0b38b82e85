"""the order check's index: a chat's outbox rows by their state

Every answer asks whether another process is still sending to its chat
(`outbox.sending_elsewhere`). With an index on `address` alone, SQLite, which plans without
statistics, chose between it and (state, priority, id) by the order the two were made in,
and the latter reads every row being sent. (address, state) finds the chat's rows being sent
alone on both databases; it replaces the index on `address`, which it covers.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 06:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_address_state", "outbox", ["address", "state"])
    op.drop_index("ix_outbox_address", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_address", "outbox", ["address"])
    op.drop_index("ix_outbox_address_state", table_name="outbox")
