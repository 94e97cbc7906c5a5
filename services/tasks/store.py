"""The task store: tasks, their steps and their event log (API-side operations).

Every state change updates the task row and appends one `task_events` row, with the next
per-task sequence number, in the same transaction; subscribers (WatchTask) are told
`(task_id, sequence)` after the commit — in-process directly, across processes by
PostgreSQL NOTIFY (sent inside the transaction, so PostgreSQL delivers it at commit and
never for a rolled-back change). Readers always re-read events from the table, so a
notification is only a hint: nothing is lost or reordered if one goes missing.

All methods are blocking; asyncio code calls them through `Database.run`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from services.tasks.db import Database
from services.tasks.notifications import LOCAL_BUS, database_key, notify_payload
from services.tasks.records import (
    EventRecord,
    EventType,
    Priority,
    Status,
    StepInput,
    StepRecord,
    StepStatus,
    TaskRecord,
    TaskType,
    utcnow,
)
from services.tasks.schema import task_events, task_steps, tasks

DEFAULT_NOTIFY_CHANNEL = "bytebot_task_events"

_INSERT_TASK = insert(tasks)
_INSERT_EVENT = insert(task_events)

EventListener = Callable[[str, int], None]


class TaskNotFoundError(LookupError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} not found")
        self.task_id = task_id


class TaskFinishedError(RuntimeError):
    """The task is in a terminal status, so the change asked for is refused."""

    def __init__(self, task_id: str, status: str) -> None:
        super().__init__(f"task {task_id} is already {status.lower()}")
        self.task_id = task_id
        self.status = status


class InvalidPageTokenError(ValueError):
    pass


class RequestIdReusedError(ValueError):
    """A CreateTask idempotency key came back with a different request."""

    def __init__(self, request_id: str, task_id: str) -> None:
        super().__init__(f"request_id {request_id!r} was already used by this user for a "
                         f"different request (task {task_id})")
        self.request_id = request_id
        self.task_id = task_id


@dataclass
class Transaction:
    conn: Connection
    now: datetime
    notifications: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CancelOutcome:
    task: TaskRecord
    # True when this call moved the task to CANCELLED (False: cancel requested from its worker)
    cancelled_now: bool


@dataclass(frozen=True)
class TaskPage:
    tasks: list[TaskRecord]
    next_page_token: str


class TaskStore:
    def __init__(self, db: Database, *, notify_channel: str = DEFAULT_NOTIFY_CHANNEL) -> None:
        self.db = db
        self.notify_channel = notify_channel
        self._listeners: list[EventListener] = []
        self.bus_key = database_key(db.url)

    # ---- plumbing shared with the queue ----------------------------------------------------

    def add_listener(self, listener: EventListener) -> None:
        """`listener(task_id, sequence)` after each committed event of this process (called on
        a database thread: it must be thread-safe)."""
        self._listeners.append(listener)

    @contextmanager
    def transaction(self, now: datetime | None = None) -> Iterator[Transaction]:
        with self.db.write() as conn:
            tx = Transaction(conn=conn, now=now or utcnow())
            yield tx
        for task_id, seq, event_type in tx.notifications:
            for listener in self._listeners:
                listener(task_id, seq)
            LOCAL_BUS.publish(self.bus_key, task_id, seq, event_type)

    def update_with_event(
        self,
        tx: Transaction,
        task_id: str,
        *,
        conditions: Sequence[Any] = (),
        values: dict[str, Any],
        event_type: str,
        message: str = "",
        data: dict[str, Any] | None = None,
    ) -> Row[Any] | None:
        """Update the task if `conditions` hold, appending an event; None if they did not."""
        stmt = (
            update(tasks)
            .where(tasks.c.id == task_id, *conditions)
            .values(**values, updated_at=tx.now, last_event_seq=tasks.c.last_event_seq + 1)
            .returning(*tasks.c)
        )
        row = tx.conn.execute(stmt).one_or_none()
        if row is None:
            return None
        self._insert_event(tx, task_id, row.last_event_seq, event_type, row.status, message, data)
        return row

    def _insert_event(
        self,
        tx: Transaction,
        task_id: str,
        seq: int,
        event_type: str,
        status: str,
        message: str,
        data: dict[str, Any] | None,
    ) -> None:
        # Parameters passed apart from the statement: the statement is then one cached,
        # compiled object (building bind parameters per value costs more than the insert).
        tx.conn.execute(
            _INSERT_EVENT,
            {
                "task_id": task_id,
                "sequence": seq,
                "type": event_type,
                "status": status,
                "created_at": tx.now,
                "message": message,
                "data": data,
            },
        )
        if self.db.is_postgresql:
            # Delivered at commit, in commit order, and never for a rolled-back change.
            payload = notify_payload(task_id, seq, event_type)
            tx.conn.execute(select(func.pg_notify(self.notify_channel, payload)))
        tx.notifications.append((task_id, seq, event_type))

    # ---- API operations --------------------------------------------------------------------

    def create_task(
        self,
        *,
        description: str,
        type: str = TaskType.IMMEDIATE,
        priority: int = Priority.MEDIUM,
        created_by: str = "",
        scheduled_for: datetime | None = None,
        steps: Sequence[StepInput] = (),
        correlation_id: str = "",
        trace_context: dict[str, str] | None = None,
        max_attempts: int = 3,
        now: datetime | None = None,
        request_id: str | None = None,
        request_hash: str | None = None,
    ) -> TaskRecord:
        """Creates a task; with a `request_id` (idempotency key), a repeated call by the same
        `created_by` returns the task the first one created (RequestIdReusedError when
        `request_hash`, the digest of the request, differs)."""
        request_id = request_id or None
        task_id = str(uuid.uuid4())
        try:
            with self.transaction(now) as tx:
                if request_id is not None:
                    existing = self._by_request_id(tx.conn, created_by, request_id)
                    if existing is not None:
                        return self._replayed(existing, request_id, request_hash)
                scheduled = type == TaskType.SCHEDULED and scheduled_for
                available_at = scheduled_for if scheduled else tx.now
                values = {
                    "id": task_id,
                    "description": description,
                    "type": type,
                    "status": Status.PENDING,
                    "priority": priority,
                    "created_by": created_by,
                    "created_at": tx.now,
                    "updated_at": tx.now,
                    # A SCHEDULED task enters the queue when it is due: it then takes its place
                    # among the others by that time, not by its creation time.
                    "queued_at": available_at,
                    "available_at": available_at,
                    "scheduled_for": scheduled_for,
                    "executed_at": None,
                    "completed_at": None,
                    "error": None,
                    "result": None,
                    "correlation_id": correlation_id,
                    "trace_context": trace_context or {},
                    "attempts": 0,
                    "max_attempts": max_attempts,
                    "cancel_requested": False,
                    "cancel_reason": "",
                    "worker_id": None,
                    "lease_expires_at": None,
                    "last_event_seq": 1,
                    "step_count": len(steps),
                    "request_id": request_id,
                    "request_hash": request_hash,
                    "fence": 0,
                }
                tx.conn.execute(_INSERT_TASK, values)
                step_rows = [
                    {
                        "task_id": task_id,
                        "idx": i,
                        "kind": step.kind,
                        "action": step.action,
                        "status": StepStatus.PENDING,
                        "attempts": 0,
                    }
                    for i, step in enumerate(steps)
                ]
                if step_rows:
                    tx.conn.execute(insert(task_steps), step_rows)
                self._insert_event(tx, task_id, 1, EventType.CREATED, Status.PENDING, "created",
                                   None)
        except IntegrityError:
            # PostgreSQL: a concurrent call with the same key committed between our look-up
            # and our insert (the unique index stopped the second row). SQLite serialises
            # writers, so its look-up inside the write transaction already saw the first.
            if request_id is None:
                raise
            with self.db.read() as conn:
                existing = self._by_request_id(conn, created_by, request_id)
            if existing is None:
                raise
            return self._replayed(existing, request_id, request_hash)
        # What we wrote is what a read would return: no second round trip.
        return task_from_row(
            _Row(values),
            [
                StepRecord(index=r["idx"], kind=r["kind"], action=r["action"], status=r["status"])
                for r in step_rows
            ],
        )

    def _by_request_id(self, conn: Connection, created_by: str,
                       request_id: str) -> TaskRecord | None:
        row = conn.execute(select(tasks).where(
            tasks.c.created_by == created_by, tasks.c.request_id == request_id)).one_or_none()
        if row is None:
            return None
        return task_from_row(row, self.load_steps(conn, [row.id]).get(row.id, ()))

    @staticmethod
    def _replayed(task: TaskRecord, request_id: str, request_hash: str | None) -> TaskRecord:
        if task.request_hash != request_hash:
            raise RequestIdReusedError(request_id, task.id)
        return task

    def get_task(self, task_id: str, *, with_steps: bool = True) -> TaskRecord | None:
        with self.db.read() as conn:
            row = conn.execute(select(tasks).where(tasks.c.id == task_id)).one_or_none()
            if row is None:
                return None
            steps = self.load_steps(conn, [task_id]).get(task_id, ()) if with_steps else ()
        return task_from_row(row, steps)

    def list_tasks(
        self,
        *,
        statuses: Sequence[str] = (),
        priorities: Sequence[int] = (),
        created_by: str = "",
        page_size: int = 50,
        page_token: str = "",
        with_steps: bool = True,
    ) -> TaskPage:
        """Newest first; keyset pagination on (created_at, id) so pages never skip or repeat
        rows while tasks are being added."""
        stmt = select(tasks)
        if statuses:
            stmt = stmt.where(tasks.c.status.in_(list(statuses)))
        if priorities:
            stmt = stmt.where(tasks.c.priority.in_(list(priorities)))
        if created_by:
            stmt = stmt.where(tasks.c.created_by == created_by)
        if page_token:
            after_created, after_id = decode_page_token(page_token)
            stmt = stmt.where(
                or_(
                    tasks.c.created_at < after_created,
                    and_(tasks.c.created_at == after_created, tasks.c.id < after_id),
                )
            )
        stmt = stmt.order_by(tasks.c.created_at.desc(), tasks.c.id.desc()).limit(page_size + 1)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
            more = len(rows) > page_size
            rows = rows[:page_size]
            steps = self.load_steps(conn, [r.id for r in rows]) if with_steps and rows else {}
        records = [task_from_row(r, steps.get(r.id, ())) for r in rows]
        token = encode_page_token(records[-1].created_at, records[-1].id) if more else ""
        return TaskPage(tasks=records, next_page_token=token)

    def cancel_task(
        self, task_id: str, *, reason: str = "", now: datetime | None = None
    ) -> CancelOutcome:
        """PENDING (or waiting for a person) → CANCELLED at once; RUNNING → cancel requested,
        its worker stops between steps; terminal → TaskFinishedError."""
        with self.transaction(now) as tx:
            stmt = select(tasks.c.status, tasks.c.cancel_requested).where(tasks.c.id == task_id)
            if self.db.is_postgresql:
                stmt = stmt.with_for_update()
            current = tx.conn.execute(stmt).one_or_none()
            if current is None:
                raise TaskNotFoundError(task_id)
            if current.status in Status.TERMINAL:
                raise TaskFinishedError(task_id, current.status)
            suffix = f": {reason}" if reason else ""
            cancelled_now = current.status != Status.RUNNING
            if cancelled_now:
                self.update_with_event(
                    tx,
                    task_id,
                    values={
                        "status": Status.CANCELLED,
                        "cancel_requested": True,
                        "cancel_reason": reason,
                        "completed_at": tx.now,
                    },
                    event_type=EventType.CANCELLED,
                    message="cancelled before it started" + suffix,
                )
                mark_unfinished_steps(tx.conn, task_id, StepStatus.CANCELLED, tx.now)
            elif not current.cancel_requested:
                self.update_with_event(
                    tx,
                    task_id,
                    values={"cancel_requested": True, "cancel_reason": reason},
                    event_type=EventType.CANCEL_REQUESTED,
                    message="cancel requested; the worker stops before the next step" + suffix,
                )
        record = self.get_task(task_id)
        assert record is not None
        return CancelOutcome(task=record, cancelled_now=cancelled_now)

    def events_after(
        self, task_id: str, after_sequence: int, limit: int = 500
    ) -> list[EventRecord]:
        stmt = (
            select(task_events)
            .where(task_events.c.task_id == task_id, task_events.c.sequence > after_sequence)
            .order_by(task_events.c.sequence)
            .limit(limit)
        )
        with self.db.read() as conn:
            return [event_from_row(r) for r in conn.execute(stmt)]

    def queue_lengths(self, now: datetime | None = None) -> dict[int, int]:
        """Claimable PENDING tasks per priority (every priority present, 0 when none)."""
        now = now or utcnow()
        stmt = (
            select(tasks.c.priority, func.count())
            .where(tasks.c.status == Status.PENDING, tasks.c.available_at <= now)
            .group_by(tasks.c.priority)
        )
        counts = dict.fromkeys(Priority.ALL, 0)
        with self.db.read() as conn:
            for priority, count in conn.execute(stmt):
                counts[int(priority)] = int(count)
        return counts

    def next_available_at(self) -> datetime | None:
        """When the earliest PENDING task is (or was) claimable; None if the queue is empty.
        A read through the claim-order index: what an idle worker asks between claims."""
        stmt = select(func.min(tasks.c.available_at)).where(tasks.c.status == Status.PENDING)
        with self.db.read() as conn:
            return conn.execute(stmt).scalar()

    # ---- helpers ----------------------------------------------------------------------------

    @staticmethod
    def load_steps(conn: Connection, task_ids: list[str]) -> dict[str, tuple[StepRecord, ...]]:
        stmt = (
            select(task_steps)
            .where(task_steps.c.task_id.in_(task_ids))
            .order_by(task_steps.c.task_id, task_steps.c.idx)
        )
        out: dict[str, list[StepRecord]] = {}
        for r in conn.execute(stmt):
            out.setdefault(r.task_id, []).append(
                StepRecord(
                    index=r.idx,
                    kind=r.kind,
                    action=bytes(r.action),
                    status=r.status,
                    attempts=r.attempts,
                    result=r.result,
                    error=r.error,
                    started_at=r.started_at,
                    completed_at=r.completed_at,
                )
            )
        return {k: tuple(v) for k, v in out.items()}


class _Row:
    """Attribute access over a dict, shaped like a result row for `task_from_row`."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def mark_unfinished_steps(conn: Connection, task_id: str, status: str, now: datetime) -> None:
    """Steps that will never run (or were interrupted) get their final status."""
    conn.execute(
        update(task_steps)
        .where(task_steps.c.task_id == task_id, task_steps.c.status.in_(StepStatus.UNFINISHED))
        .values(status=status, completed_at=now)
    )


def task_from_row(row: Any, steps: Sequence[StepRecord] = ()) -> TaskRecord:
    return TaskRecord(
        id=row.id,
        description=row.description,
        type=row.type,
        status=row.status,
        priority=int(row.priority),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        queued_at=row.queued_at,
        available_at=row.available_at,
        scheduled_for=row.scheduled_for,
        executed_at=row.executed_at,
        completed_at=row.completed_at,
        error=row.error,
        result=row.result,
        correlation_id=row.correlation_id,
        trace_context=dict(row.trace_context or {}),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        cancel_requested=bool(row.cancel_requested),
        cancel_reason=row.cancel_reason or "",
        worker_id=row.worker_id,
        lease_expires_at=row.lease_expires_at,
        last_event_seq=row.last_event_seq,
        step_count=row.step_count,
        steps=tuple(steps),
        request_id=row.request_id,
        request_hash=row.request_hash,
        fence=row.fence,
    )


def event_from_row(row: Row[Any]) -> EventRecord:
    return EventRecord(
        task_id=row.task_id,
        sequence=row.sequence,
        type=row.type,
        status=row.status,
        created_at=row.created_at,
        message=row.message,
        data=row.data,
    )


def encode_page_token(created_at: datetime, task_id: str) -> str:
    raw = json.dumps({"c": created_at.isoformat(), "i": task_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[datetime, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        created_at = datetime.fromisoformat(data["c"])
        task_id = str(data["i"])
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        uuid.UUID(task_id)
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidPageTokenError("page_token is not a token returned by ListTasks") from exc
    return created_at, task_id


def backoff_delay(attempt: int, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential: base, 2·base, 4·base, … capped."""
    return timedelta(seconds=min(max_seconds, base_seconds * (2 ** max(0, attempt - 1))))
