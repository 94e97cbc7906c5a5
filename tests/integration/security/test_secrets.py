"""Secrets never reach a log line, a span or a metric label (issue 9 item 8).

The whole stack runs in this process with token+JWT authentication: tasks-api, tasks-worker,
computer (own Xvfb), inference, telemetry. Distinctive secrets go through every path we
have: valid and invalid bearer tokens (static and JWT) on every service, the worker's own
service token, `sensitive` text typed and pasted directly and through a task the worker
executes, and passwords/tokens in request metadata. Then every captured stdout/stderr line,
the log files, every span (name, attributes, events, status) of an in-memory exporter and
every metric sample of every service is searched: zero occurrences.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import grpc
import pytest
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import action_pb2, computer_pb2, computer_pb2_grpc
from bytebot.inference.v1 import inference_pb2, inference_pb2_grpc
from bytebot.tasks.v1 import tasks_pb2, tasks_pb2_grpc
from bytebot.telemetry.v1 import telemetry_pb2, telemetry_pb2_grpc
from grpc import aio
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from libs.observability import tracing
from libs.runtime.server import start_service
from tests.integration.security.material import (
    HS256_SECRET,
    TOKENS,
    make_jwt,
    write_tokens_file,
)

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]

ALICE_TOKEN = TOKENS["alice"][0]
WORKER_TOKEN = TOKENS["worker-1"][0]
BAD_TOKEN = "tok-BOGUS-SECRET-7d3f0a99e1c24b58"
TYPED = "SENSITIVE-typed-5b1e9c0d"
PASTED = "SENSITIVE-pasted-77ad1f3e"
TASK_TYPED = "SENSITIVE-task-typed-a1b2c3d4"
TASK_PASTED = "SENSITIVE-task-pasted-e5f6a7b8"
PASSWORD = "hunter2-PASSWORD-0c9e41aa"
API_KEY = "apikey-SECRET-92b7c1d0ffee"
# Not a secret: a positive control proving request values are visible to the search.
CANARY = "corr-CANARY-3e8d1f0b"


def auth(token: str) -> tuple[tuple[str, str], ...]:
    return (
        ("authorization", f"Bearer {token}"),
        ("x-api-password", PASSWORD),
        ("x-api-key", API_KEY),
    )


async def expect(code: grpc.StatusCode, awaitable: Any) -> Any:
    try:
        result = await awaitable
    except aio.AioRpcError as exc:
        assert exc.code() is code, exc.details()
        return None
    assert code is grpc.StatusCode.OK
    return result


def test_no_secret_in_logs_spans_or_metrics(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    (tmp_path / "hs").write_text(HS256_SECRET)
    (tmp_path / "worker-token").write_text(WORKER_TOKEN + "\n")
    jwt_token = make_jwt("carol", ["user"], issuer=None, audience=None)
    common = {
        "auth_mode": "token+jwt",
        "tokens_file": str(write_tokens_file(tmp_path / "tokens")),
        "jwt_hs256_secret_file": str(tmp_path / "hs"),
        "production_mode": True,
        "log_dir": str(tmp_path / "logs"),
    }
    db = f"sqlite:///{tmp_path / 'tasks.db'}"
    exporter = InMemorySpanExporter()
    metrics_text: list[str] = []

    async def scenario() -> None:
        from services.computer.main import ENTRY as COMPUTER
        from services.inference.main import ENTRY as INFERENCE
        from services.tasks.main import API_ENTRY, WORKER_ENTRY
        from services.telemetry.main import ENTRY as TELEMETRY

        async with (
            start_service(COMPUTER, {**common, "file_root": str(tmp_path / "files")}) as computer,
            start_service(INFERENCE, common) as inference,
            start_service(API_ENTRY, {**common, "database_url": db}) as api,
            start_service(
                WORKER_ENTRY,
                {
                    **common,
                    "database_url": db,
                    "computer_address": computer.grpc_target,
                    "inference_address": inference.grpc_target,
                    "client_token_file": str(tmp_path / "worker-token"),
                    "poll_interval_seconds": 0.2,
                },
            ) as worker,
            start_service(
                TELEMETRY,
                {**common, "services": {"computer": computer.grpc_target,
                                        "tasks-api": api.grpc_target}},
            ) as telemetry,
        ):
            # every service configured tracing anew; the last provider is the live one
            assert tracing._state.provider is not None
            tracing._state.provider.add_span_processor(SimpleSpanProcessor(exporter))
            await drive(computer, inference, api, telemetry, jwt_token)
            for svc in (computer, inference, api, worker, telemetry):
                with urllib.request.urlopen(f"{svc.http_url}/metrics", timeout=10) as reply:
                    metrics_text.append(reply.read().decode())

    asyncio.run(asyncio.wait_for(scenario(), 180))
    captured = capfd.readouterr()
    sinks: dict[str, str] = {
        "stdout": captured.out,
        "stderr": captured.err,
        "metrics": "\n".join(metrics_text),
        "spans": "\n".join(span.to_json() for span in exporter.get_finished_spans()),
    }
    for path in sorted((tmp_path / "logs").rglob("*")):
        if path.is_file():
            sinks[f"log file {path.name}"] = path.read_text(errors="replace")
    assert len(exporter.get_finished_spans()) > 20  # the spans really were captured
    assert '"finished call"' in captured.out and "grpc_server_handled_total" in sinks["metrics"]
    assert CANARY in captured.out, "positive control: request values reach the captured logs"
    secrets = {
        "alice token": ALICE_TOKEN,
        "worker token": WORKER_TOKEN,
        "invalid token": BAD_TOKEN,
        "jwt": jwt_token,
        "jwt signature": jwt_token.rsplit(".", 1)[1],
        "hs256 secret": HS256_SECRET,
        "typed sensitive text": TYPED,
        "pasted sensitive text": PASTED,
        "task typed sensitive text": TASK_TYPED,
        "task pasted sensitive text": TASK_PASTED,
        "password metadata": PASSWORD,
        "api key metadata": API_KEY,
    }
    leaks = []
    for secret_name, secret in secrets.items():
        for fragment in {secret, secret[-16:]}:  # truncated copies count too
            for sink, text in sinks.items():
                if fragment in text:
                    at = text.index(fragment)
                    leaks.append(f"{secret_name} in {sink}: …{text[max(0, at - 160):at + 40]}…")
    assert not leaks, "\n".join(leaks)


async def drive(computer: Any, inference: Any, api: Any, telemetry: Any, jwt_token: str) -> None:
    ok = grpc.StatusCode.OK
    unauth = grpc.StatusCode.UNAUTHENTICATED
    denied = grpc.StatusCode.PERMISSION_DENIED
    async with (
        aio.insecure_channel(computer.grpc_target) as c_ch,
        aio.insecure_channel(inference.grpc_target) as i_ch,
        aio.insecure_channel(api.grpc_target) as t_ch,
        aio.insecure_channel(telemetry.grpc_target) as m_ch,
    ):
        desk = computer_pb2_grpc.ComputerServiceStub(c_ch)
        ocr = inference_pb2_grpc.InferenceServiceStub(i_ch)
        tasks = tasks_pb2_grpc.TaskServiceStub(t_ch)
        fleet = telemetry_pb2_grpc.TelemetryServiceStub(m_ch)
        typed = computer_pb2.TypeTextRequest(text=TYPED, sensitive=True)
        pasted = computer_pb2.PasteTextRequest(text=PASTED, sensitive=True)
        # the desktop: only the worker identity (production mode); users and bad tokens fail
        await expect(ok, desk.TypeText(typed, metadata=auth(WORKER_TOKEN), timeout=30))
        await expect(ok, desk.PasteText(pasted, metadata=auth(WORKER_TOKEN), timeout=30))
        await expect(denied, desk.TypeText(typed, metadata=auth(ALICE_TOKEN), timeout=10))
        await expect(unauth, desk.PasteText(pasted, metadata=auth(BAD_TOKEN), timeout=10))
        # a sensitive text that is invalid (too long) is rejected without being echoed
        too_long = computer_pb2.TypeTextRequest(text=TYPED * 700, sensitive=True)
        await expect(grpc.StatusCode.INVALID_ARGUMENT,
                     desk.TypeText(too_long, metadata=auth(WORKER_TOKEN), timeout=10))
        await expect(ok, ocr.GetDeviceInfo(inference_pb2.GetDeviceInfoRequest(),
                                           metadata=auth(WORKER_TOKEN), timeout=10))
        await expect(unauth, ocr.ListModels(inference_pb2.ListModelsRequest(),
                                            metadata=auth(BAD_TOKEN), timeout=10))
        # tasks: static token and JWT users, bad token; a task typing and pasting secrets
        steps = [
            action_pb2.Action(type_text=computer_pb2.TypeTextRequest(text=TASK_TYPED,
                                                                     sensitive=True)),
            action_pb2.Action(paste_text=computer_pb2.PasteTextRequest(text=TASK_PASTED,
                                                                       sensitive=True)),
            action_pb2.Action(move_mouse=computer_pb2.MoveMouseRequest(
                coordinates=common_pb2.Point(x=5, y=5))),
        ]
        created = await expect(ok, tasks.CreateTask(
            tasks_pb2.CreateTaskRequest(description="types secrets", steps=steps),
            metadata=auth(ALICE_TOKEN), timeout=10,
        ))
        await expect(ok, tasks.ListTasks(
            tasks_pb2.ListTasksRequest(),
            metadata=(*auth(jwt_token), ("x-correlation-id", CANARY)), timeout=10,
        ))
        await expect(unauth, tasks.ListTasks(tasks_pb2.ListTasksRequest(),
                                             metadata=auth(BAD_TOKEN), timeout=10))
        await expect(unauth, tasks.GetTask(tasks_pb2.GetTaskRequest(id=created.task.id),
                                           metadata=(("authorization", BAD_TOKEN),), timeout=10))
        await expect(ok, fleet.GetSystemHealth(telemetry_pb2.GetSystemHealthRequest(),
                                               metadata=auth(jwt_token), timeout=10))
        await expect(unauth, fleet.GetSloReport(telemetry_pb2.GetSloReportRequest(),
                                                metadata=auth(BAD_TOKEN), timeout=10))
        # wait for the worker to execute the task through computer (worker token on the hop)
        deadline = time.monotonic() + 90
        terminal = {tasks_pb2.TASK_STATUS_COMPLETED, tasks_pb2.TASK_STATUS_FAILED,
                    tasks_pb2.TASK_STATUS_CANCELLED}
        while True:
            reply = await tasks.GetTask(tasks_pb2.GetTaskRequest(id=created.task.id),
                                        metadata=auth(ALICE_TOKEN), timeout=10)
            if reply.task.status in terminal:
                break
            assert time.monotonic() < deadline, "the task did not finish"
            await asyncio.sleep(0.2)
        assert reply.task.status == tasks_pb2.TASK_STATUS_COMPLETED, json.dumps(
            {"status": reply.task.status, "error": reply.task.error})
