"""recruiter intelligence: identifiers, the reports naming them, and marks on them

Identifiers (phone, account, agency, link, handle, e-mail) are stored once by (kind,
normalised value): the unique constraint is the index every lookup uses. Reports already
stored are indexed by `sigap intel reindex` (the extraction lives in handlers/, which a
migration does not import), not here.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("shown", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "value"),
    )
    op.create_table(
        "report_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["identifier_id"], ["identifier.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "identifier_id"),
    )
    with op.batch_alter_table("report_identifier", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_identifier_identifier_id"), ["identifier_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_identifier_report_id"), ["report_id"], unique=False
        )
    op.create_table(
        "identifier_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("by", sa.String(length=128), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["identifier_id"], ["identifier.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("identifier_mark", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identifier_mark_confirmed_at"), ["confirmed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identifier_mark_identifier_id"), ["identifier_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identifier_mark_report_id"), ["report_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("identifier_mark", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identifier_mark_report_id"))
        batch_op.drop_index(batch_op.f("ix_identifier_mark_identifier_id"))
        batch_op.drop_index(batch_op.f("ix_identifier_mark_confirmed_at"))
    op.drop_table("identifier_mark")
    with op.batch_alter_table("report_identifier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_identifier_report_id"))
        batch_op.drop_index(batch_op.f("ix_report_identifier_identifier_id"))
    op.drop_table("report_identifier")
    op.drop_table("identifier")
