"""The service as operators see it: health (real display round trips), metrics, and one run
of `bytebot serve computer` as a subprocess that starts and stops its own Xvfb."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import computer_pb2 as pb
from bytebot.computer.v1 import computer_pb2_grpc
from google.protobuf.duration_pb2 import Duration
from grpc_health.v1 import health_pb2, health_pb2_grpc
from Xlib import error as xerror
from Xlib.display import Display

REPO = Path(__file__).resolve().parents[3]


def metric_value(text: str, name: str, labels: dict[str, str]) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            series, value = line.rsplit(" ", 1)
            got = ",".join(sorted(series[len(name) + 1:-1].split(",")))
            if got == wanted:
                return float(value)
    raise AssertionError(f"{name}{{{wanted}}} not exposed")


def test_health_names_serve_and_readiness_reports_the_display(service, channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("liveness", "readiness", "startup", "", "bytebot.computer.v1.ComputerService"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
    with urllib.request.urlopen(service.service.http_url + "/health/ready", timeout=5) as r:
        body = json.load(r)
    assert body["checks"]["display"]["status"] == "ok"
    assert body["checks"]["display"]["responseTime"].endswith("ms")
    with urllib.request.urlopen(service.service.http_url + "/health/startup", timeout=5) as r:
        assert json.load(r)["initialization"]["display"] == "connected"


def test_operations_are_counted_and_timed(service, stub) -> None:
    def scrape() -> str:
        with urllib.request.urlopen(service.service.http_url + "/metrics", timeout=5) as r:
            return r.read().decode()

    before = scrape()
    stub.MoveMouse(pb.MoveMouseRequest(coordinates=common_pb2.Point(x=3, y=4)))
    with pytest.raises(grpc.RpcError):
        stub.ClickMouse(pb.ClickMouseRequest(click_count=99))
    with pytest.raises(grpc.RpcError):
        stub.ReadFile(pb.ReadFileRequest(path="/etc/passwd"))
    after = scrape()
    total = "bytebot_computer_operations_total"
    for labels, delta in [
        ({"operation_type": "move_mouse", "status": "success"}, 1),
        ({"operation_type": "click_mouse", "status": "invalid"}, 1),
        ({"operation_type": "read_file", "status": "error"}, 1),
        ({"operation_type": "type_text", "status": "success"}, 0),
    ]:
        assert metric_value(after, total, labels) - metric_value(before, total, labels) == delta
    count = "bytebot_computer_operation_duration_seconds_count"
    assert metric_value(after, count, {"operation_type": "move_mouse"}) > metric_value(
        before, count, {"operation_type": "move_mouse"})


def test_bytebot_serve_computer_starts_and_stops_its_own_xvfb(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY" and not k.startswith("BYTEBOT_")}
    env.update(PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'protos'}", BYTEBOT_FILE_ROOT=str(tmp_path),
               BYTEBOT_LOG_LEVEL="debug", BYTEBOT_SHUTDOWN_PROPAGATION_SECONDS="0")
    bytebot = Path(sys.executable).with_name("bytebot")
    command = [str(bytebot)] if bytebot.exists() else [sys.executable, "-m", "libs.runtime.cli"]
    out = (tmp_path / "stdout.log").open("w+")
    process = subprocess.Popen(
        [*command, "serve", "computer", "--grpc-port", "0", "--http-port", "0"],
        cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
    )
    secret = "hunter2-Sekr3t!"
    try:
        display = target = None
        deadline = time.monotonic() + 30
        while (display is None or target is None) and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "stdout.log").read_text()
            for line in (tmp_path / "stdout.log").read_text().splitlines():
                record = json.loads(line) if line.startswith("{") else {}
                display = record.get("display", display)
                if record.get("message") == "service listening":
                    target = record["grpc"]
            time.sleep(0.05)
        assert display and target, (tmp_path / "stdout.log").read_text()

        with grpc.insecure_channel(target) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 20
            while health.Check(health_pb2.HealthCheckRequest(service="readiness"),
                               timeout=5).status != health_pb2.HealthCheckResponse.SERVING:
                assert time.monotonic() < deadline, "never ready"
                time.sleep(0.1)
            stub = computer_pb2_grpc.ComputerServiceStub(channel)
            stub.TypeText(pb.TypeTextRequest(text=secret, sensitive=True))
            stub.PasteText(pb.PasteTextRequest(text=secret, sensitive=True))
            with pytest.raises(grpc.RpcError):  # an error path must not leak it either
                stub.TypeText(pb.TypeTextRequest(text=secret, delay=Duration(seconds=99)))
            shot = stub.Screenshot(pb.ScreenshotRequest())
            assert (shot.image.width, shot.image.height) == (1280, 960)
        Display(display).close()  # its Xvfb is up
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
    log = (tmp_path / "stdout.log").read_text()
    assert secret not in log
    assert "hunter2" not in log
    with pytest.raises((xerror.DisplayError, OSError)):  # its Xvfb is gone
        Display(display).close()
