"""Latency of desktop operations through the ComputerService gRPC API (p50 / p95).

    .venv/bin/python bench/computer_ops.py [--iterations 200] [--display :N]

Starts `bytebot serve computer` as a separate process (its own Xvfb at 1280x960x24 unless
--display is given), so client and server do not share a GIL, then times each operation from
the client: move, click, type 10 characters, cursor position, and full-screen 1280x960
screenshots (capture + encode) as PNG (compress level 1) and JPEG (quality 80). Goals of the
issue: input actions p95 < 5 ms, screenshot p95 < 30 ms. Prints one table; no assertions.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "protos")]

from bytebot.common.v1 import common_pb2  # noqa: E402
from bytebot.computer.v1 import computer_pb2 as pb  # noqa: E402
from bytebot.computer.v1 import computer_pb2_grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

INPUT_GOAL_MS = 5.0
SCREENSHOT_GOAL_MS = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(display: str | None, grpc_port: int, root: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYTEBOT_")}
    env.pop("DISPLAY", None)
    env.update(PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'protos'}", BYTEBOT_LOG_LEVEL="warning",
               BYTEBOT_FILE_ROOT=str(root), BYTEBOT_SHUTDOWN_PROPAGATION_SECONDS="0")
    if display:
        env["BYTEBOT_DISPLAY"] = display
    bytebot = Path(sys.executable).with_name("bytebot")
    command = [str(bytebot)] if bytebot.exists() else [sys.executable, "-m", "libs.runtime.cli"]
    return subprocess.Popen(
        [*command, "serve", "computer", "--grpc-port", str(grpc_port), "--http-port", "0"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL,
    )


def wait_ready(channel: grpc.Channel, timeout: float = 30.0) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = health.Check(health_pb2.HealthCheckRequest(service="readiness"), timeout=2)
            if status.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the computer service did not become ready")
        time.sleep(0.1)


def measure(fn: Callable[[int], object], iterations: int, warmup: int = 10) -> list[float]:
    for i in range(warmup):
        fn(i)
    samples = []
    for i in range(iterations):
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--display", help="drive this display instead of a private Xvfb")
    args = parser.parse_args()

    import tempfile

    port = free_port()
    with tempfile.TemporaryDirectory() as root:
        server = start_server(args.display, port, Path(root))
        try:
            with grpc.insecure_channel(
                f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20)]
            ) as channel:
                wait_ready(channel)
                rows = run_all(computer_pb2_grpc.ComputerServiceStub(channel), args.iterations)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    print_table(rows, args.iterations)
    return 0


def run_all(stub: computer_pb2_grpc.ComputerServiceStub, n: int) -> list[tuple[str, list[float],
                                                                                 float, str]]:
    def point(i: int) -> common_pb2.Point:
        return common_pb2.Point(x=100 + (i * 37) % 1000, y=100 + (i * 53) % 700)

    png = pb.ScreenshotRequest(format=common_pb2.IMAGE_FORMAT_PNG)
    jpeg = pb.ScreenshotRequest(format=common_pb2.IMAGE_FORMAT_JPEG, quality=80)
    sizes: dict[str, int] = {}

    def shot(name: str, request: pb.ScreenshotRequest) -> Callable[[int], object]:
        def call(_: int) -> None:
            sizes[name] = stub.Screenshot(request).size_bytes
        return call

    # Something to encode besides a black screen: a busy desktop compresses worse.
    stub.TypeText(pb.TypeTextRequest(text="x"))
    cases: list[tuple[str, Callable[[int], object], float]] = [
        ("move_mouse", lambda i: stub.MoveMouse(pb.MoveMouseRequest(coordinates=point(i))),
         INPUT_GOAL_MS),
        ("click_mouse", lambda i: stub.ClickMouse(pb.ClickMouseRequest(coordinates=point(i))),
         INPUT_GOAL_MS),
        ("type_text (10 chars)", lambda i: stub.TypeText(pb.TypeTextRequest(text="abcdefghij")),
         INPUT_GOAL_MS),
        ("cursor_position", lambda i: stub.CursorPosition(pb.CursorPositionRequest()),
         INPUT_GOAL_MS),
        ("screenshot png 1280x960", shot("png", png), SCREENSHOT_GOAL_MS),
        ("screenshot jpeg q80 1280x960", shot("jpeg", jpeg), SCREENSHOT_GOAL_MS),
    ]
    rows = []
    for name, fn, goal in cases:
        samples = measure(fn, n)
        note = ""
        if name.startswith("screenshot"):
            note = f"{sizes['png' if 'png' in name else 'jpeg'] // 1024} KiB"
        rows.append((name, samples, goal, note))
    return rows


def print_table(rows: list[tuple[str, list[float], float, str]], n: int) -> None:
    print(f"ComputerService through gRPC, {n} calls each (client-side latency, ms)")
    print(f"{'operation':<30}{'p50':>8}{'p95':>8}{'max':>8}{'goal p95':>10}  {'met':<5}{'note'}")
    for name, samples, goal, note in rows:
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        met = "yes" if p95 < goal else "NO"
        print(f"{name:<30}{p50:>8.2f}{p95:>8.2f}{max(samples):>8.2f}{goal:>10.0f}  {met:<5}{note}")


if __name__ == "__main__":
    sys.exit(main())
