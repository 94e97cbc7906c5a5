"""Idle workers start new tasks at once, not at their next poll: over PostgreSQL LISTEN for a
task created by another process, and in-process when the API and the worker share one
process (SQLite). Every poll interval here is 30 s, so only a wake-up can be this quick."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from bytebot.tasks.v1 import tasks_pb2 as T
from bytebot.tasks.v1 import tasks_pb2_grpc

from libs.runtime.server import start_service
from services.tasks import migrate
from services.tasks.db import Database
from services.tasks.main import API_ENTRY, WORKER_ENTRY
from services.tasks.records import Status
from services.tasks.store import TaskStore
from services.tasks.testing.databases import sqlite_url
from services.tasks.testing.processes import REPO, subprocess_env

SLOW_POLLS = {
    "poll_interval_seconds": 30,
    "poll_max_interval_seconds": 30,
    "health_check_interval_seconds": 0.2,
    "worker_dependencies": "database",
    "queue_length_refresh_seconds": 60,
}
CREATE_ELSEWHERE = (
    "import sys\n"
    "from services.tasks.db import Database\n"
    "from services.tasks.store import TaskStore\n"
    "db = Database(sys.argv[1])\n"
    "print(TaskStore(db).create_task(description='from another process').id)\n"
    "db.close()\n"
)


async def _until_ready(svc: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not svc.runtime.health.snapshot().ready:
        assert time.monotonic() < deadline, "the worker never became ready"
        await asyncio.sleep(0.05)


async def _until_terminal(store: TaskStore, task_id: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        task = await asyncio.to_thread(store.get_task, task_id, with_steps=False)
        if task is not None and task.terminal:
            return task
        assert time.monotonic() < deadline, f"task not finished within {timeout}s"
        await asyncio.sleep(0.02)


@pytest.mark.postgres
def test_worker_listens_for_tasks_created_by_another_process(postgres_url: str) -> None:
    db = Database(postgres_url)
    migrate.upgrade(db)
    store = TaskStore(db)

    async def main() -> float:
        async with start_service(WORKER_ENTRY, {"database_url": postgres_url, **SLOW_POLLS}) as svc:
            await _until_ready(svc)
            await asyncio.sleep(0.5)  # idle: its one probe found nothing; next one in 30 s
            created = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-c", CREATE_ELSEWHERE, postgres_url],
                cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=60,
            )
            assert created.returncode == 0, created.stderr
            since = time.monotonic()
            task = await _until_terminal(store, created.stdout.strip(), 10)
            assert task.status == Status.COMPLETED
            return time.monotonic() - since

    try:
        assert asyncio.run(main()) < 5  # NOTIFY, not the 30 s poll
    finally:
        db.close()


def test_api_and_worker_in_one_process_wake_each_other(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    slow_watch = {"watch_poll_seconds": 30, "watch_poll_max_seconds": 30}

    async def main() -> tuple[float, list[Any]]:
        async with (
            start_service(API_ENTRY, {"database_url": url, **slow_watch}) as api,
            start_service(WORKER_ENTRY, {"database_url": url, **SLOW_POLLS}) as worker,
        ):
            await _until_ready(worker)
            await asyncio.sleep(0.5)
            stub = tasks_pb2_grpc.TaskServiceStub(api.channel())
            started = time.monotonic()
            task = (await stub.CreateTask(T.CreateTaskRequest(description="same process"))).task
            events = [e async for e in stub.WatchTask(T.WatchTaskRequest(id=task.id))]
            return time.monotonic() - started, events

    elapsed, events = asyncio.run(main())
    assert events[-1].task.status == T.TASK_STATUS_COMPLETED
    assert elapsed < 5  # both woken in-process: neither the 30 s worker nor watch poll
