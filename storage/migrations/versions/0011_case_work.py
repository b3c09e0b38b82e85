"""case work: states and outcomes, the assignee, notes with files, reminders

A report gets its assignee (the member who acknowledged it, for the reports acknowledged
before), its outcome and the reference it duplicates; the task force's notes are a table of
their own, their files media rows linked to them; the reminders of open cases nobody touched
are rows claimed once, as escalation's follow-ups are.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("text", sa.String(length=3000), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_note_report_id"), ["report_id"], unique=False)
    op.create_table(
        "case_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_reminder_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_reminder_report_id"), ["report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_reminder_state"), ["state"], unique=False)
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_report_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_report_assignee_id_member", "member", ["assignee_id"], ["id"]
        )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_media_note_id"), ["note_id"], unique=False)
        batch_op.create_foreign_key("fk_media_note_id_case_note", "case_note", ["note_id"], ["id"])
    # The reports acknowledged so far are their acknowledger's cases.
    report = sa.table(
        "report", sa.column("assignee_id", sa.Integer()), sa.column("acknowledged_by", sa.Integer())
    )
    op.get_bind().execute(
        report.update()
        .where(report.c.acknowledged_by.is_not(None))
        .values(assignee_id=report.c.acknowledged_by)
    )


def downgrade() -> None:
    # A case closed with an outcome stays closed; in_progress and referred become acknowledged.
    report = sa.table("report", sa.column("state", sa.String()))
    op.get_bind().execute(
        report.update()
        .where(report.c.state.in_(["in_progress", "referred"]))
        .values(state="acknowledged")
    )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_constraint("fk_media_note_id_case_note", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_media_note_id"))
        batch_op.drop_column("note_id")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint("fk_report_assignee_id_member", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_report_assignee_id"))
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("outcome")
        batch_op.drop_column("assignee_id")
    with op.batch_alter_table("case_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_reminder_state"))
        batch_op.drop_index(batch_op.f("ix_case_reminder_report_id"))
        batch_op.drop_index(batch_op.f("ix_case_reminder_due_at"))
    op.drop_table("case_reminder")
    with op.batch_alter_table("case_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_note_report_id"))
    op.drop_table("case_note")
