"""Plain values the task store speaks: statuses, priorities, and the records it returns.

The store is independent of the generated protobuf code (the servicer converts), so the
queue logic can be tested and benchmarked on its own. Names match the proto enum values
without their prefix (`TASK_STATUS_PENDING` → `PENDING`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class Status:
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    NEEDS_HELP = "NEEDS_HELP"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"

    ALL = (PENDING, RUNNING, NEEDS_HELP, NEEDS_REVIEW, COMPLETED, CANCELLED, FAILED)
    TERMINAL = frozenset({COMPLETED, CANCELLED, FAILED})


class TaskType:
    IMMEDIATE = "IMMEDIATE"
    SCHEDULED = "SCHEDULED"

    ALL = (IMMEDIATE, SCHEDULED)


class Priority:
    """Stored as an integer rank so that `ORDER BY priority DESC` puts URGENT first."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    URGENT = 4

    NAMES = {LOW: "LOW", MEDIUM: "MEDIUM", HIGH: "HIGH", URGENT: "URGENT"}
    ALL = (LOW, MEDIUM, HIGH, URGENT)


class EventType:
    CREATED = "CREATED"
    STARTED = "STARTED"  # claimed by a worker: status RUNNING, attempt n
    STEP_STARTED = "STEP_STARTED"
    STEP_FINISHED = "STEP_FINISHED"  # succeeded or failed: the step's status says which
    RETRYING = "RETRYING"  # lease expired or released: back to PENDING
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class StepStatus:
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # not run because an earlier step failed
    CANCELLED = "CANCELLED"  # not run (or interrupted) because the task was cancelled

    UNFINISHED = (PENDING, RUNNING)


class AttemptOutcome:
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    RELEASED = "released"
    LOST = "lost"  # the worker found its lease gone when it tried to finish


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StepInput:
    """One step as the API stores it: the action kind (oneof name) and the serialized Action."""

    kind: str
    action: bytes


@dataclass(frozen=True)
class StepRecord:
    index: int
    kind: str
    action: bytes
    status: str
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class TaskRecord:
    id: str
    description: str
    type: str
    status: str
    priority: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    queued_at: datetime
    available_at: datetime
    scheduled_for: datetime | None
    executed_at: datetime | None
    completed_at: datetime | None
    error: str | None
    result: dict[str, Any] | None
    correlation_id: str
    trace_context: dict[str, str]
    attempts: int
    max_attempts: int
    cancel_requested: bool
    cancel_reason: str
    worker_id: str | None
    lease_expires_at: datetime | None
    last_event_seq: int
    step_count: int
    steps: tuple[StepRecord, ...] = field(default=())
    # CreateTask's idempotency key and the digest of the request that came with it.
    request_id: str | None = None
    request_hash: str | None = None
    # The fencing token of the task's latest claim (0: never claimed).
    fence: int = 0

    @property
    def terminal(self) -> bool:
        return self.status in Status.TERMINAL


@dataclass(frozen=True)
class EventRecord:
    task_id: str
    sequence: int
    type: str
    status: str
    created_at: datetime
    message: str = ""
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Claim:
    """A task a worker holds. `fence` is the fencing token every later write is conditional
    on: a later claim of the task (after this lease expired) has a larger one."""

    task: TaskRecord
    worker_id: str
    attempt: int
    lease_expires_at: datetime
    fence: int = 0
