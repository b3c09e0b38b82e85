"""indexes that keep the hot queries' cost flat as the database grows

The delivery job's claim walks (state, priority, id) instead of sorting every pending outbox
row; the follow-up claim walks (state, due_at, id) instead of every follow-up ever due; they
replace the indexes on state (and on priority) alone, which they cover. References are
stored in capitals, so that a lookup typed in any case goes through the unique index of
`reference` instead of reading every report: existing ones are upgraded here (they were
already, unless an older version allowed a prefix in small letters).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE report SET reference = upper(reference) WHERE reference <> upper(reference)"
        )
    )
    op.create_index("ix_outbox_state_priority_id", "outbox", ["state", "priority", "id"])
    op.drop_index("ix_outbox_state", table_name="outbox")
    op.drop_index("ix_outbox_priority", table_name="outbox")
    op.create_index("ix_followup_state_due_at_id", "followup", ["state", "due_at", "id"])
    op.drop_index("ix_followup_state", table_name="followup")


def downgrade() -> None:
    op.create_index("ix_followup_state", "followup", ["state"])
    op.drop_index("ix_followup_state_due_at_id", table_name="followup")
    op.create_index("ix_outbox_priority", "outbox", ["priority"])
    op.create_index("ix_outbox_state", "outbox", ["state"])
    op.drop_index("ix_outbox_state_priority_id", table_name="outbox")
