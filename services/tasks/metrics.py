"""The task metrics of the source document (DESIGN §4), shared by the API and the worker.

- `bytebot_tasks_total{status,type,user_id}` counts terminal outcomes only (completed,
  failed, cancelled), once per task, by the process that made the change (the worker for
  completed/failed/cancelled-while-running and for lease-expiry failures, the API for
  cancels of tasks that had not started). Counting creations too would make the source's
  failure-rate alert (failed / total) read low while tasks are queued.
- `bytebot_task_duration_seconds{type,status}`: executed_at → completed_at of tasks that
  ran (a task cancelled before it started has no processing time).
- `bytebot_task_queue_length{priority}`: claimable PENDING tasks, refreshed from the
  database by every API replica and worker; all four priorities are always present.
- `bytebot_database_connections_active`: the pool's open connections (see `Database`).
- `bytebot_database_query_duration_seconds{operation}`: time of each SQL statement on the
  driver's cursor (SQLAlchemy's before/after_cursor_execute events), labelled by its verb:
  select, insert, update, delete, other (BEGIN, PRAGMA, …) — five values, never more. The
  performance baseline's "database query time" row (deploy/prometheus/rules/recording.yml)
  is its p95 per job, summed over `operation`.
- `bytebot_task_stale_writes_total{operation}`: writes by a worker that the lease fence
  refused (its lease had expired and the task was claimed again), by the refused write:
  heartbeat, start_step, finish_step, complete, fail, cancel, release (seven values). Each
  refusal is a write that did not land; any rise means a worker lost a lease while working.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.engine import Engine

from libs.observability import buckets
from libs.observability.metrics import LabelGuard
from services.tasks.db import Database
from services.tasks.queue import STALE_WRITE_OPERATIONS
from services.tasks.records import Priority, Status, TaskRecord

DURATION_BUCKETS = buckets.TASK_SECONDS
# Around the baseline's target (0.05 s) and alert threshold (0.2 s), down to the sub-ms
# statements SQLite answers most queries in (libs/observability/buckets.py).
QUERY_BUCKETS = buckets.QUERY_SECONDS
QUERY_OPERATIONS = ("select", "insert", "update", "delete", "other")
_START_KEY = "_bytebot_query_started"


class TaskMetrics:
    def __init__(self, registry: CollectorRegistry, *, user_label_cap: int = 50) -> None:
        self.tasks_total = Counter(
            "bytebot_tasks_total",
            "Tasks that reached a terminal status (completed, failed, cancelled).",
            ["status", "type", "user_id"],
            registry=registry,
        )
        self.duration = Histogram(
            "bytebot_task_duration_seconds",
            "Task processing time, from a worker starting it to its terminal status.",
            ["type", "status"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.queue_length = Gauge(
            "bytebot_task_queue_length",
            "Pending tasks that can be claimed now, per priority.",
            ["priority"],
            registry=registry,
        )
        for priority in Priority.ALL:
            self.queue_length.labels(priority=Priority.NAMES[priority].lower()).set(0)
        self.stale_writes = Counter(
            "bytebot_task_stale_writes_total",
            "Writes by a worker refused by the lease fence (the task was claimed again).",
            ["operation"],
            registry=registry,
        )
        for operation in STALE_WRITE_OPERATIONS:
            self.stale_writes.labels(operation=operation)
        self.user_label = LabelGuard(
            "bytebot_tasks_total", "user_id", max_values=user_label_cap, registry=registry
        )

    def record_outcome(self, task: TaskRecord) -> None:
        if task.status not in Status.TERMINAL:
            return
        status, task_type = task.status.lower(), task.type.lower()
        self.tasks_total.labels(
            status=status, type=task_type, user_id=self.user_label(task.created_by or "anonymous")
        ).inc()
        if task.executed_at and task.completed_at:
            seconds = (task.completed_at - task.executed_at).total_seconds()
            self.duration.labels(type=task_type, status=status).observe(max(0.0, seconds))

    def stale_write(self, operation: str) -> None:
        """TaskQueue's on_stale_write: one refused write (operation is a known value)."""
        if operation in STALE_WRITE_OPERATIONS:
            self.stale_writes.labels(operation=operation).inc()

    def set_queue_lengths(self, counts: dict[int, int]) -> None:
        for priority in Priority.ALL:
            self.queue_length.labels(priority=Priority.NAMES[priority].lower()).set(
                counts.get(priority, 0)
            )


def database_connections_gauge(registry: CollectorRegistry, db: Database) -> Gauge:
    gauge = Gauge(
        "bytebot_database_connections_active",
        "Open connections in the database pool (in use + idle); 0 when the database is "
        "unreachable.",
        registry=registry,
    )
    gauge.set_function(db.open_connections)
    return gauge


def query_operation(statement: str) -> str:
    """The statement's verb as a bounded label value (select|insert|update|delete|other)."""
    head = statement.lstrip()[:7].lower()
    verb = head[:6]
    if verb in QUERY_OPERATIONS and (len(head) == 6 or not head[6].isalnum()):
        return verb
    return "other"


def instrument_queries(registry: CollectorRegistry, engine: Engine) -> Histogram:
    """Time every statement `engine` executes into bytebot_database_query_duration_seconds.

    Measured around the DBAPI cursor call only (not pool checkout nor row conversion): what
    the database and its driver take. A statement that raises is timed too (a lock wait
    that ends in an error is still database time)."""
    histogram = Histogram(
        "bytebot_database_query_duration_seconds",
        "SQL statement execution time on the database driver, by statement verb.",
        ["operation"],
        buckets=QUERY_BUCKETS,
        registry=registry,
    )
    children = {op: histogram.labels(operation=op) for op in QUERY_OPERATIONS}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is not None:
            setattr(context, _START_KEY, time.perf_counter())

    def _observe(statement: str, context: Any) -> None:
        started = getattr(context, _START_KEY, None) if context is not None else None
        if started is not None:
            setattr(context, _START_KEY, None)
            children[query_operation(statement)].observe(time.perf_counter() - started)

    @event.listens_for(engine, "after_cursor_execute")
    def _after(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        _observe(statement, context)

    @event.listens_for(engine, "handle_error")
    def _error(ctx: Any) -> None:
        if ctx.statement is not None:
            _observe(ctx.statement, ctx.execution_context)

    return histogram
