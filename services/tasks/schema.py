"""The task tables (SQLAlchemy Core). Alembic migrations under `migrations/` create them;
this module is the code's view of them, and a test checks the two agree.

Timestamps are timezone-aware UTC in Python. PostgreSQL stores `timestamptz`; SQLite stores
naive UTC text, whose lexicographic order is chronological, so the same comparisons work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both SQLite (naive text) and PostgreSQL (timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the task store; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("created_by", String(255), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("queued_at", UTCDateTime, nullable=False),
    # When the task may next be claimed: now for IMMEDIATE, scheduled_for for SCHEDULED.
    Column("available_at", UTCDateTime, nullable=False),
    Column("scheduled_for", UTCDateTime, nullable=True),
    Column("executed_at", UTCDateTime, nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("correlation_id", String(128), nullable=False, default=""),
    Column("trace_context", JSON, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("cancel_reason", Text, nullable=False, default=""),
    Column("worker_id", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("last_event_seq", Integer, nullable=False, default=0),
    Column("step_count", Integer, nullable=False, default=0),
    # CreateTask's idempotency key and a digest of the request it came with (NULL: none).
    Column("request_id", String(64), nullable=True),
    Column("request_hash", String(64), nullable=True),
    # The fencing token: +1 on every claim, never decremented; a worker's writes are
    # conditional on it (migration 0003).
    Column("fence", Integer, nullable=False, default=0, server_default=text("0")),
    # The claim query: WHERE status = 'PENDING' ORDER BY priority DESC, queued_at, created_at.
    Index("ix_tasks_claim_order", "status", "priority", "queued_at", "created_at"),
    # The lease reaper: WHERE status = 'RUNNING' AND lease_expires_at < now.
    Index("ix_tasks_lease", "status", "lease_expires_at"),
    # ListTasks: newest first, keyset on (created_at, id).
    Index("ix_tasks_created_at_id", "created_at", "id"),
    Index("ix_tasks_created_by", "created_by", "created_at"),
    # One task per (creator, idempotency key); rows without a key (NULL) never collide.
    Index("uq_tasks_created_by_request_id", "created_by", "request_id", unique=True),
)

task_steps = Table(
    "task_steps",
    metadata,
    Column("task_id", String(36), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    # The serialized bytebot.computer.v1.Action: exact, versioned by protobuf's own rules.
    Column("action", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    # Compact result (a screenshot is recorded as size + sha256, never its bytes).
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("task_id", "idx"),
)

task_events = Table(
    "task_events",
    metadata,
    Column("task_id", String(36), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("data", JSON, nullable=True),
    PrimaryKeyConstraint("task_id", "sequence"),
)

# One row per claim: the execution log. Two rows for one attempt number, or two
# "completed" rows for one task, would mean a task ran twice.
task_attempts = Table(
    "task_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(36), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("worker_id", String(128), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("outcome", String(16), nullable=False),
    Index("ix_task_attempts_task_id", "task_id", "attempt"),
)
