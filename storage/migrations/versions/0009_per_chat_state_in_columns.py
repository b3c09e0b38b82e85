"""per-chat state in columns (invitation-code throttle, notices), flow state in typed shape

The invitation-code throttle, the notice of an expired draft and the note that a group was
told to write in private were keys in `conversation.data`, so ending a flow reset them. They
become columns. The flows' state keeps its place in `data`, renamed to the typed states'
fields (handlers/conversation/turn.py `State`); a text answer that was skipped is "" instead
of null.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 12:30:00
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The report's internal keys, as they were and as they are.
RENAMED = {
    "_history": "history",
    "_editing": "editing",
    "_phones": "phones_kept",
    "_known_phone": "known_phone",
    "_selected": "selected",
}
SKIPPABLE_TEXTS = ("recruiter_name", "recruiter_agency", "recruiter_link")


def typed(flow: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """A flow's state in the shape of its typed state."""
    if flow == "language":
        back = data.pop("_return", None) or [None, None]
        selected = data.pop("_selected", None)
        new = {"back_flow": back[0], "back_step": back[1], "kept": typed(back[0], data)}
        return new | ({"selected": selected} if selected else {})
    new = {RENAMED.get(key, key): value for key, value in data.items()}
    if flow == "report":
        for key in SKIPPABLE_TEXTS:
            if key in new and new[key] is None:
                new[key] = ""
    return new


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("join_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("join_failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("draft_expired", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("told_in_group", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    conversation = sa.table(
        "conversation",
        sa.column("id", sa.Integer()),
        sa.column("flow", sa.String()),
        sa.column("data", sa.JSON()),
        sa.column("join_failures", sa.Integer()),
        sa.column("join_failed_at", sa.DateTime(timezone=True)),
        sa.column("draft_expired", sa.Boolean()),
        sa.column("told_in_group", sa.Boolean()),
    )
    connection = op.get_bind()
    query = sa.select(conversation.c.id, conversation.c.flow, conversation.c.data)
    for id_, flow, data in connection.execute(query).all():
        data = json.loads(data) if isinstance(data, str) else dict(data or {})
        if not data:
            continue
        failed_at = data.pop("_join_at", None)
        columns = {
            "join_failures": int(data.pop("_join_failures", 0)),
            "join_failed_at": datetime.fromisoformat(failed_at) if failed_at else None,
            "draft_expired": bool(data.pop("_expired", False)),
            "told_in_group": bool(data.pop("told", False)),
        }
        connection.execute(
            conversation.update()
            .where(conversation.c.id == id_)
            .values(data=typed(flow, data), **columns)
        )


def downgrade() -> None:
    # The flows' state keeps its new shape: an older service reads a draft's answers, but not
    # its step history (KEMBALI) or the numbers kept from a half-valid answer.
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("told_in_group")
        batch_op.drop_column("draft_expired")
        batch_op.drop_column("join_failed_at")
        batch_op.drop_column("join_failures")
