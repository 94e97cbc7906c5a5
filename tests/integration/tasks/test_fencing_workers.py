"""Lease fencing with real workers (in-process TaskWorkers over a real database, steps on the
real computer service): a worker that lost its lease stops its desktop action at once and
writes nothing; its late writes are refused and counted; the new holder's result stands."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from bytebot.computer.v1 import computer_pb2_grpc
from bytebot.inference.v1 import inference_pb2_grpc
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.tasks.db import Database
from services.tasks.executor import StepExecutor
from services.tasks.metrics import TaskMetrics
from services.tasks.queue import STALE_WRITE_OPERATIONS, LeaseLostError, TaskQueue
from services.tasks.records import AttemptOutcome, Claim, EventType, Status, utcnow
from services.tasks.schema import task_attempts
from services.tasks.store import TaskStore
from services.tasks.testing.processes import ServiceProcess
from services.tasks.testing.steps import wait_ms
from services.tasks.worker import TaskWorker, WorkerOptions

pytestmark = pytest.mark.slow

LONG_STEP_MS = 4000  # the step the first worker is in when it loses its lease


class _Worker:
    """One in-process worker with its own metrics registry, over the real computer."""

    def __init__(self, db: Database, store: TaskStore, target: str, worker_id: str,
                 *, lease: float, heartbeat: float) -> None:
        self.registry = CollectorRegistry()
        self.metrics = TaskMetrics(self.registry)
        self.queue = TaskQueue(store, lease_seconds=lease, retry_backoff_seconds=0,
                               on_stale_write=self.metrics.stale_write)
        self.channel = grpc.aio.insecure_channel(target)
        executor = StepExecutor(computer_pb2_grpc.ComputerServiceStub(self.channel),
                                inference_pb2_grpc.InferenceServiceStub(self.channel))
        self.worker = TaskWorker(db, self.queue, executor, self.metrics, WorkerOptions(
            worker_id=worker_id, poll_interval_seconds=0.05,
            heartbeat_interval_seconds=heartbeat))
        self.run = asyncio.create_task(self.worker.run())

    def stale(self) -> dict[str, float]:
        return {op: self.registry.get_sample_value(
            "bytebot_task_stale_writes_total", {"operation": op}) or 0.0
            for op in STALE_WRITE_OPERATIONS}

    async def close(self) -> None:
        await self.worker.drain(5)
        self.run.cancel()
        await asyncio.gather(self.run, return_exceptions=True)
        await self.channel.close()


async def _until(predicate: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := await asyncio.to_thread(predicate)):
        assert time.monotonic() < deadline, f"timed out after {timeout:g}s waiting for {what}"
        await asyncio.sleep(0.02)
    return value


def _in_step(store: TaskStore, task_id: str) -> bool:
    return any(e.type == EventType.STEP_STARTED for e in store.events_after(task_id, 0))


def test_a_worker_whose_task_was_claimed_again_cancels_its_step_and_writes_nothing(
    db: Database, store: TaskStore, computer: ServiceProcess
) -> None:
    task = store.create_task(description="fenced", steps=[wait_ms(LONG_STEP_MS)])

    async def scenario() -> tuple[_Worker, Any]:
        a = _Worker(db, store, computer.grpc_target, "w-a", lease=30, heartbeat=0.2)
        await _until(lambda: _in_step(store, task.id), "worker A to start the step")
        a.worker.stop()  # A claims nothing more: B must be the one to take the task
        running = a.worker._running[task.id]
        record = store.get_task(task.id)
        assert record is not None and record.fence == 1
        claim_a = Claim(task=record, worker_id="w-a", attempt=1,
                        lease_expires_at=record.lease_expires_at, fence=record.fence)
        # A's lease expires as another worker, B, sees it (B's clock is past A's lease),
        # while A, alive, is in the middle of its 4 s desktop action: B's reaper requeues
        # the task and B claims it, with the next token.
        later = utcnow() + timedelta(seconds=31)
        b = TaskQueue(store, retry_backoff_seconds=0)
        assert [r.task.id for r in b.reap_expired(now=later)] == [task.id]
        claim_b = b.claim("w-b", now=later)
        assert claim_b is not None and claim_b.fence == 2
        # A's next renewal is refused: it cancels the step in flight and drops the task.
        await asyncio.wait_for(running.job, 20)
        assert running.lease_lost and running.steps is not None and running.steps.cancelled()
        assert a.worker.busy == 0
        # A's writes that arrive late anyway (a process paused between check and write).
        for late in (
            lambda: a.queue.heartbeat(claim_a),
            lambda: a.queue.finish_step(claim_a, 0, "wait", result={"late": True}),
            lambda: a.queue.complete(claim_a, {"summary": "A's late result"}),
        ):
            with pytest.raises(LeaseLostError):
                late()
        # B's writes go through.
        b.start_step(claim_b, 0, "wait")
        b.finish_step(claim_b, 0, "wait", result={"by": "w-b"})
        b.complete(claim_b, {"summary": "done by w-b"})
        with pytest.raises(LeaseLostError):
            a.queue.complete(claim_a, {"summary": "A's late result"})
        await a.close()
        return a, store.get_task(task.id)

    a, final = asyncio.run(scenario())
    assert final.status == Status.COMPLETED and final.worker_id == "w-b"
    assert final.result == {"summary": "done by w-b"} and final.fence == 2
    assert [s.result for s in final.steps] == [{"by": "w-b"}]
    assert a.stale() == {**dict.fromkeys(STALE_WRITE_OPERATIONS, 0.0),
                         "heartbeat": 2, "finish_step": 1, "complete": 2}
    events = store.events_after(task.id, 0)
    assert [e.type for e in events] == [
        EventType.CREATED, EventType.STARTED, EventType.STEP_STARTED, EventType.RETRYING,
        EventType.STARTED, EventType.STEP_STARTED, EventType.STEP_FINISHED,
        EventType.COMPLETED,
    ]
    with db.read() as conn:
        attempts = conn.execute(
            select(task_attempts.c.worker_id, task_attempts.c.outcome)
            .where(task_attempts.c.task_id == task.id).order_by(task_attempts.c.id)
        ).all()
    assert [tuple(r) for r in attempts] == [("w-a", AttemptOutcome.EXPIRED),
                                            ("w-b", AttemptOutcome.COMPLETED)]


def test_a_worker_that_cannot_renew_within_its_lease_stops_by_its_own_clock(
    db: Database, store: TaskStore, computer: ServiceProcess
) -> None:
    """No renewal within the lease (here: heartbeats rarer than the lease; in life a database
    it cannot reach or a paused process): the worker stops the action and writes nothing,
    before anyone could have taken the task over."""
    task = store.create_task(description="self-fenced", steps=[wait_ms(LONG_STEP_MS)])

    async def scenario() -> _Worker:
        a = _Worker(db, store, computer.grpc_target, "w-a", lease=1, heartbeat=60)
        await _until(lambda: _in_step(store, task.id), "worker A to start the step")
        a.worker.stop()
        running = a.worker._running[task.id]
        await asyncio.wait_for(running.job, 20)
        assert running.lease_lost and running.steps is not None and running.steps.cancelled()
        await a.close()
        return a

    a = asyncio.run(scenario())
    assert a.stale() == dict.fromkeys(STALE_WRITE_OPERATIONS, 0.0)  # it did not even try
    record = store.get_task(task.id)
    assert record is not None
    # Untouched since the step started: the reaper will give it to another worker.
    assert (record.status, record.worker_id, record.fence) == (Status.RUNNING, "w-a", 1)
    assert [e.type for e in store.events_after(task.id, 0)][-1] == EventType.STEP_STARTED
