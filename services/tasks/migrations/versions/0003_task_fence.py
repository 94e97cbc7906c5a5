"""Lease fencing: tasks.fence, a token incremented on every claim and never decremented.

Every write a worker makes to a task it claimed is conditional on `fence` still being the
value its claim returned, so a worker whose lease expired and whose task was claimed again
cannot change the task any more (services/tasks/README.md, "Fencing").

Revision ID: 0003_task_fence
Revises: 0002_create_request_id
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_task_fence"
down_revision = "0002_create_request_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A NOT NULL column with a server default: existing rows read 0 (never claimed under a
    # fence); the next claim makes them 1. SQLite adds it with a plain ALTER (no table copy).
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("fence", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("fence")
