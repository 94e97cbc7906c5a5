"""Generated requests for every RPC of every service (issue 9 item 5).

Each service runs in-process (`start_service`) on a loop in a background thread: tasks-api on
SQLite in a tmp dir, computer on its own Xvfb (files confined to a tmp root, applications
limited to harmless entries, waits and typing clamped), inference on the CPU backend,
telemetry probing an address where nothing listens. Every answer must be OK or a well-formed
client error and the service must still be ready afterwards. Cases per RPC are printed
(`pytest -s`); `BYTEBOT_FUZZ_EXAMPLES=N` raises the examples per RPC (default 50).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import computer_pb2
from bytebot.inference.v1 import inference_pb2
from bytebot.tasks.v1 import tasks_pb2
from bytebot.telemetry.v1 import telemetry_pb2
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import strategies as st

from tests.fuzz.harness import SERVING, Fuzzer, FuzzReport, readiness
from tests.fuzz.strategies import RequestStrategies, small_png
from tests.support.service_thread import ServiceThread

pytestmark = pytest.mark.slow

MAX_MESSAGE = 4 * 1024 * 1024  # the services' limit in these runs; huge strings stay below it
HUGE = 300_000

KEYS = st.sampled_from(["a", "Return", "ctrl", "shift", "F1", "space", "Escape", "BackSpace"])
POINT = st.builds(common_pb2.Point, x=st.integers(0, 1279), y=st.integers(0, 959))


def finish(report: FuzzReport, channel: grpc.Channel) -> None:
    print("\n" + report.table())
    for finding in report.findings.values():
        print("  FINDING", finding)
    status = readiness(channel)
    assert status == SERVING, f"{report.service} is not ready after fuzzing: {status}"
    fuzzed = {name.removesuffix("[wire]") for name in report.cases}
    assert fuzzed == {m.name for m in _service(report.service).methods}
    assert not report.findings, "\n".join(str(f) for f in report.findings.values())


def _service(full_name: str) -> Any:
    from google.protobuf import descriptor_pool

    return descriptor_pool.Default().FindServiceByName(full_name)


@pytest.fixture
def running() -> Iterator[Any]:
    threads: list[ServiceThread] = []

    def start(entry: Any, overrides: dict[str, Any]) -> ServiceThread:
        thread = ServiceThread(entry, {"max_message_bytes": MAX_MESSAGE, **overrides})
        threads.append(thread)
        return thread.start(timeout=90)

    yield start
    for thread in threads:
        thread.stop()


def test_fuzz_tasks_api(running, tmp_path):
    from services.tasks.main import API_ENTRY

    svc = running(API_ENTRY, {"database_url": f"sqlite:///{tmp_path / 'tasks.db'}"}).service
    with grpc.insecure_channel(svc.grpc_target) as channel:
        from bytebot.tasks.v1 import tasks_pb2_grpc

        stub = tasks_pb2_grpc.TaskServiceStub(channel)
        ids = [
            stub.CreateTask(
                tasks_pb2.CreateTaskRequest(description=f"fuzz seed {i}"), timeout=10
            ).task.id
            for i in range(3)
        ]
        from bytebot.computer.v1 import action_pb2

        valid_step = st.builds(
            lambda x, y: action_pb2.Action(
                move_mouse=computer_pb2.MoveMouseRequest(coordinates=common_pb2.Point(x=x, y=y))
            ),
            st.integers(0, 1279), st.integers(0, 959),
        )
        hints = {
            "id": st.sampled_from(ids),
            "page_token": st.sampled_from(["", "abc", "0"]),
            "description": st.text(min_size=1, max_size=40),
            "bytebot.computer.v1.Action": valid_step,
        }
        fuzzer = Fuzzer(
            channel,
            tasks_pb2.DESCRIPTOR.services_by_name["TaskService"],
            RequestStrategies(huge_max=HUGE, hints=hints),
        )
        finish(fuzzer.run(), channel)


def test_fuzz_telemetry(running):
    from services.telemetry.main import ENTRY

    nowhere = "127.0.0.1:1"
    svc = running(
        ENTRY,
        {
            "services": {"nowhere": nowhere},
            "metrics_urls": {"nowhere": "http://127.0.0.1:1/metrics"},
            "probe_timeout_seconds": 0.3,
            "scrape_timeout_seconds": 0.3,
        },
    ).service
    with grpc.insecure_channel(svc.grpc_target) as channel:
        fuzzer = Fuzzer(
            channel,
            telemetry_pb2.DESCRIPTOR.services_by_name["TelemetryService"],
            RequestStrategies(huge_max=HUGE, hints={"service": st.sampled_from(["nowhere"])}),
            stream_messages=1,
        )
        finish(fuzzer.run(), channel)


def test_fuzz_inference(running):
    from services.inference.main import ENTRY

    svc = running(ENTRY, {}).service
    png = small_png()
    image = st.builds(
        common_pb2.Image, data=st.just(png), format=st.sampled_from([0, 1, 2, 7]),
        width=st.sampled_from([0, 64]), height=st.sampled_from([0, 24]),
    )
    rect = st.builds(common_pb2.Rect, x=st.integers(0, 8), y=st.integers(0, 8),
                     width=st.integers(1, 64), height=st.integers(1, 24))
    hints = {
        "bytebot.common.v1.Image": image,
        "bytebot.common.v1.Rect": rect,
        "query": st.sampled_from(["OK", "ok", "x"]),
    }
    with grpc.insecure_channel(svc.grpc_target, options=[
        ("grpc.max_send_message_length", MAX_MESSAGE * 2),
    ]) as channel:
        fuzzer = Fuzzer(
            channel,
            inference_pb2.DESCRIPTOR.services_by_name["InferenceService"],
            RequestStrategies(huge_max=HUGE, hints=hints),
        )
        finish(fuzzer.run(), channel)


_DURATION_FIELDS = {"delay", "duration"}


def make_safe(method: str, request: Any) -> None:
    """Keep valid-but-slow computer requests fast: valid waits/delays ≤ 50 ms, valid text
    short, valid repeat counts small. Invalid values stay as generated (they are rejected
    before anything happens, and that rejection is what we test)."""
    for field, value in request.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.name in _DURATION_FIELDS and 0 <= value.seconds <= 300 and value.nanos >= 0:
            value.seconds = 0
            value.nanos = min(value.nanos, 50_000_000)
    if method == "TypeText" and len(request.text) <= 5000:
        request.text = request.text[:20]
    if method == "PasteText" and len(request.text) <= 10_000:
        request.text = request.text[:50]
    if method == "ClickMouse" and 1 <= request.click_count <= 10:
        request.click_count = min(request.click_count, 2)
    if method == "Scroll" and 1 <= request.scroll_count <= 100:
        request.scroll_count = min(request.scroll_count, 3)


@pytest.mark.xvfb
def test_fuzz_computer(running, tmp_path, monkeypatch):
    from services.computer.applications import DEFAULT_APPLICATIONS
    from services.computer.main import ENTRY

    monkeypatch.delenv("DISPLAY", raising=False)  # the service starts its own Xvfb
    jail = tmp_path / "jail"
    root = jail / "desktop"
    root.mkdir(parents=True)
    applications: dict[str, Any] = {name: None for name in DEFAULT_APPLICATIONS}
    applications["harmless"] = {"command": ["true"], "window_class": "none.None"}
    svc = running(
        ENTRY,
        {
            "display": None,
            "file_root": str(root),
            "applications": applications,
            "click_interval_seconds": 0.0,
            "scroll_interval_seconds": 0.0,
            "xvfb_screen": "1280x960x24",
        },
    ).service
    hints = {
        "keys": KEYS,
        "hold_keys": KEYS,
        "application": st.sampled_from(["harmless", "firefox", "desktop"]),
        "path": st.sampled_from(["notes.txt", "a/b/c.bin", "../escape.txt", "/etc/hostname",
                                 str(jail / "outside.txt"), "", "."]),
        "bytebot.common.v1.Point": POINT,
    }
    with grpc.insecure_channel(svc.grpc_target, options=[
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ]) as channel:
        fuzzer = Fuzzer(
            channel,
            computer_pb2.DESCRIPTOR.services_by_name["ComputerService"],
            RequestStrategies(huge_max=HUGE, hints=hints),
            mutate=make_safe,
        )
        report = fuzzer.run()
        # nothing was written outside the file root
        assert sorted(p.name for p in jail.iterdir()) == ["desktop"]
        assert os.path.realpath(root).startswith(os.path.realpath(jail))
        finish(report, channel)

