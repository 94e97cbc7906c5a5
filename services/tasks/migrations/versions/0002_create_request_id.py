"""CreateTask idempotency: tasks.request_id, tasks.request_hash, unique per creator.

Revision ID: 0002_create_request_id
Revises: 0001_initial
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_create_request_id"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot ALTER a table in place for every change (alembic copies it);
    # adding nullable columns and an index needs no copy, so this stays a plain ALTER there.
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("request_hash", sa.String(64), nullable=True))
    op.create_index("uq_tasks_created_by_request_id", "tasks", ["created_by", "request_id"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("uq_tasks_created_by_request_id", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("request_hash")
        batch.drop_column("request_id")
