"""The local stack (`bytebot up`): every service in its own `bytebot serve` process on the
local ports (docs/runtime-api.md), with embedded defaults — a SQLite file under `var/`, the
Xvfb of the stack's own when there is no DISPLAY, CPU inference — plus, on request, a
Prometheus scraping all of them.

The display: with no DISPLAY (nor BYTEBOT_DISPLAY) the stack starts the Xvfb itself (the
same `XvfbProcess` the computer service would start) and hands it to the computer service
as DISPLAY, so it knows the display too and can open the demo application on it
(libs/stack/demo_app.py: a form with a Submit button, a text field and a file list) once the
computer service is ready — the desktop README's examples act on. A DISPLAY of the user's
own is never given a demo window.

Start order: tasks-api, computer, inference and telemetry together; the worker once the
tasks API finished its start-up (the database migrations: two processes must not migrate
one SQLite file at once); then every service's readiness is awaited.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from libs.stack import demo, prometheus
from libs.stack.auth import StackAuth, generate
from libs.stack.layout import StackService, local_stack, service_names
from libs.stack.supervisor import Child, Supervisor, describe_exit

if TYPE_CHECKING:
    from services.computer.xvfb import XvfbProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
# The worker needs a migrated database; the others start at once.
AFTER: dict[str, str] = {"tasks-worker": "tasks-api"}


class StackError(RuntimeError):
    """The stack could not start; the message says which service and why."""


@dataclass
class StackOptions:
    offset: int = 0
    host: str = "127.0.0.1"
    var_dir: Path = Path("var")
    # default: every registered service (libs.runtime.registry)
    services: Sequence[str] = field(default_factory=service_names)
    with_prometheus: bool = False
    # seconds for one service to become ready (inference loads OCR models; computer Xvfb)
    startup_timeout: float = 120.0
    # child stdout/stderr go to var/log/<service>.log (None: inherit the terminal)
    log_to_files: bool = True
    # the environment the children inherit (default: ours)
    base_env: Mapping[str, str] | None = None
    # extra environment per service name (e.g. {"tasks-worker": {"BYTEBOT_…": "…"}})
    extra_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # token authentication on every service (tokens generated under var/auth/); off, the
    # stack serves open on loopback (each service warns at start-up)
    auth: bool = False
    # the command that runs `bytebot` (default: this Python running libs.runtime.cli)
    bytebot: Sequence[str] = (sys.executable, "-m", "libs.runtime.cli")
    # open the demo application on the stack's own Xvfb (`bytebot up --no-demo`: not)
    demo: bool = True


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_offset(host: str = "127.0.0.1", attempts: int = 200) -> int:
    """An offset at which every port of the stack (and its Prometheus) is free right now."""
    rng = random.Random()
    for _ in range(attempts):
        offset = rng.randrange(100, 15_000)
        ports = [p for s in local_stack(offset) for p in (s.grpc_port, s.http_port)]
        ports.append(prometheus.DEFAULT_PORT + offset)
        ports.append(prometheus.NODE_EXPORTER_PORT + offset)
        if all(port_free(host, p) for p in ports):
            return offset
    raise StackError("no free block of ports found for the stack")


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        known = service_names()
        unknown = [s for s in options.services if s not in known]
        if unknown:
            raise StackError(f"unknown service(s) {unknown}; known: {', '.join(known)}")
        self.options = options
        self.var_dir = options.var_dir.resolve()
        self.services: tuple[StackService, ...] = tuple(
            s for s in local_stack(options.offset) if s.name in options.services
        )
        self.supervisor = Supervisor(self.var_dir / "log" if options.log_to_files else None)
        self.children: dict[str, Child] = {}
        self.prometheus_port = prometheus.DEFAULT_PORT + options.offset
        self.prometheus_child: Child | None = None
        self.node_exporter_port = prometheus.NODE_EXPORTER_PORT + options.offset
        self.node_exporter_child: Child | None = None
        self.auth: StackAuth | None = None
        self.xvfb: XvfbProcess | None = None
        self.demo_child: Child | None = None

    # --- addresses ------------------------------------------------------------------------

    def service(self, name: str) -> StackService:
        for s in local_stack(self.options.offset):
            if s.name == name:
                return s
        raise KeyError(name)

    def grpc_target(self, name: str) -> str:
        return self.service(name).grpc_target(self.options.host)

    def http_url(self, name: str) -> str:
        return self.service(name).http_url(self.options.host)

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.options.host}:{self.prometheus_port}"

    @property
    def database_url(self) -> str:
        base = self.options.base_env if self.options.base_env is not None else os.environ
        return base.get("BYTEBOT_DATABASE_URL") or f"sqlite:///{self.var_dir / 'bytebot.db'}"

    # --- what each child runs --------------------------------------------------------------

    def argv_for(self, service: StackService) -> list[str]:
        return [
            *self.options.bytebot, "serve", service.name,
            "--grpc-port", str(service.grpc_port),
            "--http-port", str(service.http_port),
        ]

    def env_for(self, service: StackService) -> dict[str, str]:
        base = self.options.base_env if self.options.base_env is not None else os.environ
        env = dict(base)
        paths = [str(REPO_ROOT), str(REPO_ROOT / "protos")]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env["PYTHONUNBUFFERED"] = "1"
        host = self.options.host
        env["BYTEBOT_GRPC_HOST"] = host
        env["BYTEBOT_HTTP_HOST"] = host
        name = service.name
        if self.auth is not None:
            env.update(self.auth.server_env())
            if name == "tasks-worker":
                env.update(self.auth.worker_env())
        if name in ("tasks-api", "tasks-worker"):
            env["BYTEBOT_DATABASE_URL"] = self.database_url
        if name == "computer" and self.xvfb is not None:
            env["DISPLAY"] = self.xvfb.display
        if name == "tasks-worker":
            env["BYTEBOT_COMPUTER_ADDRESS"] = self.grpc_target("computer")
            env["BYTEBOT_INFERENCE_ADDRESS"] = self.grpc_target("inference")
        if name == "telemetry":
            env["BYTEBOT_SERVICES"] = json.dumps(
                {s.name: s.grpc_target(host) for s in self.services}
            )
            env["BYTEBOT_METRICS_URLS"] = json.dumps(
                {s.name: f"{s.http_url(host)}/metrics" for s in self.services}
            )
            if self.options.with_prometheus:
                env["BYTEBOT_PROMETHEUS_URL"] = self.prometheus_url
        env.update(self.options.extra_env.get(name, {}))
        return env

    # --- lifecycle ---------------------------------------------------------------------------

    def _check_ports(self) -> None:
        busy = []
        for s in self.services:
            for port in (s.grpc_port, s.http_port):
                if not port_free(self.options.host, port):
                    busy.append(f"{s.name} {port}")
        if self.options.with_prometheus:
            for name, port in (("prometheus", self.prometheus_port),
                               ("node-exporter", self.node_exporter_port)):
                if not port_free(self.options.host, port):
                    busy.append(f"{name} {port}")
        if busy:
            raise StackError(
                f"port(s) in use: {', '.join(busy)}; is a stack already running? "
                "(--ports-offset N or --ports-offset auto runs another one)"
            )

    def _spawn(self, service: StackService) -> Child:
        child = self.supervisor.start(
            service.name, self.argv_for(service), self.env_for(service)
        )
        self.children[service.name] = child
        return child

    def _start_prometheus(self) -> None:
        binary = prometheus.find_binary()
        if binary is None:
            raise StackError("--with-prometheus: no `prometheus` binary on PATH")
        folder = self.var_dir / "prometheus"
        (folder / "data").mkdir(parents=True, exist_ok=True)
        node_port = self._start_node_exporter()
        config = folder / "prometheus.yml"
        config.write_text(prometheus.scrape_config(
            self.services, host=self.options.host, node_exporter_port=node_port))
        listen = f"{self.options.host}:{self.prometheus_port}"
        argv = prometheus.command(binary, config, folder / "data", listen)
        env = dict(self.options.base_env if self.options.base_env is not None else os.environ)
        self.prometheus_child = self.supervisor.start("prometheus", argv, env)

    def _start_node_exporter(self) -> int | None:
        """Debian's prometheus-node-exporter beside the Prometheus (textfile collector reading
        var/node-exporter/textfile/*.prom); without the binary the stack runs without it and
        says so (the node alert and panels then have no data)."""
        binary = prometheus.find_node_exporter()
        if binary is None:
            print("bytebot up: no prometheus-node-exporter on PATH: node metrics are off",
                  file=sys.stderr)
            return None
        textfiles = self.var_dir / "node-exporter" / "textfile"
        textfiles.mkdir(parents=True, exist_ok=True)
        listen = f"{self.options.host}:{self.node_exporter_port}"
        argv = prometheus.node_exporter_command(binary, listen, textfiles)
        env = dict(self.options.base_env if self.options.base_env is not None else os.environ)
        self.node_exporter_child = self.supervisor.start("node-exporter", argv, env)
        return self.node_exporter_port

    def _base_env(self) -> dict[str, str]:
        return dict(self.options.base_env if self.options.base_env is not None else os.environ)

    def _start_display(self) -> None:
        """Our own Xvfb when the computer service runs and no display is configured."""
        env = self._base_env()
        if "computer" not in self.options.services or demo.display_configured(env):
            return
        from services.computer.xvfb import XvfbError, XvfbProcess, xvfb_installed

        if not xvfb_installed():
            return  # the computer service says why it cannot start
        try:
            self.xvfb = XvfbProcess.start(demo.screen(env))
        except XvfbError as exc:
            raise StackError(f"Xvfb: {exc}") from None

    def _start_demo(self, deadline: float) -> None:
        """The demo window on our Xvfb, once the computer service drives it."""
        if self.xvfb is None or not self.options.demo:
            return
        events = self.var_dir / "demo" / "events.log"
        events.parent.mkdir(parents=True, exist_ok=True)
        events.unlink(missing_ok=True)
        env = {**self._base_env(), "DISPLAY": self.xvfb.display}
        self.demo_child = self.supervisor.start("demo", demo.command(events), env)
        try:
            demo.wait_ready(self.demo_child, events, min(deadline, time.monotonic() + 30))
        except demo.DemoError as exc:
            raise StackError(str(exc)) from None

    def _wait(self, name: str, child: Child, path: str, deadline: float) -> None:
        url = (
            f"{self.prometheus_url}/-/ready" if name == "prometheus"
            else f"http://{self.options.host}:{self.node_exporter_port}/metrics"
            if name == "node-exporter"
            else f"{self.http_url(name)}{path}"
        )
        while True:
            code = child.returncode()
            if code is not None:
                tail = child.log_tail()
                raise StackError(
                    f"{name} {describe_exit(code)} during start-up"
                    + (f"; last log lines:\n{tail}" if tail else "")
                )
            if http_status(url) == 200:
                return
            if time.monotonic() > deadline:
                where = f" (log: {child.log_path})" if child.log_path else ""
                raise StackError(f"{name} not ready after {self.options.startup_timeout:g}s{where}")
            time.sleep(0.2)

    def start(self) -> None:
        """Start everything and wait for readiness; on failure stop what was started."""
        self._check_ports()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if self.options.auth:
            self.auth = generate(self.var_dir)
        try:
            self._start_display()
            if self.options.with_prometheus:
                self._start_prometheus()
            deadline = time.monotonic() + self.options.startup_timeout
            later = [s for s in self.services if s.name in AFTER]
            for s in self.services:
                if s.name not in AFTER:
                    self._spawn(s)
            for s in later:
                before = AFTER[s.name]
                if before in self.children:
                    self._wait(before, self.children[before], "/health/startup", deadline)
                self._spawn(s)
            for s in self.services:
                self._wait(s.name, self.children[s.name], "/health/ready", deadline)
            if self.prometheus_child is not None:
                self._wait("prometheus", self.prometheus_child, "", deadline)
            if self.node_exporter_child is not None:
                self._wait("node-exporter", self.node_exporter_child, "", deadline)
            self._start_demo(deadline)
        except BaseException:
            self.stop()
            raise

    def exited(self) -> list[Child]:
        return self.supervisor.exited()

    def stop(self, grace: float = 20.0) -> dict[str, int]:
        try:
            return self.supervisor.stop_all(grace)
        finally:
            # after every X client (computer service, demo): they must not see it vanish first
            if self.xvfb is not None:
                self.xvfb.stop()
                self.xvfb = None

    @property
    def display(self) -> str | None:
        """The stack's own Xvfb display (`:N`), None when it drives a configured one."""
        return self.xvfb.display if self.xvfb is not None else None

    # --- what `bytebot up` prints ------------------------------------------------------------

    def rows(self) -> list[dict[str, str]]:
        rows = []
        for s in self.services:
            child = self.children.get(s.name)
            http = s.http_url(self.options.host)
            rows.append({
                "service": s.name,
                "pid": str(child.pid) if child else "-",
                "grpc": s.grpc_target(self.options.host),
                "metrics": f"{http}/metrics",
                "health": f"{http}/health/ready",
            })
        if self.prometheus_child is not None:
            rows.append({
                "service": "prometheus",
                "pid": str(self.prometheus_child.pid),
                "grpc": "-",
                "metrics": f"{self.prometheus_url}/metrics",
                "health": f"{self.prometheus_url}/-/ready",
            })
        if self.demo_child is not None and self.xvfb is not None:
            rows.append(demo.row(self.demo_child, self.xvfb.display, self.var_dir))
        if self.node_exporter_child is not None:
            url = f"http://{self.options.host}:{self.node_exporter_port}"
            rows.append({
                "service": "node-exporter",
                "pid": str(self.node_exporter_child.pid),
                "grpc": "-",
                "metrics": f"{url}/metrics",
                "health": f"{url}/metrics",
            })
        return rows


__all__ = ["LocalStack", "StackError", "StackOptions", "free_offset", "port_free"]
