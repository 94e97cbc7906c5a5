"""The real stack (`bytebot up`: five processes, a real Xvfb, real OCR) drives a real Tk
window: a task [screenshot, find_text "Submit", click_text "Submit"] completes and the
window records the click; one trace spans tasks-api → tasks-worker → computer → inference;
every log line about the task carries the request's correlation id; the CLI shows the fleet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import grpc
import pytest
from bytebot.computer.v1 import action_pb2
from bytebot.tasks.v1 import tasks_pb2, tasks_pb2_grpc
from google.protobuf import json_format

from tests.support.stack import REPO

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

TERMINAL = {tasks_pb2.TASK_STATUS_COMPLETED, tasks_pb2.TASK_STATUS_FAILED,
            tasks_pb2.TASK_STATUS_CANCELLED}
SERVICES = ("tasks-api", "tasks-worker", "computer", "inference")
STEPS = [{"screenshot": {}}, {"find_text": {"text": "Submit"}}, {"click_text": {"text": "Submit"}}]


def steps() -> list[action_pb2.Action]:
    return [json_format.ParseDict(s, action_pb2.Action()) for s in STEPS]


def bytebot(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'protos'}"}
    return subprocess.run([sys.executable, "-m", "libs.runtime.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def run_task(stack, correlation_id: str) -> tasks_pb2.Task:
    with grpc.insecure_channel(stack.grpc("tasks-api")) as channel:
        stub = tasks_pb2_grpc.TaskServiceStub(channel)
        metadata = [("x-correlation-id", correlation_id)]
        created = stub.CreateTask(tasks_pb2.CreateTaskRequest(
            description="click Submit", steps=steps(), created_by="e2e"), metadata=metadata,
            timeout=10).task
        assert created.correlation_id == correlation_id
        last = created
        for event in stub.WatchTask(tasks_pb2.WatchTaskRequest(id=created.id), timeout=90):
            last = event.task
            if last.status in TERMINAL:
                break
        return last


def test_a_task_clicks_submit_in_one_trace_with_one_correlation_id(stack, submit_window, otlp):
    correlation_id = f"e2e-{uuid.uuid4()}"
    task = run_task(stack, correlation_id)
    assert task.status == tasks_pb2.TASK_STATUS_COMPLETED, (task.error, task.step_results)
    assert [r.status for r in task.step_results] == [tasks_pb2.STEP_STATUS_SUCCEEDED] * 3
    clicked = task.step_results[2].output.point
    assert clicked.x > 0 and clicked.y > 0
    deadline = time.monotonic() + 10
    while "clicked Submit" not in submit_window.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert submit_window.read_text().count("clicked Submit") == 1

    # one trace: the task.process span's trace holds spans of all four services
    deadline = time.monotonic() + 20
    while True:
        spans = otlp.snapshot()
        roots = [s for s in spans if s.name == "task.process"
                 and s.attributes.get("task.id") == task.id]
        in_trace = [s for s in spans if roots and s.trace_id == roots[0].trace_id]
        services = {s.service for s in in_trace}
        names = {(s.service, s.name) for s in in_trace}
        clicked_span = any(svc == "computer" and "ClickMouse" in n for svc, n in names)
        # spans arrive in batches per process: wait for the last hop's too
        if (set(SERVICES) <= services and clicked_span) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert roots, "no task.process span was exported"
    assert set(SERVICES) <= services, f"trace {roots[0].trace_id} only has {services}"
    assert ("tasks-api", "bytebot.tasks.v1.TaskService/CreateTask") in names
    assert any(svc == "inference" and "FindText" in name for svc, name in names)
    assert any(svc == "computer" and "ClickMouse" in name for svc, name in names), names

    # logs: each process logged about this request, and every line naming the task
    # carries the request's correlation id
    time.sleep(0.5)  # the last access log lines are flushed as the call ends
    for service in SERVICES:
        lines = stack.logs(service)
        ours = [line for line in lines if line.get("correlationId") == correlation_id]
        assert ours, f"{service} logged nothing with correlationId {correlation_id}"
        about_task = [line for line in lines if task.id in json.dumps(line)]
        wrong = [line for line in about_task if line.get("correlationId") != correlation_id]
        assert not wrong, f"{service}: lines about the task without its correlation id: {wrong}"


def test_cli_task_health_and_slo_against_the_stack(stack, submit_window):
    created = bytebot("task", "--json", "--address", stack.grpc("tasks-api"), "create",
                      "--description", "cli task", "--step", '{"screenshot":{}}')
    assert created.returncode == 0, created.stderr
    task_id = json.loads(created.stdout)["id"]
    watched = bytebot("task", "--json", "--address", stack.grpc("tasks-api"), "watch", task_id)
    assert watched.returncode == 0, watched.stderr
    # the stream ends at the terminal state (a SNAPSHOT only, when it finished already)
    assert "TASK_STATUS_COMPLETED" in watched.stdout.splitlines()[-1]

    telemetry = stack.grpc("telemetry")
    health = bytebot("health", "--target", telemetry)
    assert health.returncode == 0, health.stdout + health.stderr
    lines = health.stdout.splitlines()
    assert lines[0].startswith("fleet HEALTHY")
    assert lines[1].split() == ["SERVICE", "TARGET", "STATUS", "LIVENESS", "READINESS",
                                "STARTUP", "ERROR"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert sorted(rows) == sorted([*SERVICES, "telemetry"])
    assert all(row[2] == "SERVING" for row in rows.values())
    assert rows["computer"][1] == stack.grpc("computer")

    as_json = json.loads(bytebot("health", "--target", telemetry, "--json").stdout)
    assert as_json["status"] == "FLEET_STATUS_HEALTHY" and len(as_json["services"]) == 5

    slo = bytebot("slo", "--target", telemetry, "--window", "5m")
    assert slo.returncode in (0, 1), slo.stderr  # 1 only when an indicator is BREACHED
    table = {line.split()[0]: line.split() for line in slo.stdout.splitlines()[2:]}
    # the tasks above ran: desktop actions and task durations have data now
    assert table["computer_operation_latency_p95"][1] != "-"
    assert table["task_processing_time_p95"][1] != "-"
    assert table["memory_usage"][-1] in ("OK", "WARNING", "BREACHED")


def test_the_stack_stops_gracefully(stack):
    code = stack.stop()
    stderr = stack.stderr()
    assert code == 0, stderr
    summary = next(line for line in stderr.splitlines() if line.startswith("stopped:"))
    for service in (*SERVICES, "telemetry"):
        assert f"{service} exited with code 0" in summary
