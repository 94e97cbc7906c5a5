"""One `bytebot serve <service>` in a process of its own, for benchmarks that time a service
through gRPC (client and server must not share a GIL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(service: str, grpc_port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Starts the service with this process' environment minus every ``BYTEBOT_*`` and
    ``DISPLAY`` (so nothing of the caller's set-up leaks in), plus ``env``."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("BYTEBOT_") and k != "DISPLAY"}
    clean.update(PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'protos'}", BYTEBOT_LOG_LEVEL="warning",
                 BYTEBOT_SHUTDOWN_PROPAGATION_SECONDS="0")
    clean.update(env)
    bytebot = Path(sys.executable).with_name("bytebot")
    command = [str(bytebot)] if bytebot.exists() else [sys.executable, "-m", "libs.runtime.cli"]
    return subprocess.Popen(
        [*command, "serve", service, "--grpc-port", str(grpc_port), "--http-port", "0"],
        cwd=REPO, env=clean, stdout=subprocess.DEVNULL,
    )


def wait_ready(channel: grpc.Channel, timeout: float = 60.0) -> None:
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
            raise SystemExit("the service did not become ready")
        time.sleep(0.1)


@contextmanager
def served(service: str, env: dict[str, str]) -> Iterator[grpc.Channel]:
    """A ready channel to the service in its own process; SIGTERM (then SIGKILL) after."""
    port = free_port()
    server = start_server(service, port, env)
    try:
        with grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20),
                                          ("grpc.max_send_message_length", 64 << 20)]
        ) as channel:
            wait_ready(channel)
            yield channel
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
