"""Run `bytebot up` as a subprocess for end-to-end tests, the monitoring truth test and
benchmarks: the real stack, one process per service, on a free block of ports."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class UpProcess:
    """`bytebot up [args]` with our environment (or `base_env`) plus `env`."""

    def __init__(self, var_dir: Path, env: dict[str, str], startup_timeout: float = 150.0,
                 args: Sequence[str] = (), base_env: Mapping[str, str] | None = None):
        self.var_dir = var_dir
        self.stderr_path = var_dir / "up.stderr"
        var_dir.mkdir(parents=True, exist_ok=True)
        full_env = dict(os.environ if base_env is None else base_env)
        full_env.update(env)
        full_env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "protos")])
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "libs.runtime.cli", "up", "--ports-offset", "auto", "--json",
             "--var-dir", str(var_dir), "--startup-timeout", str(startup_timeout), *args],
            stdout=subprocess.PIPE, stderr=self._stderr, env=full_env, cwd=REPO,
        )
        self.endpoints = self._read_endpoints(startup_timeout + 30)
        self.services: dict[str, dict[str, str]] = {
            row["service"]: row for row in self.endpoints["services"]
        }

    def _read_endpoints(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.5)
            if ready:
                line = self.process.stdout.readline()
                if line.startswith(b"{"):
                    return json.loads(line)
                if not line and self.process.poll() is not None:
                    break
            elif self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"bytebot up did not start: {self.stderr_path.read_text()[-3000:]}")

    @property
    def offset(self) -> int:
        """The port offset `bytebot up` chose (libs.stack.layout.local_stack(offset))."""
        return int(self.endpoints["offset"])

    def pid(self, service: str) -> int:
        """The process id of one service (to stop just that one)."""
        return int(self.services[service]["pid"])

    def grpc(self, service: str) -> str:
        return self.services[service]["grpc"]

    def http(self, service: str) -> str:
        return self.services[service]["metrics"].removesuffix("/metrics")

    def logs(self, service: str) -> list[dict[str, Any]]:
        lines = []
        for raw in (self.var_dir / "log" / f"{service}.log").read_text().splitlines():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    pass
        return lines

    def stop(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()
        return self.process.returncode

    def stderr(self) -> str:
        return self.stderr_path.read_text()
