"""cek: residents' checks of offers, the identifiers each looked up, and the coordinators'
alerts when many chats check the same one

A check keeps no name or number of the resident: only the chat's key hashed with a secret
(handlers/usecases/cek.py). The indexes serve the rate limit (a chat's checks in the last
hour) and the weekly counts per identifier.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offer_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat", sa.String(length=64), nullable=False),
        sa.Column("identifiers", sa.Integer(), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("offer_check", schema=None) as batch_op:
        batch_op.create_index(
            "ix_offer_check_chat_checked_at", ["chat", "checked_at"], unique=False
        )
    op.create_table(
        "offer_check_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chat", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["check_id"], ["offer_check.id"]),
        sa.ForeignKeyConstraint(["identifier_id"], ["identifier.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("check_id", "identifier_id"),
    )
    with op.batch_alter_table("offer_check_identifier", schema=None) as batch_op:
        batch_op.create_index(
            "ix_offer_check_identifier_identifier_checked_at",
            ["identifier_id", "checked_at"],
            unique=False,
        )
        batch_op.create_index("ix_offer_check_identifier_checked_at", ["checked_at"], unique=False)
    op.create_table(
        "check_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chats", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["identifier_id"], ["identifier.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("check_alert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_alert_identifier_id"), ["identifier_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("check_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_alert_identifier_id"))
    op.drop_table("check_alert")
    with op.batch_alter_table("offer_check_identifier", schema=None) as batch_op:
        batch_op.drop_index("ix_offer_check_identifier_checked_at")
        batch_op.drop_index("ix_offer_check_identifier_identifier_checked_at")
    op.drop_table("offer_check_identifier")
    with op.batch_alter_table("offer_check", schema=None) as batch_op:
        batch_op.drop_index("ix_offer_check_chat_checked_at")
    op.drop_table("offer_check")
