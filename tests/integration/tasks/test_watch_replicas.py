"""WatchTask on one API replica sees the changes made through another replica and by a
worker process: PostgreSQL LISTEN/NOTIFY across three processes."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from bytebot.tasks.v1 import tasks_pb2 as T
from bytebot.tasks.v1 import tasks_pb2_grpc

from services.tasks.testing.processes import ServiceProcess, stop_all

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


class Watcher:
    """Reads a WatchTask stream in a thread, timing each message."""

    def __init__(self, stub: Any, task_id: str) -> None:
        self.events: list[tuple[float, Any]] = []
        self.error: BaseException | None = None
        self._call = stub.WatchTask(T.WatchTaskRequest(id=task_id), timeout=30)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for event in self._call:
                self.events.append((time.monotonic(), event))
        except grpc.RpcError as exc:
            self.error = exc

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.events) >= count, (self.events, self.error)

    def join(self, timeout: float = 20.0) -> list[Any]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not end at the terminal status"
        assert self.error is None, self.error
        return [e for _, e in self.events]


def test_watch_on_replica_b_follows_changes_through_replica_a_and_a_worker(
    postgres_url: str,
) -> None:
    common = {"database_url": postgres_url, "health_check_interval_seconds": 1}
    # B re-reads the table only every 60 s on its own: within this test only a NOTIFY
    # can wake it.
    api_a = ServiceProcess("tasks-api", {**common, "watch_poll_seconds": 60}).launch()
    api_b = ServiceProcess("tasks-api", {**common, "watch_poll_seconds": 60}).launch()
    worker = ServiceProcess(
        "tasks-worker",
        {**common, "worker_dependencies": "database", "poll_interval_seconds": 0.1},
    ).launch()
    procs = [api_a, api_b, worker]
    try:
        for proc in procs:  # all three migrated the same empty schema at once
            proc.wait_started(60)
        a = tasks_pb2_grpc.TaskServiceStub(grpc.insecure_channel(api_a.grpc_target))
        b = tasks_pb2_grpc.TaskServiceStub(grpc.insecure_channel(api_b.grpc_target))

        # 1. Cancelled through A, seen on B.
        later = T.CreateTaskRequest(description="cancel me", type=T.TASK_TYPE_SCHEDULED)
        later.scheduled_for.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
        cancel_me = a.CreateTask(later).task
        watch = Watcher(b, cancel_me.id)
        watch.wait_for(1)
        sent = time.monotonic()
        a.CancelTask(T.CancelTaskRequest(id=cancel_me.id, reason="replica test"))
        events = watch.join()
        assert [e.type for e in events] == [
            T.TASK_EVENT_TYPE_SNAPSHOT,
            T.TASK_EVENT_TYPE_CANCELLED,
        ]
        assert watch.events[1][0] - sent < 5  # NOTIFY, not the 60 s poll
        assert "replica test" in events[1].message

        # 2. Created through A, executed by the worker, watched on B from before it starts.
        soon = T.CreateTaskRequest(description="run me", type=T.TASK_TYPE_SCHEDULED)
        soon.scheduled_for.FromDatetime(datetime.now(UTC) + timedelta(seconds=2))
        run_me = a.CreateTask(soon).task
        watch = Watcher(b, run_me.id)
        events = watch.join()
        assert [(e.sequence, e.type, e.task.status) for e in events] == [
            (1, T.TASK_EVENT_TYPE_SNAPSHOT, T.TASK_STATUS_PENDING),
            (2, T.TASK_EVENT_TYPE_STARTED, T.TASK_STATUS_RUNNING),
            (3, T.TASK_EVENT_TYPE_COMPLETED, T.TASK_STATUS_COMPLETED),
        ]
        started_at = events[1].task.executed_at.ToDatetime(tzinfo=UTC)
        assert started_at >= soon.scheduled_for.ToDatetime(tzinfo=UTC)  # not claimed early
    finally:
        codes = stop_all(procs)
    assert codes == [0, 0, 0]
