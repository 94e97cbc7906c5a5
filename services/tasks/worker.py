"""The task worker: claims tasks from the queue and executes their steps.

Per task: a lease renewed by a heartbeat, one `task.process` span (a child of, and linked
to, the span that created the task, from the stored trace context) with a `task.step` span
per step, under the task's correlation id and user id so every log line and outgoing call
carries them. Steps run in order; a cancel request stops the task before the next step; a
failed step fails the task with "step N (kind): why"; a task running longer than
`task_timeout_seconds` fails with that.

Lease lost: the steps run in their own asyncio task, which is cancelled as soon as the
worker learns the lease is gone, interrupting the desktop action in flight (its RPC is
cancelled), and the task is dropped without writing anything more. The worker learns it
when a write is refused by the fence (`LeaseLostError`: another worker claimed the task),
or, on its own clock, when no heartbeat has renewed the lease within the lease period (a
database it cannot reach: by then the reaper may have given the task to someone else).

Shutdown: `stop()` stops claiming; `drain()` waits up to a grace period for running tasks,
then interrupts the rest and gives them back to the queue (`release`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass

from bytebot.computer.v1 import action_pb2
from opentelemetry import trace
from opentelemetry.trace import Link, StatusCode
from opentelemetry.trace import Status as SpanStatus

from libs.observability.correlation import correlation_scope
from libs.observability.logging import get_logger
from libs.observability.tracing import extract_context, traced
from libs.runtime.supervised_loop import describe_error
from services.tasks.convert import step_output_dict
from services.tasks.db import Database
from services.tasks.executor import StepExecutor, StepFailedError
from services.tasks.metrics import TaskMetrics
from services.tasks.queue import CancelRequestedError, LeaseLostError, TaskQueue
from services.tasks.queue_watch import QueueWatch
from services.tasks.records import Claim, Status, TaskRecord

log = get_logger(__name__)

NOT_READY_PAUSE_SECONDS = 0.2


def default_worker_id() -> str:
    return f"w-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class WorkerOptions:
    worker_id: str
    concurrency: int = 1
    # Idle: probe the queue every poll_interval_seconds, backing off to poll_max_interval_seconds
    # (see QueueWatch); queue events in this process or over LISTEN wake the worker at once.
    poll_interval_seconds: float = 0.1
    poll_max_interval_seconds: float = 1.0
    heartbeat_interval_seconds: float = 10.0
    task_timeout_seconds: float = 3600.0
    reap_interval_seconds: float = 5.0


@dataclass
class _Running:
    claim: Claim
    job: asyncio.Task[None]
    lease_lost: bool = False
    current_step: str = ""
    # The event loop's clock just before the claim (the lease cannot have started earlier).
    asked_at: float = 0.0
    # The asyncio task running the steps: cancelled when the lease is lost.
    steps: asyncio.Task[TaskRecord] | None = None

    def lose_lease(self, why: str) -> None:
        """Stop executing at once: the task is no longer ours to act on or write."""
        if self.lease_lost:
            return
        self.lease_lost = True
        log.warning("lease lost; cancelling the running step", taskId=self.claim.task.id,
                    step=self.current_step, reason=why)
        if self.steps is not None:
            self.steps.cancel()


class TaskWorker:
    def __init__(
        self,
        db: Database,
        queue: TaskQueue,
        executor: StepExecutor,
        metrics: TaskMetrics,
        options: WorkerOptions,
        *,
        may_claim: Callable[[], bool] = lambda: True,
        watch: QueueWatch | None = None,
    ) -> None:
        self.db = db
        self.may_claim = may_claim
        self.queue = queue
        self.executor = executor
        self.metrics = metrics
        self.options = options
        self._slots = asyncio.Semaphore(options.concurrency)
        self._stopping = asyncio.Event()
        self._running: dict[str, _Running] = {}
        self.watch = watch or QueueWatch(
            queue.store,
            min_interval=options.poll_interval_seconds,
            max_interval=options.poll_max_interval_seconds,
        )

    @property
    def worker_id(self) -> str:
        return self.options.worker_id

    @property
    def busy(self) -> int:
        return len(self._running)

    # ---- claiming ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Claim and start tasks until `stop()`."""
        log.info("worker started", workerId=self.worker_id, concurrency=self.options.concurrency)
        self.watch.start()
        try:
            while not self._stopping.is_set():
                await self._slots.acquire()
                if self._stopping.is_set():
                    self._slots.release()
                    break
                if not self.may_claim():
                    # Not ready (a dependency is down, or still starting): an in-memory
                    # check, so look again soon.
                    self._slots.release()
                    await self._pause(
                        min(NOT_READY_PAUSE_SECONDS, self.options.poll_interval_seconds)
                    )
                    continue
                try:
                    # Before the claim: the lease the database grants starts after this.
                    asked_at = asyncio.get_running_loop().time()
                    claim = await self._claim()
                except Exception as exc:
                    self._slots.release()
                    log.warning("claim failed; database unavailable?", error=_describe(exc))
                    await self._pause(self.options.poll_max_interval_seconds)
                    continue
                if claim is None:
                    self._slots.release()
                    await self.watch.wait(self._stopping)
                    continue
                self.watch.activity()
                self._start(claim, asked_at)
        finally:
            self.watch.close()

    async def _claim(self) -> Claim | None:
        """One claim; if we are cancelled (shutdown) while the database thread is claiming,
        wait for it and give the task straight back instead of leaving it leased."""
        attempt = asyncio.ensure_future(self.db.run(self.queue.claim, self.worker_id))
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                claim = await attempt
                if claim is not None:
                    await self.db.run(self.queue.release, claim, "worker stopped while claiming")
            raise

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    def _start(self, claim: Claim, asked_at: float) -> None:
        job = asyncio.create_task(self._process(claim), name=f"task-{claim.task.id}")
        self._running[claim.task.id] = _Running(claim=claim, job=job, asked_at=asked_at)

        def _done(_: asyncio.Task[None]) -> None:
            self._running.pop(claim.task.id, None)
            self._slots.release()

        job.add_done_callback(_done)

    def stop(self) -> None:
        self._stopping.set()

    async def drain(self, grace_seconds: float) -> None:
        """Wait for running tasks up to `grace_seconds`, then release the rest to the queue."""
        self.stop()
        jobs = [r.job for r in self._running.values()]
        if not jobs:
            return
        _done, pending = await asyncio.wait(jobs, timeout=grace_seconds)
        for job in pending:
            job.cancel()
        if pending:
            await asyncio.wait(pending, timeout=10)

    # ---- one task ---------------------------------------------------------------------------

    async def _process(self, claim: Claim) -> None:
        task = claim.task
        state = self._running[task.id]
        parent = extract_context(task.trace_context) if task.trace_context else None
        creator = trace.get_current_span(parent).get_span_context() if parent else None
        links = (
            [Link(creator, {"bytebot.link": "task.create"})]
            if creator and creator.is_valid
            else None
        )
        attributes = {
            "task.id": task.id,
            "task.type": task.type.lower(),
            "task.priority": task.priority,
            "task.attempt": claim.attempt,
            "task.steps": task.step_count,
            "worker.id": self.worker_id,
        }
        with (
            correlation_scope(task.correlation_id or None, user_id=task.created_by or None),
            traced("task.process", attributes, context=parent, links=links) as span,
        ):
            log.info("task started", taskId=task.id, attempt=claim.attempt, steps=task.step_count)
            state.steps = asyncio.create_task(self._run_with_timeout(state))
            heartbeat = asyncio.create_task(self._heartbeat(state))
            try:
                final = await state.steps
            except LeaseLostError as exc:
                state.lose_lease(str(exc))
                log.warning("task dropped: lease lost", taskId=task.id, error=str(exc))
                span.set_status(SpanStatus(StatusCode.ERROR, "lease lost"))
                return
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if state.lease_lost and not (current and current.cancelling()):
                    # Our own cancel of the steps (lease lost), not a shutdown.
                    log.warning("task dropped: lease lost", taskId=task.id,
                                step=state.current_step)
                    span.set_status(SpanStatus(StatusCode.ERROR, "lease lost"))
                    return
                if not state.lease_lost:
                    await self._release(claim)
                raise
            except Exception as exc:
                # A database failure: the lease will expire and the task be retried.
                log.error("task aborted", taskId=task.id, error=_describe(exc), exc_info=True)
                span.set_status(SpanStatus(StatusCode.ERROR, _describe(exc)))
                return
            finally:
                heartbeat.cancel()
            span.set_attribute("task.status", final.status.lower())
            if final.status == Status.FAILED:
                span.set_status(SpanStatus(StatusCode.ERROR, final.error or "failed"))
            self.metrics.record_outcome(final)
            log.info(
                f"task {final.status.lower()}",
                taskId=task.id,
                status=final.status,
                error=final.error,
            )

    async def _release(self, claim: Claim) -> None:
        try:
            await asyncio.shield(self.db.run(self.queue.release, claim))
            log.info("task released to the queue", taskId=claim.task.id)
        except LeaseLostError:
            pass
        except Exception as exc:
            log.warning("release failed; the lease will expire", error=_describe(exc))

    async def _run_with_timeout(self, state: _Running) -> TaskRecord:
        timeout = self.options.task_timeout_seconds
        try:
            async with asyncio.timeout(timeout) as cm:
                return await self._run_steps(state)
        except TimeoutError:
            if not cm.expired():
                raise
            during = f" during {state.current_step}" if state.current_step else ""
            return await self.db.run(
                self.queue.fail, state.claim, f"task timed out after {timeout:g}s{during}"
            )

    async def _run_steps(self, state: _Running) -> TaskRecord:
        claim = state.claim
        steps = claim.task.steps
        for step in steps:
            if state.lease_lost:
                raise LeaseLostError(f"task {claim.task.id}: lease lost")
            action = action_pb2.Action.FromString(step.action)
            kind = step.kind
            label = f"step {step.index + 1} ({kind})"
            try:
                await self.db.run(self.queue.start_step, claim, step.index, kind)
            except CancelRequestedError:
                return await self._cancel(claim, before=label)
            state.current_step = label
            attributes = {"step.index": step.index, "step.kind": kind, "task.id": claim.task.id}
            if action.name:
                attributes["step.name"] = action.name
            with traced("task.step", attributes) as span:
                try:
                    outcome = await self.executor.execute(action)
                except StepFailedError as failure:
                    reason = str(failure)
                    span.set_status(SpanStatus(StatusCode.ERROR, reason))
                    await self.db.run(
                        self.queue.finish_step,
                        claim,
                        step.index,
                        kind,
                        error=reason,
                        attempts=failure.attempts,
                    )
                    return await self.db.run(self.queue.fail, claim, f"{label}: {reason}")
                span.set_attribute("step.attempts", outcome.attempts)
            await self.db.run(
                self.queue.finish_step,
                claim,
                step.index,
                kind,
                result=step_output_dict(outcome.output),
                attempts=outcome.attempts,
            )
        state.current_step = ""
        summary = f"{len(steps)} step{'s' if len(steps) != 1 else ''} completed"
        return await self.db.run(self.queue.complete, claim, {"summary": summary})

    async def _cancel(self, claim: Claim, before: str) -> TaskRecord:
        reason = (await self.db.run(self._cancel_reason, claim.task.id)) or ""
        message = f"cancelled before {before}" + (f": {reason}" if reason else "")
        return await self.db.run(self.queue.cancel, claim, message)

    def _cancel_reason(self, task_id: str) -> str:
        record = self.queue.store.get_task(task_id, with_steps=False)
        return record.cancel_reason if record else ""

    async def _heartbeat(self, state: _Running) -> None:
        """Renew the lease every heartbeat interval. A refused renewal, or none succeeding
        within the lease period by this process's clock (measured from the start of the last
        renewal that worked, so never later than the database's expiry), loses the lease."""
        loop = asyncio.get_running_loop()
        interval = self.options.heartbeat_interval_seconds
        lease = self.queue.lease.total_seconds()
        valid_until = state.asked_at + lease
        while True:
            await asyncio.sleep(max(0.0, min(interval, valid_until - loop.time())))
            started = loop.time()
            if started >= valid_until:  # e.g. the process was paused: act no further
                state.lose_lease(f"no renewal within the {lease:g}s lease")
                return
            try:
                async with asyncio.timeout_at(valid_until) as deadline:
                    await self.db.run(self.queue.heartbeat, state.claim)
            except LeaseLostError as exc:
                state.lose_lease(str(exc))
                return
            except TimeoutError as exc:
                if deadline.expired():
                    state.lose_lease(f"no renewal within the {lease:g}s lease")
                    return
                log.warning("heartbeat failed", taskId=state.claim.task.id, error=_describe(exc))
                continue
            except Exception as exc:
                log.warning("heartbeat failed", taskId=state.claim.task.id, error=_describe(exc))
                continue
            valid_until = started + lease

    # ---- housekeeping -----------------------------------------------------------------------

    async def reap_forever(self) -> None:
        """Return tasks of dead workers to the queue (any worker may do it for all)."""
        while not self._stopping.is_set():
            try:
                for reaped in await self.db.run(self.queue.reap_expired):
                    log.warning(
                        "lease expired",
                        taskId=reaped.task.id,
                        worker=reaped.worker_id,
                        outcome=reaped.outcome,
                        attempts=reaped.task.attempts,
                    )
                    self.metrics.record_outcome(reaped.task)
            except Exception as exc:
                log.warning("lease reaper failed", error=_describe(exc))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.reap_interval_seconds):
                    await self._stopping.wait()


def _describe(exc: BaseException) -> str:
    return describe_error(exc, 500)
