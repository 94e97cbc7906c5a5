"""Helpers: real runtime services in-process (the runtime's conformance service stands in
for a fleet member: its readiness follows a file) and a telemetry client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import Any

from bytebot.telemetry.v1 import telemetry_pb2_grpc

from libs.runtime.testing import ENTRY as MEMBER  # noqa: F401 - re-exported for the tests


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    """Run a test coroutine with a bound on its duration."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def unused_target() -> str:
    """host:port where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"127.0.0.1:{port}"


def telemetry_stub(service: Any, **channel: Any) -> telemetry_pb2_grpc.TelemetryServiceStub:
    """A stub on `service.channel(**channel)` (e.g. `security=` to call it without TLS)."""
    return telemetry_pb2_grpc.TelemetryServiceStub(service.channel(**channel))
