"""`bytebot task watch` across a restart of the tasks API: the watch resumes after the last
event it showed, so the events are all there, once each, in order."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from bytebot.tasks.v1 import tasks_pb2

from services.tasks.db import Database
from services.tasks.queue import TaskQueue
from services.tasks.store import TaskStore
from services.tasks.testing.databases import sqlite_url
from services.tasks.testing.processes import ServiceProcess, subprocess_env

REPO = Path(__file__).resolve().parents[3]
API_SETTINGS = {"watch_poll_seconds": 0.05, "shutdown_grace_seconds": 0.5}


def _api(url: str, port: str = "0") -> ServiceProcess:
    api = ServiceProcess("tasks-api", {"database_url": url, **API_SETTINGS})
    api.args[api.args.index("--grpc-port") + 1] = port  # the restarted API takes the same port
    return api.start()


def _lines(stream: Any, out: queue.Queue[str]) -> None:
    for line in stream:
        out.put(line)


def test_watch_resumes_after_the_api_restarts(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    api = _api(url)
    port = api.grpc_target.rsplit(":", 1)[1]
    db = Database(url)
    store = TaskStore(db)
    task_queue = TaskQueue(store, lease_seconds=60)
    watch = None
    try:
        task = store.create_task(description="survive a restart", steps=[])
        watch = subprocess.Popen(
            [sys.executable, "-m", "libs.runtime.cli", "task", "watch", task.id, "--json",
             "--target", api.grpc_target],
            cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        shown: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(watch.stdout, shown), daemon=True).start()
        assert json.loads(shown.get(timeout=30))["type"] == "TASK_EVENT_TYPE_SNAPSHOT"
        claim = task_queue.claim("w-restart")
        assert claim is not None
        assert json.loads(shown.get(timeout=30))["type"] == "TASK_EVENT_TYPE_STARTED"

        api.stop()  # the watch stream breaks
        task_queue.start_step(claim, 0, "wait")  # happens while no API is up
        api = _api(url, port)
        task_queue.finish_step(claim, 0, "wait", result={})
        task_queue.complete(claim, {"summary": "done"})

        assert watch.wait(timeout=60) == 0
        rest = [json.loads(shown.get(timeout=5)) for _ in range(3)]
        assert shown.empty()
        assert [e["type"] for e in rest] == [
            "TASK_EVENT_TYPE_STEP_STARTED", "TASK_EVENT_TYPE_STEP_FINISHED",
            "TASK_EVENT_TYPE_COMPLETED"]
        assert [int(e["eventSequence"]) for e in rest] == [3, 4, 5]
        assert rest[-1]["task"]["status"] == tasks_pb2.TaskStatus.Name(
            tasks_pb2.TASK_STATUS_COMPLETED)
        assert "resuming after event 2" in watch.stderr.read()
    finally:
        if watch is not None and watch.poll() is None:
            watch.kill()
        api.stop()
        db.close()
