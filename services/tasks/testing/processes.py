"""Run services as real processes (`python -m libs.runtime.cli serve …`) for the task tests
and benchmarks; ports are chosen by the OS (0) and read back from the JSON start-up log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO), str(REPO / "protos")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("OTEL_TRACES_EXPORTER", "none")
    env.update(extra or {})
    return env


class ServiceProcess:
    """One `bytebot serve <service>` process; its stdout (JSON logs) is kept in `lines`."""

    def __init__(
        self, service: str, settings: dict[str, Any], env: dict[str, str] | None = None
    ) -> None:
        self.service = service
        # No load balancer to tell in a test: stop at once on SIGTERM (unless a test
        # measures the propagation delay itself).
        settings = {"shutdown_propagation_seconds": 0, **settings}
        args = [sys.executable, "-m", "libs.runtime.cli", "serve", service]
        args += ["--grpc-port", "0", "--http-port", "0"]
        for key, value in settings.items():
            args += ["--set", f"{key}={value}"]
        self.args = args
        self.env = subprocess_env(env)
        self.lines: list[str] = []
        self.records: list[dict[str, Any]] = []
        self.grpc_target = ""
        self.http_url = ""
        self._started = threading.Event()
        self.proc: subprocess.Popen[str] | None = None
        self._terminated = False

    def start(self, timeout: float = 60.0) -> ServiceProcess:
        return self.launch().wait_started(timeout)

    def launch(self) -> ServiceProcess:
        """Start the process without waiting (start several, then `wait_started` each)."""
        self.proc = subprocess.Popen(
            self.args,
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def wait_started(self, timeout: float = 60.0) -> ServiceProcess:
        if not self._started.wait(timeout) or not self.grpc_target:
            tail = "\n".join(self.lines[-30:])
            self.stop()
            raise RuntimeError(f"{self.service} did not start within {timeout}s:\n{tail}")
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            self.records.append(record)
            if record.get("message") == "service listening":
                self.grpc_target = record.get("grpc", "")
                self.http_url = record.get("http", "")
            elif record.get("message") in ("service started", "start-up failed"):
                self._started.set()
        self._started.set()

    def logs(self, message: str) -> list[dict[str, Any]]:
        return [r for r in list(self.records) if r.get("message") == message]

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        """SIGTERM without waiting (stop several at once, then `stop` each)."""
        if self.proc is not None and self.proc.poll() is None and not self._terminated:
            # Once: a second SIGTERM means "stop now, do not drain" to the runtime.
            self._terminated = True
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def wait_for_log(self, message: str, timeout: float, **fields: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.logs(message):
                if all(record.get(k) == v for k, v in fields.items()):
                    return record
            time.sleep(0.05)
        raise TimeoutError(f"{self.service}: no {message!r} log with {fields} in {timeout}s")


@contextmanager
def running(service: str, settings: dict[str, Any]) -> Iterator[ServiceProcess]:
    """A started service process, stopped (SIGTERM, then SIGKILL) when the block ends."""
    proc = ServiceProcess(service, settings).start()
    try:
        yield proc
    finally:
        proc.stop()


def stop_all(procs: list[ServiceProcess], timeout: float = 20.0) -> list[int | None]:
    """SIGTERM every process first, then wait for each: they drain in parallel."""
    for proc in procs:
        proc.terminate()
    return [proc.stop(timeout) for proc in procs]
