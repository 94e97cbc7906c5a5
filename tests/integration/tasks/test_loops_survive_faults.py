"""Issue 17 item 4: every background loop of the tasks services survives an exception with an
empty message (`TimeoutError()`, whose `str(exc).splitlines()[0]` raised IndexError inside the
old `except` and killed the loop silently) and goes on doing its job:

- the SQLite event poller of a real tasks-api: WatchTask still hears a change written by
  another process after the poller met TimeoutError() three times;
- the queue-length refresh: `bytebot_task_queue_length` moves again after the fault, and a
  refresh failing beyond its tolerance turns gRPC readiness NOT_SERVING, SERVING on recovery;
- an idle worker's queue probe: the wait goes on and finds the task;
- PostgreSQL LISTEN (worker and API flavour): reconnects and hears the next NOTIFY.

The faults are injected into the database call each loop makes (the loop is the thing under
test; the database is real).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from bytebot.tasks.v1 import tasks_pb2 as T
from bytebot.tasks.v1 import tasks_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from libs.runtime.server import start_service
from services.tasks import migrate
from services.tasks.db import Database
from services.tasks.main import API_ENTRY
from services.tasks.notifications import PostgresListener, SqliteEventPoller
from services.tasks.queue_watch import QueueWatch
from services.tasks.store import TaskStore
from services.tasks.testing.databases import sqlite_url

METRIC = "bytebot_background_loop_failures_total"
REPO = Path(__file__).resolve().parents[3]


class Fault:
    """Makes `owner.name` raise TimeoutError() (empty message) on its first `times` calls,
    and on every call while `broken` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, times: int):
        self.calls = 0
        self.raised = 0
        self.broken = False
        original: Callable[..., Any] = getattr(owner, name)

        def faulty(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.raised < times or self.broken:
                self.raised += 1
                raise TimeoutError()
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, faulty)


async def until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


def _later() -> T.CreateTaskRequest:
    request = T.CreateTaskRequest(description="watched", type=T.TASK_TYPE_SCHEDULED)
    request.scheduled_for.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
    return request


def _cancel_in_another_process(url: str, task_id: str) -> None:
    """A write this process cannot hear on LOCAL_BUS: only the SQLite poller can see it."""
    code = (
        "import sys\n"
        "from services.tasks.db import Database\n"
        "from services.tasks.store import TaskStore\n"
        "db = Database(sys.argv[1])\n"
        "TaskStore(db).cancel_task(sys.argv[2], reason='from another process')\n"
        "db.close()\n"
    )
    subprocess.run([sys.executable, "-c", code, url, task_id], cwd=REPO, check=True, timeout=60)


def test_watch_on_sqlite_hears_other_process_after_poller_timeouts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sqlite_url(tmp_path)
    fault = Fault(monkeypatch, SqliteEventPoller, "_since", times=3)
    settings = {
        "database_url": url,
        "watch_poll_seconds": 0.02,
        # the per-stream safety-net re-read is then every 60 s: within this test only the
        # poller can deliver the other process's change
        "watch_poll_max_seconds": 60,
        "loop_backoff_max_seconds": 0.2,
    }

    async def scenario() -> None:
        async with start_service(API_ENTRY, settings) as service:
            poller = service.runtime.loops.loops["task_event_poller"]
            async with grpc.aio.insecure_channel(service.grpc_target) as channel:
                stub = tasks_pb2_grpc.TaskServiceStub(channel)
                task = (await stub.CreateTask(_later(), timeout=10)).task
                stream = stub.WatchTask(T.WatchTaskRequest(id=task.id), timeout=45)
                first = await stream.read()
                assert first.type == T.TASK_EVENT_TYPE_SNAPSHOT
                await until(lambda: fault.raised == 3, "three TimeoutError() in the poller")
                looks = poller.iterations
                await until(lambda: poller.iterations > looks + 2, "the poller looking again")
                assert poller.failures == 3 and poller.healthy()
                await asyncio.to_thread(_cancel_in_another_process, url, task.id)
                events = []
                while (event := await stream.read()) is not grpc.aio.EOF:
                    events.append(event)
                assert events and events[-1].task.status == T.TASK_STATUS_CANCELLED, events
                registry = service.registry
                assert registry.get_sample_value(METRIC, {"loop": "task_event_poller"}) == 3.0

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_queue_gauge_recovers_and_readiness_follows_the_refresh_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = Fault(monkeypatch, TaskStore, "queue_lengths", times=2)
    settings = {
        "database_url": sqlite_url(tmp_path),
        "queue_length_refresh_seconds": 0.05,
        "loop_backoff_max_seconds": 0.1,
        "loop_failure_tolerance_seconds": 0.5,
        "health_check_interval_seconds": 60,  # only the loop's own refresh flips readiness
    }
    gauge = ("bytebot_task_queue_length", {"priority": "medium"})

    async def scenario() -> None:
        async with start_service(API_ENTRY, settings) as service:
            refresh = service.runtime.loops.loops["queue_length_refresh"]
            async with grpc.aio.insecure_channel(service.grpc_target) as channel:
                stub = tasks_pb2_grpc.TaskServiceStub(channel)
                health = health_pb2_grpc.HealthStub(channel)

                async def readiness() -> int:
                    request = health_pb2.HealthCheckRequest(service="readiness")
                    return (await health.Check(request, timeout=5)).status

                await until(lambda: fault.raised == 2, "two TimeoutError() in the refresh")
                await stub.CreateTask(T.CreateTaskRequest(description="queued"), timeout=10)
                await until(
                    lambda: service.registry.get_sample_value(*gauge) == 1.0,
                    "the queue gauge moving after the faults",
                )
                assert refresh.failures == 2
                assert await readiness() == health_pb2.HealthCheckResponse.SERVING

                # Now it fails for good: beyond the 0.5 s tolerance readiness goes down...
                fault.broken = True
                while await readiness() != health_pb2.HealthCheckResponse.NOT_SERVING:
                    await asyncio.sleep(0.05)
                code, body = service.health.ready_body()
                assert code == 503
                assert body["checks"]["loop:queue_length_refresh"]["status"] == "error"
                assert "TimeoutError" in body["checks"]["loop:queue_length_refresh"]["error"]
                # ...and comes back with the first refresh that works.
                fault.broken = False
                while await readiness() != health_pb2.HealthCheckResponse.SERVING:
                    await asyncio.sleep(0.05)
                assert refresh.healthy()

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_idle_worker_probe_survives_timeouts_and_finds_the_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(sqlite_url(tmp_path))
    migrate.upgrade(db)
    store = TaskStore(db)
    fault = Fault(monkeypatch, TaskStore, "next_available_at", times=3)
    # never started: no in-process wake-ups, only the probe can find the task
    watch = QueueWatch(store, min_interval=0.01, max_interval=0.05)

    async def scenario() -> None:
        stopping = asyncio.Event()
        waiting = asyncio.create_task(watch.wait(stopping))
        await until(lambda: fault.raised == 3, "three TimeoutError() in the probe")
        await asyncio.to_thread(store.create_task, description="due now")
        await asyncio.wait_for(waiting, 20)  # returned normally: a task is claimable

    try:
        asyncio.run(scenario())
    finally:
        db.close()
    assert watch.probe_health.failures == 3
    assert watch.probe_health.healthy() and watch.probe_health.consecutive_failures == 0


def test_postgres_listener_reconnects_after_timeout_and_hears_notify(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(postgres_url)
    migrate.upgrade(db)
    store = TaskStore(db, notify_channel="bytebot_loop_fault_test")
    fault = Fault(monkeypatch, PostgresListener, "_listen", times=2)
    heard: list[str] = []
    got = threading.Event()

    def on_payload(payload: str) -> None:
        heard.append(payload)
        got.set()

    listener = PostgresListener(
        db.url, "bytebot_loop_fault_test", on_payload, lambda: None,
        reconnect_delay_seconds=0.02, name="queue_listener",
    )
    loop = listener.supervised(backoff_max=0.1)

    async def scenario() -> None:
        runner = asyncio.create_task(listener.run())
        try:
            await until(listener.connected.is_set, "the listener connected after 2 faults")
            task = await asyncio.to_thread(store.create_task, description="notify me")
            await until(got.is_set, "the NOTIFY of the new task")
            assert heard[0].startswith(task.id)
        finally:
            runner.cancel()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        db.close()
    assert fault.raised == 2 and loop.failures == 2
    assert loop.consecutive_failures == 0  # connected: the streak ended
