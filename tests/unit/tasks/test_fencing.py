"""Lease fencing on a real database (SQLite file and PostgreSQL schema): every claim carries a
larger token, and a worker whose lease expired cannot write to the task any more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Column, MetaData, Table, insert, select

from services.tasks import migrate
from services.tasks.db import Database
from services.tasks.metrics import TaskMetrics
from services.tasks.queue import STALE_WRITE_OPERATIONS, LeaseLostError, TaskQueue
from services.tasks.records import AttemptOutcome, EventType, Status, StepInput, utcnow
from services.tasks.schema import task_attempts, tasks
from services.tasks.store import TaskStore


def _stale(registry: CollectorRegistry, operation: str) -> float:
    value = registry.get_sample_value(
        "bytebot_task_stale_writes_total", {"operation": operation}
    )
    return value or 0.0


@pytest.fixture
def metered(store: TaskStore) -> tuple[TaskQueue, CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = TaskMetrics(registry)
    queue = TaskQueue(
        store, lease_seconds=1, retry_backoff_seconds=0, on_stale_write=metrics.stale_write
    )
    return queue, registry


def test_a_stale_worker_cannot_write_after_another_claimed_the_task(
    store: TaskStore, db: Database, metered: tuple[TaskQueue, CollectorRegistry]
) -> None:
    queue, registry = metered
    task = store.create_task(
        description="x", steps=[StepInput(kind="wait", action=b"\x62\x00")] * 2
    )
    now = utcnow()
    a = queue.claim("w-a", now=now)
    assert a is not None and a.fence == 1
    queue.start_step(a, 0, "wait")
    # A stalls; its lease expires; the reaper requeues; B claims with a larger token.
    later = now + timedelta(seconds=2)
    assert [r.outcome for r in queue.reap_expired(now=later)] == [Status.PENDING]
    b = queue.claim("w-b", now=later)
    assert b is not None and b.fence == 2 and b.attempt == 2

    # Every write A tries now is refused, changes nothing and is counted by operation.
    before = store.get_task(task.id)
    assert before is not None
    for operation, write in [
        ("heartbeat", lambda: queue.heartbeat(a)),
        ("start_step", lambda: queue.start_step(a, 1, "wait")),
        ("finish_step", lambda: queue.finish_step(a, 0, "wait", result={"late": True})),
        ("complete", lambda: queue.complete(a, {"summary": "A's late result"})),
        ("fail", lambda: queue.fail(a, "A's late failure")),
        ("cancel", lambda: queue.cancel(a)),
        ("release", lambda: queue.release(a)),
    ]:
        with pytest.raises(LeaseLostError) as refused:
            write()
        assert refused.value.operation == operation
        assert _stale(registry, operation) == 1
    after = store.get_task(task.id)
    assert after is not None
    assert (after.status, after.worker_id, after.fence, after.last_event_seq) == (
        Status.RUNNING, "w-b", 2, before.last_event_seq
    )

    # B's writes go through, and B's result is the one that stands.
    queue.start_step(b, 0, "wait")
    queue.finish_step(b, 0, "wait", result={"by": "b"})
    queue.start_step(b, 1, "wait")
    queue.finish_step(b, 1, "wait", result={"by": "b"})
    done = queue.complete(b, {"summary": "B's result"})
    assert done.status == Status.COMPLETED and done.result == {"summary": "B's result"}
    with pytest.raises(LeaseLostError):
        queue.complete(a, {"summary": "A's late result"})
    final = store.get_task(task.id)
    assert final is not None and final.result == {"summary": "B's result"}
    assert [s.result for s in final.steps] == [{"by": "b"}, {"by": "b"}]
    events = store.events_after(task.id, 0)
    assert [e.type for e in events].count(EventType.COMPLETED) == 1
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    with db.read() as conn:
        attempts = conn.execute(
            select(task_attempts.c.worker_id, task_attempts.c.outcome)
            .where(task_attempts.c.task_id == task.id)
            .order_by(task_attempts.c.id)
        ).all()
    assert [tuple(r) for r in attempts] == [
        ("w-a", AttemptOutcome.EXPIRED),
        ("w-b", AttemptOutcome.COMPLETED),
    ]
    assert _stale(registry, "complete") == 2


def test_the_token_grows_even_when_a_release_gives_the_attempt_back(
    store: TaskStore, metered: tuple[TaskQueue, CollectorRegistry]
) -> None:
    """A release does not count an attempt, so the attempt number repeats on the next
    claim, even by the same worker id; the token does not, so the old claim stays dead."""
    queue, registry = metered
    store.create_task(description="x")
    first = queue.claim("w-a")
    assert first is not None
    queue.release(first)
    second = queue.claim("w-a")
    assert second is not None
    assert (second.attempt, second.fence) == (first.attempt, first.fence + 1)
    with pytest.raises(LeaseLostError):
        queue.heartbeat(first)
    with pytest.raises(LeaseLostError):
        queue.complete(first)
    assert queue.complete(second).status == Status.COMPLETED
    assert _stale(registry, "heartbeat") == 1 and _stale(registry, "complete") == 1


def test_every_operation_label_is_exported_from_the_start() -> None:
    registry = CollectorRegistry()
    TaskMetrics(registry)
    assert {op: _stale(registry, op) for op in STALE_WRITE_OPERATIONS} == dict.fromkeys(
        STALE_WRITE_OPERATIONS, 0.0
    )


def test_migration_0003_gives_existing_tasks_token_zero(database_url: str) -> None:
    database = Database(database_url)
    try:
        migrate.upgrade(database, "0002_create_request_id")
        now = utcnow()
        row = {
            "id": "00000000-0000-0000-0000-000000000003", "description": "made before 0003",
            "type": "IMMEDIATE", "status": Status.PENDING, "priority": 2, "created_by": "",
            "created_at": now, "updated_at": now, "queued_at": now, "available_at": now,
            "correlation_id": "", "attempts": 0, "max_attempts": 3, "cancel_requested": False,
            "cancel_reason": "", "last_event_seq": 0, "step_count": 0,
        }
        # The table as revision 0002 knew it (the code's view has the new column).
        before = Table("tasks", MetaData(), *(Column(c.name, c.type) for c in tasks.c
                                              if c.name != "fence"))
        with database.write() as conn:
            conn.execute(insert(before), {k: row.get(k) for k in before.c.keys()})
        migrate.upgrade(database)
        store = TaskStore(database)
        old = store.get_task(row["id"])
        assert old is not None and old.fence == 0
        claim = TaskQueue(store).claim("w-1")
        assert claim is not None and claim.fence == 1
    finally:
        database.close()
