"""The work queue over the task table: claims (leases), heartbeats, step progress, outcomes,
and the reaper that returns tasks of dead workers to the queue.

Claim order: priority desc (URGENT first), queued_at asc, created_at asc, among PENDING tasks
whose `available_at` has passed (a SCHEDULED task becomes available at `scheduled_for`).

Safety against double execution:
- PostgreSQL: the candidate row is selected `FOR UPDATE SKIP LOCKED`, so concurrent
  claimers take different rows without waiting on each other.
- SQLite: claims run in a `BEGIN IMMEDIATE` transaction (one writer at a time, across
  processes too), and the UPDATE is conditional on `status = 'PENDING'` anyway.
- Fencing: every claim increments the task's `fence` column (never decremented, not even
  by `release`) and returns the new value in the `Claim`; every later write by the worker
  (heartbeat, step start/finish, complete/fail/cancel/release, and the events they append)
  is one UPDATE conditional on `status = RUNNING AND worker_id = :worker AND fence = :token`.
  A worker whose lease expired and whose task was claimed again holds a smaller token: its
  writes match no row, are refused with `LeaseLostError` and counted by `on_stale_write`
  (`bytebot_task_stale_writes_total{operation}`). The reaper is fenced the same way on
  the token it read.

`attempts` counts claims: a task that ran once has attempts = 1; one whose first worker
died and which then completed on another has attempts = 2. A lease expiring with
`attempts >= max_attempts` fails the task with an error saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from services.tasks.records import (
    AttemptOutcome,
    Claim,
    EventType,
    Status,
    StepStatus,
    TaskRecord,
    utcnow,
)
from services.tasks.schema import task_attempts, task_steps, tasks
from services.tasks.store import (
    TaskStore,
    Transaction,
    backoff_delay,
    mark_unfinished_steps,
    task_from_row,
)


class LeaseLostError(RuntimeError):
    """The worker no longer holds the task (its lease expired and the task moved on).
    `operation` is the write that was refused (a STALE_WRITE_OPERATIONS value)."""

    def __init__(self, message: str, operation: str = "") -> None:
        super().__init__(message)
        self.operation = operation


# The writes a worker makes to a task it claimed: the bounded `operation` label values of
# bytebot_task_stale_writes_total.
STALE_WRITE_OPERATIONS = (
    "heartbeat",
    "start_step",
    "finish_step",
    "complete",
    "fail",
    "cancel",
    "release",
)


class CancelRequestedError(RuntimeError):
    """The task was asked to stop; the worker must not start another step."""


@dataclass(frozen=True)
class Heartbeat:
    lease_expires_at: datetime
    cancel_requested: bool


@dataclass(frozen=True)
class ReapedTask:
    """A task whose lease expired: requeued, or finished (failed / cancelled)."""

    task: TaskRecord
    outcome: str  # Status.PENDING (requeued), Status.FAILED or Status.CANCELLED
    worker_id: str


class TaskQueue:
    def __init__(
        self,
        store: TaskStore,
        *,
        lease_seconds: float = 30.0,
        retry_backoff_seconds: float = 1.0,
        retry_backoff_max_seconds: float = 60.0,
        on_stale_write: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        # Told the operation of every write refused by the fence (the metric counts them).
        self.on_stale_write = on_stale_write or (lambda _operation: None)
        self.db = store.db
        self.lease = timedelta(seconds=lease_seconds)
        self.retry_backoff_seconds = retry_backoff_seconds
        self.retry_backoff_max_seconds = retry_backoff_max_seconds

    # ---- claiming ---------------------------------------------------------------------------

    def claim(self, worker_id: str, *, now: datetime | None = None) -> Claim | None:
        """Take the next claimable task for `worker_id`, or None if there is none."""
        with self.store.transaction(now) as tx:
            candidate = (
                select(tasks.c.id)
                .where(tasks.c.status == Status.PENDING, tasks.c.available_at <= tx.now)
                .order_by(tasks.c.priority.desc(), tasks.c.queued_at, tasks.c.created_at)
                .limit(1)
            )
            if self.db.is_postgresql:
                candidate = candidate.with_for_update(skip_locked=True)
            task_id = tx.conn.execute(candidate).scalar_one_or_none()
            if task_id is None:
                return None
            lease_expires_at = tx.now + self.lease
            row = self.store.update_with_event(
                tx,
                task_id,
                conditions=[tasks.c.status == Status.PENDING],
                values={
                    "status": Status.RUNNING,
                    "worker_id": worker_id,
                    "lease_expires_at": lease_expires_at,
                    "attempts": tasks.c.attempts + 1,
                    "fence": tasks.c.fence + 1,
                    "executed_at": tx.now,
                },
                event_type=EventType.STARTED,
                message=f"claimed by worker {worker_id}",
                data={"worker_id": worker_id},
            )
            if row is None:  # cannot happen under the locks above; never run it twice anyway
                return None
            if row.attempts > 1:
                # A re-run starts from the first step: forget the dead attempt's progress.
                tx.conn.execute(
                    update(task_steps)
                    .where(task_steps.c.task_id == task_id)
                    .values(
                        status=StepStatus.PENDING,
                        attempts=0,
                        result=None,
                        error=None,
                        started_at=None,
                        completed_at=None,
                    )
                )
            tx.conn.execute(
                insert(task_attempts),
                {
                    "task_id": task_id,
                    "attempt": row.attempts,
                    "worker_id": worker_id,
                    "started_at": tx.now,
                    "ended_at": None,
                    "outcome": AttemptOutcome.RUNNING,
                },
            )
            steps = self.store.load_steps(tx.conn, [task_id]).get(task_id, ())
        return Claim(
            task=task_from_row(row, steps),
            worker_id=worker_id,
            attempt=row.attempts,
            lease_expires_at=lease_expires_at,
            fence=row.fence,
        )

    def heartbeat(self, claim: Claim, *, now: datetime | None = None) -> Heartbeat:
        """Extend the lease; tells the worker whether a cancel was requested."""
        now = now or utcnow()
        expires = now + self.lease
        with self.db.write() as conn:
            row = conn.execute(
                update(tasks)
                .where(*self._fence(claim))
                .values(lease_expires_at=expires)
                .returning(tasks.c.cancel_requested)
            ).one_or_none()
        if row is None:
            raise self._stale(claim, "heartbeat")
        return Heartbeat(lease_expires_at=expires, cancel_requested=bool(row.cancel_requested))

    # ---- progress ---------------------------------------------------------------------------

    def start_step(self, claim: Claim, index: int, kind: str) -> None:
        """Mark step `index` running. Raises CancelRequestedError if a cancel arrived (the
        step is not started) or LeaseLostError if the task is no longer ours."""
        with self.store.transaction() as tx:
            row = self.store.update_with_event(
                tx,
                claim.task.id,
                conditions=[*self._fence(claim), tasks.c.cancel_requested.is_(False)],
                values={"lease_expires_at": tx.now + self.lease},
                event_type=EventType.STEP_STARTED,
                message=f"step {index + 1} ({kind}) started",
                data={"step": index, "kind": kind},
            )
            if row is None:
                self._raise_why_not(tx, claim)  # cancel requested, or a stale write
            tx.conn.execute(
                update(task_steps)
                .where(task_steps.c.task_id == claim.task.id, task_steps.c.idx == index)
                .values(status=StepStatus.RUNNING, attempts=1, started_at=tx.now)
            )

    def finish_step(
        self,
        claim: Claim,
        index: int,
        kind: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        attempts: int = 1,
    ) -> None:
        """Record a step's outcome: SUCCEEDED with its compact result, or FAILED with why."""
        ok = error is None
        status = StepStatus.SUCCEEDED if ok else StepStatus.FAILED
        with self.store.transaction() as tx:
            row = self.store.update_with_event(
                tx,
                claim.task.id,
                conditions=self._fence(claim),
                values={"lease_expires_at": tx.now + self.lease},
                event_type=EventType.STEP_FINISHED,
                message=f"step {index + 1} ({kind}) " + ("succeeded" if ok else f"failed: {error}"),
                data={"step": index, "kind": kind, "status": status},
            )
            if row is None:
                raise self._stale(claim, "finish_step")
            tx.conn.execute(
                update(task_steps)
                .where(task_steps.c.task_id == claim.task.id, task_steps.c.idx == index)
                .values(
                    status=status,
                    attempts=attempts,
                    result=result,
                    error=error,
                    completed_at=tx.now,
                )
            )

    # ---- outcomes ---------------------------------------------------------------------------

    def complete(self, claim: Claim, result: dict[str, Any] | None = None) -> TaskRecord:
        return self._finish(
            "complete",
            claim,
            Status.COMPLETED,
            EventType.COMPLETED,
            "completed",
            AttemptOutcome.COMPLETED,
            {"result": result},
            None,
        )

    def fail(self, claim: Claim, error: str) -> TaskRecord:
        return self._finish(
            "fail",
            claim,
            Status.FAILED,
            EventType.FAILED,
            error,
            AttemptOutcome.FAILED,
            {"error": error},
            StepStatus.SKIPPED,
        )

    def cancel(self, claim: Claim, message: str = "cancelled while running") -> TaskRecord:
        return self._finish(
            "cancel",
            claim,
            Status.CANCELLED,
            EventType.CANCELLED,
            message,
            AttemptOutcome.CANCELLED,
            {},
            StepStatus.CANCELLED,
        )

    def release(self, claim: Claim, reason: str = "worker shutting down") -> TaskRecord:
        """Give an unfinished task back to the queue at once (graceful shutdown). The attempt
        does not count against max_attempts: nothing went wrong with the task."""
        with self.store.transaction() as tx:
            row = self.store.update_with_event(
                tx,
                claim.task.id,
                conditions=self._fence(claim),
                values={
                    "status": Status.PENDING,
                    "attempts": tasks.c.attempts - 1,
                    "worker_id": None,
                    "lease_expires_at": None,
                    "available_at": tx.now,
                },
                event_type=EventType.RETRYING,
                message=f"released by worker {claim.worker_id}: {reason}",
                data={"worker_id": claim.worker_id, "reason": "released"},
            )
            if row is None:
                raise self._stale(claim, "release")
            self._close_attempt(tx, claim.task.id, claim.attempt, AttemptOutcome.RELEASED)
        return task_from_row(row)

    def _finish(
        self,
        operation: str,
        claim: Claim,
        status: str,
        event_type: str,
        message: str,
        attempt_outcome: str,
        values: dict[str, Any],
        unfinished_steps: str | None,
    ) -> TaskRecord:
        with self.store.transaction() as tx:
            row = self.store.update_with_event(
                tx,
                claim.task.id,
                conditions=self._fence(claim),
                values={
                    **values,
                    "status": status,
                    "completed_at": tx.now,
                    "lease_expires_at": None,
                },
                event_type=event_type,
                message=message,
            )
            if row is None:
                raise self._stale(claim, operation)
            if unfinished_steps:
                mark_unfinished_steps(tx.conn, claim.task.id, unfinished_steps, tx.now)
            self._close_attempt(tx, claim.task.id, claim.attempt, attempt_outcome)
        return task_from_row(row)

    # ---- the reaper -------------------------------------------------------------------------

    def reap_expired(self, *, now: datetime | None = None, limit: int = 100) -> list[ReapedTask]:
        """Tasks whose worker stopped heartbeating: back to the queue (RETRYING), or FAILED
        once max_attempts is used up, or CANCELLED if a cancel was waiting."""
        reaped: list[ReapedTask] = []
        with self.store.transaction(now) as tx:
            stmt = (
                select(
                    tasks.c.id,
                    tasks.c.attempts,
                    tasks.c.max_attempts,
                    tasks.c.worker_id,
                    tasks.c.cancel_requested,
                    tasks.c.fence,
                )
                .where(tasks.c.status == Status.RUNNING, tasks.c.lease_expires_at < tx.now)
                .order_by(tasks.c.lease_expires_at)
                .limit(limit)
            )
            if self.db.is_postgresql:
                stmt = stmt.with_for_update(skip_locked=True)
            for cand in tx.conn.execute(stmt).all():
                reaped.append(self._reap_one(tx, cand))
        return reaped

    def _reap_one(self, tx: Transaction, cand: Any) -> ReapedTask:
        worker = cand.worker_id or "unknown"
        running = [tasks.c.status == Status.RUNNING, tasks.c.fence == cand.fence]
        common = {"worker_id": None, "lease_expires_at": None}
        if cand.cancel_requested:
            outcome = Status.CANCELLED
            message = f"cancelled; worker {worker} stopped answering before it could stop"
            row = self.store.update_with_event(
                tx,
                cand.id,
                conditions=running,
                values={**common, "status": Status.CANCELLED, "completed_at": tx.now},
                event_type=EventType.CANCELLED,
                message=message,
            )
            mark_unfinished_steps(tx.conn, cand.id, StepStatus.CANCELLED, tx.now)
        elif cand.attempts >= cand.max_attempts:
            outcome = Status.FAILED
            message = f"worker lease expired {cand.attempts} times; last worker {worker}"
            row = self.store.update_with_event(
                tx,
                cand.id,
                conditions=running,
                values={
                    **common,
                    "status": Status.FAILED,
                    "completed_at": tx.now,
                    "error": message,
                },
                event_type=EventType.FAILED,
                message=message,
                data={"worker_id": worker, "attempts": cand.attempts},
            )
            mark_unfinished_steps(tx.conn, cand.id, StepStatus.SKIPPED, tx.now)
        else:
            outcome = Status.PENDING
            delay = backoff_delay(
                cand.attempts, self.retry_backoff_seconds, self.retry_backoff_max_seconds
            )
            message = (
                f"worker {worker} lease expired (attempt {cand.attempts} of "
                f"{cand.max_attempts}); retrying in {delay.total_seconds():g}s"
            )
            row = self.store.update_with_event(
                tx,
                cand.id,
                conditions=running,
                values={**common, "status": Status.PENDING, "available_at": tx.now + delay},
                event_type=EventType.RETRYING,
                message=message,
                data={"worker_id": worker, "attempts": cand.attempts, "reason": "lease_expired"},
            )
        assert row is not None  # the row is locked (PostgreSQL) / we hold the write lock
        self._close_attempt(tx, cand.id, cand.attempts, AttemptOutcome.EXPIRED)
        return ReapedTask(task=task_from_row(row), outcome=outcome, worker_id=worker)

    # ---- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _fence(claim: Claim) -> list[Any]:
        return [
            tasks.c.status == Status.RUNNING,
            tasks.c.worker_id == claim.worker_id,
            tasks.c.fence == claim.fence,
        ]

    def _stale(self, claim: Claim, operation: str) -> LeaseLostError:
        """Count a write the fence refused and say why, for the caller to raise."""
        self.on_stale_write(operation)
        return LeaseLostError(
            f"task {claim.task.id}: {operation} refused, worker {claim.worker_id} no longer "
            f"holds the lease (fence {claim.fence})",
            operation,
        )

    def _raise_why_not(self, tx: Transaction, claim: Claim) -> None:
        row = tx.conn.execute(
            select(tasks.c.cancel_requested).where(*self._fence(claim))
        ).one_or_none()
        if row is not None and row.cancel_requested:
            raise CancelRequestedError(f"task {claim.task.id}: cancel requested")
        raise self._stale(claim, "start_step")

    @staticmethod
    def _close_attempt(tx: Transaction, task_id: str, attempt: int, outcome: str) -> None:
        tx.conn.execute(
            update(task_attempts)
            .where(
                task_attempts.c.task_id == task_id,
                task_attempts.c.attempt == attempt,
                task_attempts.c.outcome == AttemptOutcome.RUNNING,
            )
            .values(outcome=outcome, ended_at=tx.now)
        )
