"""Load for the monitoring truth test: a few hundred real gRPC calls against a running stack,
the kinds of traffic the rules and dashboards are about.

- tasks: CreateTask/GetTask/ListTasks/WatchTask; tasks whose steps run through the worker →
  computer (mouse, keyboard, screenshot) → inference (find_text), and tasks that fail (a
  text that is not on the screen);
- computer: Screenshot, CursorPosition, MoveMouse;
- inference: FindText on a real screenshot;
- invalid requests everywhere (INVALID_ARGUMENT / NOT_FOUND: 4xx, never server errors).

`Calls` counts every call by (service, method, gRPC code), so the test can say what it sent.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import action_pb2, computer_pb2, computer_pb2_grpc
from bytebot.inference.v1 import inference_pb2, inference_pb2_grpc
from bytebot.tasks.v1 import tasks_pb2, tasks_pb2_grpc
from google.protobuf import json_format

TERMINAL = frozenset({
    tasks_pb2.TASK_STATUS_COMPLETED, tasks_pb2.TASK_STATUS_FAILED, tasks_pb2.TASK_STATUS_CANCELLED,
})
RPC_TIMEOUT = 20.0
TASK_TIMEOUT = 60.0


def actions(*steps: dict[str, Any]) -> list[action_pb2.Action]:
    return [json_format.ParseDict(step, action_pb2.Action()) for step in steps]


def desktop_steps(text_on_screen: str) -> list[action_pb2.Action]:
    """Mouse, keyboard and screenshot actions, then OCR of a text that is on the screen.
    Clicks and scrolls go to the empty top-left corner, away from any window."""
    return actions(
        {"move_mouse": {"coordinates": {"x": 40, "y": 40}}},
        {"click_mouse": {"coordinates": {"x": 5, "y": 5}}},
        {"scroll": {"coordinates": {"x": 5, "y": 5}, "direction": "SCROLL_DIRECTION_DOWN"}},
        {"type_text": {"text": "bytebot"}},
        {"screenshot": {}},
        {"find_text": {"text": text_on_screen}},
    )


def failing_steps() -> list[action_pb2.Action]:
    # a text that is not on the screen: find_text fails its step, so the task FAILS
    return actions({"screenshot": {}}, {"find_text": {"text": "qzxjvw nowhere"}})


@dataclass
class Calls:
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    tasks: dict[str, int] = field(default_factory=dict)  # task id -> final status
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, service: str, method: str, code: grpc.StatusCode) -> None:
        with self._lock:
            self.counts[(service, method, code.name)] += 1

    def call(self, service: str, method: str, fn: Callable[[], Any]) -> Any:
        """Run one unary call and count its outcome; returns the response or None."""
        try:
            response = fn()
        except grpc.RpcError as err:
            self.record(service, method, err.code())  # type: ignore[attr-defined]
            return None
        self.record(service, method, grpc.StatusCode.OK)
        return response

    def total(self, service: str | None = None, code: str | None = None) -> int:
        return sum(
            n for (s, _m, c), n in self.counts.items()
            if (service is None or s == service) and (code is None or c == code)
        )


@dataclass(frozen=True)
class StackTargets:
    tasks: str
    computer: str
    inference: str


@contextmanager
def _channels(targets: StackTargets) -> Iterator[tuple[Any, Any, Any]]:
    with grpc.insecure_channel(targets.tasks) as t, grpc.insecure_channel(
        targets.computer
    ) as c, grpc.insecure_channel(targets.inference) as i:
        yield (
            tasks_pb2_grpc.TaskServiceStub(t),
            computer_pb2_grpc.ComputerServiceStub(c),
            inference_pb2_grpc.InferenceServiceStub(i),
        )


def _run_task(tasks: Any, calls: Calls, steps: list[action_pb2.Action], name: str) -> None:
    created = calls.call("tasks", "CreateTask", lambda: tasks.CreateTask(
        tasks_pb2.CreateTaskRequest(
            description=f"monitoring truth: {name}", steps=steps, created_by="monitoring-test",
            max_attempts=1,
        ), timeout=RPC_TIMEOUT))
    if created is None:
        return
    task_id = created.task.id
    last = created.task
    try:
        for event in tasks.WatchTask(tasks_pb2.WatchTaskRequest(id=task_id), timeout=TASK_TIMEOUT):
            last = event.task
            if last.status in TERMINAL:
                break
        calls.record("tasks", "WatchTask", grpc.StatusCode.OK)
    except grpc.RpcError as err:
        calls.record("tasks", "WatchTask", err.code())  # type: ignore[attr-defined]
    for _ in range(3):
        got = calls.call("tasks", "GetTask", lambda: tasks.GetTask(
            tasks_pb2.GetTaskRequest(id=task_id), timeout=RPC_TIMEOUT))
        if got is not None:
            last = got.task
    calls.tasks[task_id] = last.status


def _computer_and_inference(computer: Any, inference: Any, calls: Calls, text: str) -> None:
    shot = calls.call("computer", "Screenshot", lambda: computer.Screenshot(
        computer_pb2.ScreenshotRequest(), timeout=RPC_TIMEOUT))
    calls.call("computer", "CursorPosition", lambda: computer.CursorPosition(
        computer_pb2.CursorPositionRequest(), timeout=RPC_TIMEOUT))
    calls.call("computer", "MoveMouse", lambda: computer.MoveMouse(
        computer_pb2.MoveMouseRequest(coordinates=common_pb2.Point(x=30, y=30)),
        timeout=RPC_TIMEOUT))
    if shot is not None:
        calls.call("inference", "FindText", lambda: inference.FindText(
            inference_pb2.FindTextRequest(image=shot.image, query=text), timeout=RPC_TIMEOUT))


def _invalid_requests(tasks: Any, computer: Any, inference: Any, calls: Calls) -> None:
    calls.call("tasks", "CreateTask", lambda: tasks.CreateTask(tasks_pb2.CreateTaskRequest(
        description="", steps=actions({"click_mouse": {"click_count": 11}})), timeout=RPC_TIMEOUT))
    calls.call("tasks", "GetTask", lambda: tasks.GetTask(
        tasks_pb2.GetTaskRequest(id="00000000-0000-4000-8000-000000000000"), timeout=RPC_TIMEOUT))
    calls.call("tasks", "ListTasks", lambda: tasks.ListTasks(
        tasks_pb2.ListTasksRequest(page_token="not a token"), timeout=RPC_TIMEOUT))
    calls.call("computer", "MoveMouse", lambda: computer.MoveMouse(
        computer_pb2.MoveMouseRequest(coordinates=common_pb2.Point(x=-5, y=100_000)),
        timeout=RPC_TIMEOUT))
    calls.call("inference", "FindText", lambda: inference.FindText(
        inference_pb2.FindTextRequest(query=""), timeout=RPC_TIMEOUT))


def generate_load(
    targets: StackTargets, text_on_screen: str, *, good_tasks: int = 6, failing_tasks: int = 2,
    rounds: int = 25, parallel: int = 4,
) -> Calls:
    """Run the load; `rounds` x (3 computer + 1 inference + 5 invalid + 2 ListTasks) calls
    next to the tasks (each task: CreateTask, WatchTask, 3 x GetTask + its steps)."""
    calls = Calls()
    with _channels(targets) as (tasks, computer, inference), ThreadPoolExecutor(parallel) as pool:
        jobs = [
            pool.submit(_run_task, tasks, calls, desktop_steps(text_on_screen), f"good {i}")
            for i in range(good_tasks)
        ] + [
            pool.submit(_run_task, tasks, calls, failing_steps(), f"failing {i}")
            for i in range(failing_tasks)
        ]
        for _ in range(rounds):
            jobs.append(pool.submit(_computer_and_inference, computer, inference, calls,
                                    text_on_screen))
            jobs.append(pool.submit(_invalid_requests, tasks, computer, inference, calls))
            for _page in range(2):
                jobs.append(pool.submit(calls.call, "tasks", "ListTasks", lambda: tasks.ListTasks(
                    tasks_pb2.ListTasksRequest(page_size=20), timeout=RPC_TIMEOUT)))
        for job in jobs:
            job.result()  # re-raise a bug in the generator itself
    return calls


def waiting_steps(seconds: int) -> list[action_pb2.Action]:
    # one `wait` step: keeps a worker slot busy without touching the desktop
    return actions({"wait": {"duration": f"{seconds}s"}})


def create_tasks(
    tasks_target: str, calls: Calls, steps: list[action_pb2.Action], count: int, *, wait: bool
) -> list[str]:
    """Create `count` tasks with `steps`; with `wait`, watch each to its end (its final status
    in `calls.tasks`). Returns the ids of the tasks created."""
    with grpc.insecure_channel(tasks_target) as channel:
        tasks = tasks_pb2_grpc.TaskServiceStub(channel)
        if wait:
            with ThreadPoolExecutor(min(count, 4)) as pool:
                for job in [pool.submit(_run_task, tasks, calls, steps, f"fault {i}")
                            for i in range(count)]:
                    job.result()
            return list(calls.tasks)
        ids = []
        for i in range(count):
            created = calls.call("tasks", "CreateTask", lambda i=i: tasks.CreateTask(
                tasks_pb2.CreateTaskRequest(
                    description=f"monitoring truth: backlog {i}", steps=steps,
                    created_by="monitoring-test", max_attempts=1,
                ), timeout=RPC_TIMEOUT))
            if created is not None:
                ids.append(created.task.id)
        return ids


def cancel_tasks(tasks_target: str, calls: Calls, ids: list[str]) -> None:
    with grpc.insecure_channel(tasks_target) as channel:
        tasks = tasks_pb2_grpc.TaskServiceStub(channel)
        for task_id in ids:
            calls.call("tasks", "CancelTask", lambda task_id=task_id: tasks.CancelTask(
                tasks_pb2.CancelTaskRequest(id=task_id), timeout=RPC_TIMEOUT))


def screenshots_until(
    computer_target: str, calls: Calls, stop: Callable[[], bool], limit: int
) -> None:
    """Screenshot calls until `stop()` says so or `limit` calls were made (bounded)."""
    with grpc.insecure_channel(computer_target) as channel:
        computer = computer_pb2_grpc.ComputerServiceStub(channel)
        for i in range(limit):
            calls.call("computer", "Screenshot", lambda: computer.Screenshot(
                computer_pb2.ScreenshotRequest(), timeout=5))
            if i % 10 == 9 and stop():
                return


__all__ = ["TERMINAL", "Calls", "StackTargets", "cancel_tasks", "create_tasks", "failing_steps",
           "generate_load", "screenshots_until", "waiting_steps"]
