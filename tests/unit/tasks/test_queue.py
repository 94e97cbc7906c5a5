"""The task store and queue on a real database (SQLite file and PostgreSQL schema)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.tasks.queue import CancelRequestedError, LeaseLostError, TaskQueue
from services.tasks.records import (
    AttemptOutcome,
    EventType,
    Priority,
    Status,
    StepInput,
    StepStatus,
    TaskType,
    utcnow,
)
from services.tasks.schema import task_attempts
from services.tasks.store import (
    InvalidPageTokenError,
    TaskFinishedError,
    TaskNotFoundError,
    TaskStore,
)


def _steps(n: int) -> list[StepInput]:
    return [StepInput(kind="wait", action=b"\x62\x00") for _ in range(n)]


def test_claim_order_is_priority_then_queue_time(store: TaskStore, queue: TaskQueue) -> None:
    t0 = utcnow() - timedelta(minutes=10)
    low = store.create_task(description="low", priority=Priority.LOW, now=t0)
    med_old = store.create_task(description="m1", priority=Priority.MEDIUM, now=t0)
    med_new = store.create_task(
        description="m2", priority=Priority.MEDIUM, now=t0 + timedelta(seconds=1)
    )
    urgent = store.create_task(
        description="u", priority=Priority.URGENT, now=t0 + timedelta(seconds=2)
    )
    high = store.create_task(description="h", priority=Priority.HIGH, now=t0 + timedelta(seconds=3))
    order = []
    while (claim := queue.claim("w-1")) is not None:
        order.append(claim.task.id)
    assert order == [urgent.id, high.id, med_old.id, med_new.id, low.id]


def test_scheduled_task_is_not_claimed_before_it_is_due(store: TaskStore, queue: TaskQueue) -> None:
    now = utcnow()
    due = now + timedelta(hours=1)
    scheduled = store.create_task(
        description="later", type=TaskType.SCHEDULED, scheduled_for=due, priority=Priority.URGENT
    )
    assert queue.claim("w-1", now=now) is None
    assert queue.claim("w-1", now=due - timedelta(seconds=1)) is None
    assert store.queue_lengths(now)[Priority.URGENT] == 0
    assert store.queue_lengths(due)[Priority.URGENT] == 1
    claim = queue.claim("w-1", now=due + timedelta(milliseconds=1))
    assert claim is not None and claim.task.id == scheduled.id


def test_expired_lease_requeues_then_fails_with_a_clear_error(store: TaskStore, db) -> None:
    queue = TaskQueue(store, lease_seconds=10, retry_backoff_seconds=0)
    task = store.create_task(description="x", max_attempts=2)
    now = utcnow()

    first = queue.claim("w-a", now=now)
    assert first is not None and first.attempt == 1
    # Still leased: nothing to reap.
    assert queue.reap_expired(now=now + timedelta(seconds=5)) == []
    reaped = queue.reap_expired(now=now + timedelta(seconds=11))
    assert [(r.task.id, r.outcome) for r in reaped] == [(task.id, Status.PENDING)]
    again = store.get_task(task.id)
    assert again is not None
    assert again.status == Status.PENDING and again.attempts == 1 and again.worker_id is None

    later = now + timedelta(seconds=12)
    second = queue.claim("w-b", now=later)
    assert second is not None and second.attempt == 2
    # The first worker comes back to life: every write it tries is refused.
    with pytest.raises(LeaseLostError):
        queue.heartbeat(first)
    with pytest.raises(LeaseLostError):
        queue.complete(first)

    reaped = queue.reap_expired(now=later + timedelta(seconds=11))
    assert [r.outcome for r in reaped] == [Status.FAILED]
    failed = store.get_task(task.id)
    assert failed is not None and failed.status == Status.FAILED
    assert failed.error == "worker lease expired 2 times; last worker w-b"
    assert failed.completed_at is not None

    events = store.events_after(task.id, 0)
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events] == [
        EventType.CREATED,
        EventType.STARTED,
        EventType.RETRYING,
        EventType.STARTED,
        EventType.FAILED,
    ]
    with db.read() as conn:
        outcomes = conn.execute(
            select(task_attempts.c.attempt, task_attempts.c.worker_id, task_attempts.c.outcome)
            .where(task_attempts.c.task_id == task.id)
            .order_by(task_attempts.c.id)
        ).all()
    assert [tuple(r) for r in outcomes] == [
        (1, "w-a", AttemptOutcome.EXPIRED),
        (2, "w-b", AttemptOutcome.EXPIRED),
    ]


def test_rerun_after_expiry_completes_with_two_attempts(store: TaskStore) -> None:
    queue = TaskQueue(store, lease_seconds=1, retry_backoff_seconds=0)
    task = store.create_task(description="x", steps=_steps(2))
    now = utcnow()
    dead = queue.claim("w-dead", now=now)
    assert dead is not None
    queue.start_step(dead, 0, "wait")
    queue.reap_expired(now=now + timedelta(seconds=2))
    claim = queue.claim("w-alive", now=now + timedelta(seconds=2))
    assert claim is not None
    # The re-run starts from a clean slate.
    assert all(s.status == StepStatus.PENDING for s in claim.task.steps)
    for i in range(2):
        queue.start_step(claim, i, "wait")
        queue.finish_step(claim, i, "wait", result={"waited_ms": 0})
    done = queue.complete(claim, {"summary": "2 steps"})
    assert done.status == Status.COMPLETED and done.attempts == 2
    final = store.get_task(task.id)
    assert final is not None
    assert [s.status for s in final.steps] == [StepStatus.SUCCEEDED] * 2
    assert final.steps[0].result == {"waited_ms": 0}


def test_heartbeat_extends_the_lease_and_reports_cancel(store: TaskStore) -> None:
    queue = TaskQueue(store, lease_seconds=10)
    store.create_task(description="x")
    now = utcnow()
    claim = queue.claim("w-1", now=now)
    assert claim is not None
    beat = queue.heartbeat(claim, now=now + timedelta(seconds=8))
    assert beat.lease_expires_at == now + timedelta(seconds=18)
    assert not beat.cancel_requested
    assert queue.reap_expired(now=now + timedelta(seconds=12)) == []
    store.cancel_task(claim.task.id)
    assert queue.heartbeat(claim).cancel_requested


def test_cancel_in_each_state(store: TaskStore, queue: TaskQueue) -> None:
    # PENDING → CANCELLED at once.
    pending = store.create_task(description="p", steps=_steps(1))
    outcome = store.cancel_task(pending.id, reason="not needed")
    assert outcome.cancelled_now and outcome.task.status == Status.CANCELLED
    assert outcome.task.steps[0].status == StepStatus.CANCELLED
    assert outcome.task.cancel_reason == "not needed"
    assert queue.claim("w-1") is None  # never claimed

    # SCHEDULED (PENDING, not yet due) → CANCELLED at once.
    scheduled = store.create_task(
        description="s", type=TaskType.SCHEDULED, scheduled_for=utcnow() + timedelta(hours=1)
    )
    assert store.cancel_task(scheduled.id).task.status == Status.CANCELLED

    # RUNNING → cancel requested; the worker stops before its next step.
    running = store.create_task(description="r", steps=_steps(3))
    claim = queue.claim("w-1")
    assert claim is not None and claim.task.id == running.id
    queue.start_step(claim, 0, "wait")
    queue.finish_step(claim, 0, "wait")
    outcome = store.cancel_task(running.id)
    assert not outcome.cancelled_now
    assert outcome.task.status == Status.RUNNING and outcome.task.cancel_requested
    # A second cancel is accepted and changes nothing.
    assert store.cancel_task(running.id).task.last_event_seq == outcome.task.last_event_seq
    with pytest.raises(CancelRequestedError):
        queue.start_step(claim, 1, "wait")
    cancelled = queue.cancel(claim)
    assert cancelled.status == Status.CANCELLED
    final = store.get_task(running.id)
    assert final is not None
    assert [s.status for s in final.steps] == [
        StepStatus.SUCCEEDED,
        StepStatus.CANCELLED,
        StepStatus.CANCELLED,
    ]

    # Terminal → refused.
    for terminal_id in (pending.id, running.id):
        with pytest.raises(TaskFinishedError):
            store.cancel_task(terminal_id)
    done = store.create_task(description="d")
    claim = queue.claim("w-1")
    assert claim is not None
    queue.complete(claim)
    with pytest.raises(TaskFinishedError, match="already completed"):
        store.cancel_task(done.id)
    with pytest.raises(TaskNotFoundError):
        store.cancel_task("00000000-0000-4000-8000-000000000000")


def test_running_task_with_dead_worker_and_cancel_ends_cancelled(store: TaskStore) -> None:
    queue = TaskQueue(store, lease_seconds=1)
    task = store.create_task(description="x")
    now = utcnow()
    assert queue.claim("w-dead", now=now) is not None
    store.cancel_task(task.id)
    [reaped] = queue.reap_expired(now=now + timedelta(seconds=5))
    assert reaped.outcome == Status.CANCELLED
    final = store.get_task(task.id)
    assert final is not None and final.status == Status.CANCELLED


def test_failed_step_skips_the_rest(store: TaskStore, queue: TaskQueue) -> None:
    task = store.create_task(description="x", steps=_steps(3))
    claim = queue.claim("w-1")
    assert claim is not None
    queue.start_step(claim, 0, "wait")
    queue.finish_step(claim, 0, "wait")
    queue.start_step(claim, 1, "click_text")
    queue.finish_step(claim, 1, "click_text", error="text 'Submit' not found on screen", attempts=1)
    failed = queue.fail(claim, "step 2 (click_text): text 'Submit' not found on screen")
    assert failed.status == Status.FAILED
    final = store.get_task(task.id)
    assert final is not None
    assert final.error == "step 2 (click_text): text 'Submit' not found on screen"
    assert [s.status for s in final.steps] == [
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.SKIPPED,
    ]
    types = [e.type for e in store.events_after(task.id, 0)]
    assert types == [
        EventType.CREATED,
        EventType.STARTED,
        EventType.STEP_STARTED,
        EventType.STEP_FINISHED,
        EventType.STEP_STARTED,
        EventType.STEP_FINISHED,
        EventType.FAILED,
    ]


def test_release_returns_the_task_without_using_an_attempt(
    store: TaskStore, queue: TaskQueue
) -> None:
    task = store.create_task(description="x")
    claim = queue.claim("w-1")
    assert claim is not None
    released = queue.release(claim)
    assert released.status == Status.PENDING and released.attempts == 0
    again = queue.claim("w-2")
    assert again is not None and again.task.id == task.id and again.attempt == 1


def test_list_tasks_pages_newest_first_with_filters(store: TaskStore) -> None:
    t0 = utcnow() - timedelta(hours=1)
    created = [
        store.create_task(
            description=f"t{i}",
            created_by="alice" if i % 2 else "bob",
            priority=Priority.HIGH if i % 3 == 0 else Priority.LOW,
            now=t0 + timedelta(seconds=i),
        )
        for i in range(7)
    ]
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = store.list_tasks(page_size=3, page_token=token)
        seen += [t.id for t in page.tasks]
        token = page.next_page_token
        if not token:
            break
    assert seen == [t.id for t in reversed(created)]

    alice = store.list_tasks(created_by="alice", page_size=50)
    assert [t.description for t in alice.tasks] == ["t5", "t3", "t1"]
    high = store.list_tasks(priorities=[Priority.HIGH], page_size=50)
    assert [t.description for t in high.tasks] == ["t6", "t3", "t0"]
    store.cancel_task(created[0].id)
    cancelled = store.list_tasks(statuses=[Status.CANCELLED])
    assert [t.id for t in cancelled.tasks] == [created[0].id]
    for bad in ("garbage!", "eyJjIjoxfQ", "e30"):
        with pytest.raises(InvalidPageTokenError):
            store.list_tasks(page_token=bad)


def test_queue_lengths_count_claimable_pending_tasks_per_priority(
    store: TaskStore, queue: TaskQueue
) -> None:
    assert store.queue_lengths() == {p: 0 for p in Priority.ALL}
    for _ in range(3):
        store.create_task(description="h", priority=Priority.HIGH)
    store.create_task(description="u", priority=Priority.URGENT)
    store.create_task(
        description="later",
        type=TaskType.SCHEDULED,
        scheduled_for=utcnow() + timedelta(hours=1),
        priority=Priority.LOW,
    )
    assert queue.claim("w-1") is not None  # the urgent one: no longer pending
    assert store.queue_lengths() == {
        Priority.LOW: 0,
        Priority.MEDIUM: 0,
        Priority.HIGH: 3,
        Priority.URGENT: 0,
    }


def test_each_claim_is_logged_once(store: TaskStore, queue: TaskQueue, db) -> None:
    for i in range(20):
        store.create_task(description=f"t{i}")
    while (claim := queue.claim("w-1")) is not None:
        queue.complete(claim)
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(task_attempts)).scalar_one()
        completed = conn.execute(
            select(func.count())
            .select_from(task_attempts)
            .where(task_attempts.c.outcome == AttemptOutcome.COMPLETED)
        ).scalar_one()
    assert total == completed == 20
