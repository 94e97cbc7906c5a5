"""The service registry (libs.runtime.registry): one registration line is all a new service
needs to be part of `bytebot serve`, `bytebot up --only`, the stack layout and the local
Prometheus configuration.

The throwaway service (the "fifth service" of docs/runtime-api.md) is a real distribution on
sys.path (a `.dist-info` with its own entry_points.txt, exactly what `pip install` writes), so
importlib.metadata finds it the way it finds this project's own registrations; its gRPC
service is the conformance service, named from the generated descriptor."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from libs.runtime import cli, registry
from libs.stack import layout, prometheus
from libs.stack.stack import LocalStack, StackError, StackOptions

REPO = Path(__file__).resolve().parents[3]
BUILTIN = ("tasks-api", "tasks-worker", "computer", "inference", "telemetry")

THROWAWAY = textwrap.dedent(
    """
    from bytebot.testing.v1 import conformance_pb2

    from libs.runtime import testing
    from libs.runtime.registry import ServiceDefinition
    from libs.runtime.server import ServiceEntry

    SERVICE = ServiceDefinition(
        name="throwaway",
        grpc_port=50061,
        http_port=9474,
        entry="bytebot_throwaway:ENTRY",
        grpc_services=(
            conformance_pb2.DESCRIPTOR.services_by_name["ConformanceService"].full_name,
        ),
    )
    ENTRY = ServiceEntry(name="throwaway", settings_cls=testing.ConformanceSettings,
                         build=testing.build)
    """
)


@pytest.fixture
def throwaway(tmp_path, monkeypatch):
    """A distribution `bytebot-throwaway` registering service `throwaway`, on sys.path."""
    root = tmp_path / "site"
    dist = root / "bytebot_throwaway-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bytebot-throwaway\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[bytebot.services]\nthrowaway = bytebot_throwaway:SERVICE\n")
    (root / "bytebot_throwaway.py").write_text(THROWAWAY)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    registry.clear_cache()
    yield root
    sys.modules.pop("bytebot_throwaway", None)
    registry.clear_cache()


def _bytebot(args: list[str], extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    paths = [str(REPO), str(REPO / "protos")] + ([str(extra_path)] if extra_path else [])
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "libs.runtime.cli", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)


def test_the_five_services_are_registered_in_start_order():
    assert registry.names() == BUILTIN
    assert layout.service_names() == BUILTIN
    api = registry.definition("tasks-api")
    assert (api.grpc_port, api.http_port, api.job) == (50051, 9464, "bytebot-api")
    # names come from the generated descriptors
    from bytebot.tasks.v1 import tasks_pb2

    assert api.grpc_services == (tasks_pb2.DESCRIPTOR.services_by_name["TaskService"].full_name,)


def test_the_pyproject_table_is_what_is_installed():
    """The one source of truth is the pyproject table; the editable install must match it
    (else: pip install -e . again). Bazel runs without the install: nothing to compare."""
    table = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"][
        registry.GROUP]
    assert set(BUILTIN) <= set(table)
    installed = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=registry.GROUP)
                 if ep.dist is not None and ep.dist.name == registry.DISTRIBUTION}
    if not installed:
        pytest.skip("bytebot-backend is not pip-installed here (Bazel): pyproject is read")
    assert installed == table, "stale install: run .venv/bin/pip install -e '.[ocr,coreml,test]'"


def test_without_the_install_the_pyproject_table_is_read(monkeypatch):
    # what Bazel sees: no entry points at all
    monkeypatch.setattr(registry.metadata, "entry_points", lambda **_: [])
    registry.clear_cache()
    try:
        assert registry.names() == BUILTIN
    finally:
        registry.clear_cache()


def test_a_registered_throwaway_service_is_everywhere(throwaway, tmp_path):
    assert registry.names() == (*BUILTIN, "throwaway")
    defn = registry.definition("throwaway")
    assert defn.grpc_services == ("bytebot.testing.v1.ConformanceService",)
    assert defn.job == "bytebot-throwaway"
    assert defn.address_variable == "BYTEBOT_THROWAWAY_ADDRESS"

    # `bytebot serve` resolves it to its ServiceEntry
    assert cli.resolve_service("throwaway").name == "throwaway"

    # `bytebot up --only` accepts it, still rejects an unknown name
    args = cli.build_parser("up").parse_args(["up", "--only", "throwaway,computer"])
    assert args.only == ["throwaway", "computer"]
    assert "throwaway" in cli.build_parser("up").parse_args(["up"]).only

    # the layout places it on its ports, shifted like the others
    stack = LocalStack(StackOptions(services=["throwaway"], offset=100, var_dir=tmp_path))
    assert [(s.name, s.grpc_port, s.http_port) for s in stack.services] == [
        ("throwaway", 50161, 9574)]
    assert layout.grpc_targets(100)["throwaway"] == "127.0.0.1:50161"

    # the local Prometheus scrapes it under its job
    config = prometheus.scrape_config(layout.local_stack(100))
    assert "  - job_name: bytebot-throwaway\n" in config
    assert '      - targets: ["127.0.0.1:9574"]\n' in config
    assert prometheus.job_names()["throwaway"] == "bytebot-throwaway"
    promtool = shutil.which("promtool")
    if promtool:  # the generated file is a valid Prometheus configuration
        path = tmp_path / "prometheus.yml"
        path.write_text(config)
        result = subprocess.run([promtool, "check", "config", str(path)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def test_unknown_only_names_are_refused(throwaway, capsys):
    with pytest.raises(SystemExit):
        cli.build_parser("up").parse_args(["up", "--only", "throwaway,nope"])
    err = capsys.readouterr().err
    assert "unknown service(s) nope" in err and "throwaway" in err
    with pytest.raises(StackError, match="unknown service"):
        LocalStack(StackOptions(services=["nope"]))


def test_the_cli_sees_it_in_a_fresh_process(throwaway):
    help_text = _bytebot(["serve", "--help"], throwaway)
    assert help_text.returncode == 0, help_text.stderr
    assert "throwaway" in help_text.stdout.replace("\n", " ")
    listing = _bytebot(["services"], throwaway)
    assert listing.returncode == 0, listing.stderr
    assert "throwaway" in listing.stdout and "bytebot_throwaway:ENTRY" in listing.stdout
    # ... and not without the distribution on the path
    assert "throwaway" not in _bytebot(["services"]).stdout


def test_bad_registrations_say_what_is_wrong(monkeypatch):
    table = registry.registrations()
    monkeypatch.setitem(table, "wrong-type", "libs.runtime.testing:ENTRY")
    monkeypatch.setitem(table, "misnamed", "services.computer.config:SERVICE")
    registry.definition.cache_clear()
    try:
        with pytest.raises(registry.RegistryError, match="not a ServiceDefinition"):
            registry.definition("wrong-type")
        with pytest.raises(registry.RegistryError, match="is named 'computer'"):
            registry.definition("misnamed")
        with pytest.raises(KeyError, match="unknown service 'nope'"):
            registry.definition("nope")
    finally:
        registry.definition.cache_clear()


def test_bytebot_serve_runs_it_and_health_knows_its_descriptor_name(throwaway):
    """`bytebot serve throwaway` (a fresh process finding the registration by entry point)
    serves, and the health service answers for the name taken from the descriptor."""
    import json
    import queue
    import signal
    import threading

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "protos"), str(throwaway)])
    env.setdefault("OTEL_TRACES_EXPORTER", "none")
    proc = subprocess.Popen(
        [sys.executable, "-m", "libs.runtime.cli", "serve", "throwaway", "--grpc-port", "0",
         "--http-port", "0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    seen: list[str] = []
    target = ""
    try:
        while True:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                pytest.fail("no 'service started' within 60 s:\n" + "".join(seen))
            seen.append(line)
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("message") == "service listening":
                target = entry["grpc"]
            if entry.get("message") == "service started":
                break
        assert entry["service"] == "throwaway"  # the ServiceEntry its registration names
        with grpc.insecure_channel(target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="bytebot.testing.v1.ConformanceService"),
                timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
