"""reporters' details sealed at rest: the sealed and matched columns become text (their sealed
form is longer than the value), and the `sealing` table holds the database's index key

The values themselves are sealed at the first start after this upgrade (storage/resealing.py):
a migration has no data key.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 22:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# table: [(column, type before, nullable)]
COLUMNS: dict[str, list[tuple[str, sa.types.TypeEngine[Any], bool]]] = {
    "conversation": [("sender", sa.String(128), False), ("data", sa.JSON(), False)],
    "report": [
        ("sender", sa.String(128), False),
        ("contact_phone", sa.String(32), True),
        ("story", sa.String(3000), False),
        ("latitude", sa.Float(), True),
        ("longitude", sa.Float(), True),
    ],
    "recruiter_phone": [("phone", sa.String(32), False)],
    "addition": [("text", sa.String(3000), True)],
    "relay_message": [("text", sa.String(3000), True)],
    "case_note": [("text", sa.String(3000), True)],
    "media": [("original_name", sa.String(255), True)],
    "chat_message": [("chat", sa.String(128), False)],
    "member_address": [("address", sa.String(128), False)],
    "outbox": [
        ("address", sa.String(128), False),
        ("text", sa.String(), False),
        ("variables", sa.JSON(), False),
    ],
    "subscription": [("address", sa.String(128), False)],
    "report_event": [("detail", sa.JSON(), False)],
    "identifier": [("value", sa.String(200), False), ("shown", sa.String(200), False)],
}


def upgrade() -> None:
    op.create_table(
        "sealing",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, before, nullable in columns:
                batch_op.alter_column(
                    name,
                    existing_type=before,
                    type_=sa.Text(),
                    existing_nullable=nullable,
                    postgresql_using=f"{name}::text",
                )


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, before, nullable in columns:
                using = {sa.JSON: f"{name}::json", sa.Float: f"{name}::double precision"}
                batch_op.alter_column(
                    name,
                    existing_type=sa.Text(),
                    type_=before,
                    existing_nullable=nullable,
                    postgresql_using=using.get(type(before), f"{name}::varchar"),
                )
    op.drop_table("sealing")
