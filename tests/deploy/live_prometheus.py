"""A real Prometheus (the Debian binary) for the monitoring truth test: it scrapes a running
`bytebot up` stack every second with the job names of deploy/prometheus (the same generator
`bytebot up --with-prometheus` uses), evaluates a test copy of deploy/prometheus/rules every
second, and is read back through its HTTP API (series names, queries, alerts)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from libs.stack import prometheus as stack_prometheus
from libs.stack.layout import StackService
from tests.deploy.tooling import tool

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    # Prometheus cannot listen on port 0 and tell us the port, so pick one the kernel says is
    # free; the tiny race with other tests is caught by the readiness wait below.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def config_text(
    services: Sequence[StackService], rule_files: Sequence[Path], interval: str = "1s",
    node_exporter_port: int | None = None,
) -> str:
    """The stack's scrape configuration (job names bytebot-api, bytebot-worker, …, and
    node-exporter when its port is given) plus the rule files, evaluated every `interval`."""
    text = stack_prometheus.scrape_config(services, interval=interval,
                                          node_exporter_port=node_exporter_port)
    lines = ["rule_files:", *(f'  - "{path}"' for path in rule_files)]
    return text + "\n".join(lines) + "\n"


class PrometheusError(RuntimeError):
    pass


class ReadyProcess:
    """A Prometheus-family server (`/-/ready` on its web port) run from `argv` with its output
    in `<workdir>/<name>.log`; started ready or not at all. `stop()` (always call it) ends it
    and closes its log. LivePrometheus and LiveAlertmanager are the two."""

    name = "server"

    def _start(self, argv: Sequence[str], startup_timeout: float) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            self._wait_ready(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrometheusError(
                    f"{self.name} exited {self.process.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise PrometheusError(f"{self.name} not ready after {timeout:g}s: {self.log()}")

    def log(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class LivePrometheus(ReadyProcess):
    """`prometheus` on a free port; `stop()` (always call it) ends it and closes its log."""

    name = "prometheus"

    def __init__(self, workdir: Path, config: str, startup_timeout: float = 30.0) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(config)
        self.log_path = workdir / "prometheus.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = stack_prometheus.command(
            tool("prometheus"), self.config_path, workdir / "data", f"127.0.0.1:{self.port}"
        )
        self._start(argv, startup_timeout)

    # --- the HTTP API -----------------------------------------------------------------------

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body}")
        return body["data"]

    def metric_names(self) -> set[str]:
        """Every metric name Prometheus holds a series of (scraped or recorded)."""
        return set(self.api("label/__name__/values"))

    def query(self, promql: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=promql)["result"])

    def query_range(self, promql: str, start: float, end: float, step: float
                    ) -> list[dict[str, Any]]:
        """A range query, as Grafana's time-series and stat panels send it."""
        return list(self.api("query_range", query=promql, start=f"{start:.3f}",
                             end=f"{end:.3f}", step=f"{step:g}")["result"])

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts: [{labels: {alertname, job, …}, state, activeAt, …}]."""
        return list(self.api("alerts")["alerts"])

    def targets_up(self) -> dict[str, bool]:
        """job → whether its last scrape succeeded."""
        return {
            t["labels"]["job"]: t["health"] == "up"
            for t in self.api("targets")["activeTargets"]
        }


def wait_for(
    condition: Callable[[], T | None], timeout: float, interval: float = 0.5
) -> tuple[T | None, float]:
    """Poll `condition` until it returns something truthy or `timeout` passes; returns the
    last value and the seconds waited."""
    start = time.monotonic()
    value = condition()
    while not value and time.monotonic() - start < timeout:
        time.sleep(interval)
        value = condition()
    return value, time.monotonic() - start


def alerts_named(alerts: list[dict[str, Any]], name: str, state: str) -> list[dict[str, Any]]:
    return [a for a in alerts if a["labels"].get("alertname") == name and a["state"] == state]


__all__ = ["LivePrometheus", "PrometheusError", "alerts_named", "config_text", "free_port",
           "wait_for"]
