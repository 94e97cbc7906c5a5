"""The worker's spans continue the trace of the request that created the task, and its
failure messages say which step failed and why (a real unreachable computer service)."""

from __future__ import annotations

import asyncio
import socket

import grpc
from bytebot.computer.v1 import action_pb2, computer_pb2, computer_pb2_grpc
from bytebot.inference.v1 import inference_pb2_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from libs.observability import tracing
from services.tasks.db import Database
from services.tasks.executor import RetryPolicy, StepExecutor
from services.tasks.metrics import TaskMetrics
from services.tasks.queue import TaskQueue
from services.tasks.records import Status, StepInput, StepStatus
from services.tasks.store import TaskStore
from services.tasks.worker import TaskWorker, WorkerOptions


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_task_process_span_continues_the_creating_trace(db: Database) -> None:
    exporter = InMemorySpanExporter()
    tracing.configure("tasks-test", exporters=[exporter], processor="simple")
    try:
        store = TaskStore(db)
        wait = action_pb2.Action(wait=computer_pb2.WaitRequest())
        with tracing.traced("client.create_task") as creator:
            task = store.create_task(
                description="traced",
                correlation_id="corr-trace-1",
                trace_context=tracing.inject_context(),
                steps=[StepInput("wait", wait.SerializeToString())],
            )
        creator_ctx = creator.get_span_context()

        async def run() -> None:
            target = f"127.0.0.1:{_closed_port()}"  # nothing listens: UNAVAILABLE
            async with grpc.aio.insecure_channel(target) as channel:
                executor = StepExecutor(
                    computer_pb2_grpc.ComputerServiceStub(channel),
                    inference_pb2_grpc.InferenceServiceStub(channel),
                    rpc_timeout_seconds=2,
                    retry=RetryPolicy(max_attempts=2, initial_backoff_seconds=0.05),
                )
                worker = TaskWorker(
                    db,
                    TaskQueue(store),
                    executor,
                    TaskMetrics(CollectorRegistry()),
                    WorkerOptions(worker_id="w-trace", poll_interval_seconds=0.05),
                )
                runner = asyncio.create_task(worker.run())
                for _ in range(200):
                    current = await db.run(store.get_task, task.id)
                    if current is not None and current.terminal:
                        break
                    await asyncio.sleep(0.05)
                await worker.drain(5)
                runner.cancel()

        asyncio.run(run())
    finally:
        tracing.shutdown()

    final = store.get_task(task.id)
    assert final is not None and final.status == Status.FAILED
    assert final.error is not None
    assert final.error.startswith("step 1 (wait): UNAVAILABLE after 2 attempts"), final.error
    assert final.steps[0].status == StepStatus.FAILED and final.steps[0].attempts == 2

    spans = {s.name: s for s in exporter.get_finished_spans()}
    process = spans["task.process"]
    assert process.context.trace_id == creator_ctx.trace_id
    assert process.parent is not None and process.parent.span_id == creator_ctx.span_id
    assert [link.context.span_id for link in process.links] == [creator_ctx.span_id]
    assert process.attributes["task.id"] == task.id
    step = spans["task.step"]
    assert step.parent is not None and step.parent.span_id == process.context.span_id
    assert step.attributes["step.kind"] == "wait"
    assert not step.status.is_ok
