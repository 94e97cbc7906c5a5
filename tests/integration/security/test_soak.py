"""Soak (issue 9 item 7): 1,000 tasks through 2 worker processes while one of them is
SIGKILLed and restarted again and again. Every task ends in exactly one terminal state, none
is lost, none completes twice; the api, computer and surviving worker keep a flat RSS
(growth < 10 % from warm-up to the end). Real processes, real Xvfb, SQLite in a tmp dir."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import grpc
import pytest
from bytebot.computer.v1 import action_pb2, computer_pb2
from bytebot.tasks.v1 import tasks_pb2, tasks_pb2_grpc

from services.tasks.testing.processes import ServiceProcess

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]

TASKS = 1000
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def test_soak_1000_tasks_two_workers_one_killed_repeatedly(tmp_path):
    db_file = tmp_path / "tasks.db"
    db = f"sqlite:///{db_file}"
    computer = ServiceProcess(
        "computer", {"file_root": str(tmp_path)}, env={"DISPLAY": ""}
    ).start(90)
    api = ServiceProcess("tasks-api", {"database_url": db}).start()
    lease = {
        "database_url": db,
        "computer_address": computer.grpc_target,
        "worker_dependencies": "database,computer",
        "lease_seconds": 1.5,
        "heartbeat_interval_seconds": 0.3,
        "reap_interval_seconds": 0.3,
        "retry_backoff_seconds": 0,
        "poll_interval_seconds": 0.1,
    }
    steady = ServiceProcess("tasks-worker", {**lease, "worker_id": "w-steady"}).start()
    victims: list[ServiceProcess] = []
    kills = 0
    try:
        step = action_pb2.Action(cursor_position=computer_pb2.CursorPositionRequest())
        ids: list[str] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def submit(n: int) -> None:
            try:
                submit_all(n)
            except BaseException as exc:
                errors.append(exc)

        def submit_all(n: int) -> None:
            with grpc.insecure_channel(api.grpc_target) as channel:
                stub = tasks_pb2_grpc.TaskServiceStub(channel)
                for i in range(n):
                    reply = stub.CreateTask(tasks_pb2.CreateTaskRequest(
                        description=f"soak {i}", steps=[step], max_attempts=10), timeout=30)
                    with lock:
                        ids.append(reply.task.id)

        submitters = [threading.Thread(target=submit, args=(TASKS // 4,)) for _ in range(4)]
        for t in submitters:
            t.start()

        def counts() -> dict[str, int]:
            with sqlite3.connect(db_file, timeout=30) as conn:
                return dict(conn.execute("select status, count(*) from tasks group by status"))

        warm: dict[str, int] = {}
        deadline = time.monotonic() + 240
        next_kill = time.monotonic() + 1.0
        victim = ServiceProcess("tasks-worker", {**lease, "worker_id": "w-victim-0"}).start()
        victims.append(victim)
        while True:
            done = sum(counts().get(s, 0) for s in TERMINAL)
            if not warm and done >= 300:
                warm = {p.service + str(i): rss_bytes(p.proc.pid)  # type: ignore[union-attr]
                        for i, p in enumerate((api, computer, steady))}
            if done >= TASKS and all(not t.is_alive() for t in submitters):
                break
            assert not errors, errors[0]
            assert time.monotonic() < deadline, f"soak did not finish: {counts()}"
            if time.monotonic() >= next_kill:
                victim.kill()  # SIGKILL: whatever it held comes back after the lease
                kills += 1
                victim = ServiceProcess(
                    "tasks-worker", {**lease, "worker_id": f"w-victim-{kills}"}
                ).start()
                victims.append(victim)
                next_kill = time.monotonic() + 1.5
            time.sleep(0.2)
        final = {p.service + str(i): rss_bytes(p.proc.pid)  # type: ignore[union-attr]
                 for i, p in enumerate((api, computer, steady))}
        for t in submitters:
            t.join(30)
        assert len(ids) == TASKS and len(set(ids)) == TASKS

        with sqlite3.connect(db_file, timeout=30) as conn:
            statuses = dict(conn.execute("select id, status from tasks"))
            terminal_events = dict(conn.execute(
                "select task_id, count(*) from task_events where type in "
                "('COMPLETED', 'FAILED', 'CANCELLED') group by task_id"))
            completions = dict(conn.execute(
                "select task_id, count(*) from task_attempts where outcome = 'completed' "
                "group by task_id"))
        assert set(statuses) == set(ids), "a task was lost"
        assert all(statuses[i] in TERMINAL for i in ids)
        assert all(terminal_events.get(i) == 1 for i in ids), "a task ended twice"
        assert max(completions.values()) == 1, "a task completed twice"
        outcome: dict[str, int] = {}
        for status in statuses.values():
            outcome[status] = outcome.get(status, 0) + 1
        growth = {name: final[name] / warm[name] - 1 for name in warm}
        print(f"\nsoak: {TASKS} tasks, {kills} SIGKILLs of a worker, outcome {outcome}, "
              "RSS growth after warm-up: "
              + ", ".join(f"{n} {g:+.1%} ({final[n] / 2**20:.0f} MiB)" for n, g in growth.items()))
        assert outcome.get("COMPLETED") == TASKS
        assert all(g < 0.10 for g in growth.values()), growth
    finally:
        for process in (*victims, steady, api, computer):
            if process.proc and process.proc.poll() is None:
                process.proc.send_signal(signal.SIGTERM)
        for process in (*victims, steady, api, computer):
            process.stop()
