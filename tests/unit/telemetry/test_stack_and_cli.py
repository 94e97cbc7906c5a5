"""The supervisor (real child processes), the stack's plan (ports, environment, Prometheus
configuration) and the CLI's tables."""

import json
import sys
import time

from bytebot.telemetry.v1 import telemetry_pb2 as pb

from libs.console.table import render
from libs.security.tokens import TokenStore
from libs.stack import prometheus
from libs.stack.auth import generate
from libs.stack.client import cli_security, client_settings
from libs.stack.layout import local_stack
from libs.stack.stack import LocalStack, StackOptions
from libs.stack.supervisor import Supervisor, describe_exit
from services.telemetry.cli import health_rows, parse_duration, slo_rows
from services.telemetry.fleet import FleetState, Probe, ServiceState, fill_response, fleet_status

TRAP = (
    "import signal,sys,time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); "
    "time.sleep(60)"
)
STUBBORN = "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"


def test_supervisor_stops_gracefully_kills_stragglers_and_reports_deaths(tmp_path):
    sup = Supervisor(tmp_path / "log")
    polite = sup.start("polite", [sys.executable, "-c", TRAP])
    stubborn = sup.start("stubborn", [sys.executable, "-c", STUBBORN])
    dying = sup.start("dying", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"])
    deadline = time.monotonic() + 10
    gone = []
    while not gone and time.monotonic() < deadline:
        gone = sup.exited()
        time.sleep(0.05)
    assert [c.name for c in gone] == ["dying"]
    assert describe_exit(dying.returncode()) == "exited with code 3"
    assert "bye" in dying.log_tail()
    assert sup.exited() == []  # reported once
    time.sleep(0.3)  # let the children install their handlers
    codes = sup.stop_all(grace=1.0)
    assert codes["polite"] == 0
    assert codes["stubborn"] == -9 and describe_exit(codes["stubborn"]) == "killed by SIGKILL"
    assert polite.returncode() == 0 and stubborn.returncode() == -9


def test_stack_plan_wires_ports_database_and_fleet(tmp_path):
    stack = LocalStack(StackOptions(offset=1000, var_dir=tmp_path, with_prometheus=True,
                                    base_env={"PATH": "/usr/bin"}))
    worker = stack.service("tasks-worker")
    assert stack.argv_for(worker)[-5:] == ["tasks-worker", "--grpc-port", "51052",
                                           "--http-port", "10465"]
    env = stack.env_for(worker)
    assert env["BYTEBOT_COMPUTER_ADDRESS"] == "127.0.0.1:51053"
    assert env["BYTEBOT_INFERENCE_ADDRESS"] == "127.0.0.1:51054"
    assert env["BYTEBOT_DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'bytebot.db'}"
    telemetry = stack.env_for(stack.service("telemetry"))
    assert json.loads(telemetry["BYTEBOT_SERVICES"])["inference"] == "127.0.0.1:51054"
    assert json.loads(telemetry["BYTEBOT_METRICS_URLS"])["tasks-api"] == (
        "http://127.0.0.1:10464/metrics"
    )
    assert telemetry["BYTEBOT_PROMETHEUS_URL"] == "http://127.0.0.1:10090"
    assert "BYTEBOT_DATABASE_URL" not in telemetry


def test_stack_plan_without_auth_adds_no_security_settings(tmp_path):
    stack = LocalStack(StackOptions(var_dir=tmp_path, base_env={"PATH": "/usr/bin"}))
    for service in stack.services:
        env = stack.env_for(service)
        assert not [k for k in env if "AUTH" in k or "TOKEN" in k], service.name


def test_stack_plan_with_auth_gives_every_service_the_tokens_and_the_worker_its_token(tmp_path):
    stack = LocalStack(StackOptions(var_dir=tmp_path, auth=True, base_env={"PATH": "/usr/bin"}))
    stack.auth = generate(stack.var_dir)  # what start() does before spawning
    for service in stack.services:
        env = stack.env_for(service)
        assert env["BYTEBOT_AUTH_MODE"] == "token", service.name
        assert env["BYTEBOT_TOKENS_FILE"] == str(stack.auth.tokens_file)
        if service.name == "tasks-worker":
            assert env["BYTEBOT_CLIENT_TOKEN_FILE"] == str(stack.auth.worker_token_file)
        else:
            assert "BYTEBOT_CLIENT_TOKEN_FILE" not in env, service.name
    # the servers' file resolves both generated tokens to their identities
    store = TokenStore(str(stack.auth.tokens_file))
    worker = store.lookup(stack.auth.worker_token_file.read_text().strip())
    cli = store.lookup(stack.auth.cli_token_file.read_text().strip())
    assert worker is not None and worker.subject == "tasks-worker" and worker.roles == {"worker"}
    assert cli is not None and cli.roles == {"user", "admin"}
    # a second start writes fresh tokens: the old ones stop working
    old = stack.auth.cli_token_file.read_text().strip()
    again = generate(stack.var_dir)
    assert TokenStore(str(again.tokens_file)).lookup(old) is None


def test_cli_security_reads_only_the_client_variables(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    env = {"BYTEBOT_CLIENT_TOKEN_FILE": str(token), "BYTEBOT_GRPC_PORT": "not a port",
           "BYTEBOT_TLS_SERVER_NAME": ""}
    settings = client_settings(env)
    assert settings.client_token_file == str(token) and settings.tls_server_name is None
    security = cli_security(env)
    assert security.token is not None and security.token.token() == "s3cret-token"
    assert security.credentials is None  # no TLS variable: plaintext
    assert cli_security({}).token is None
    for bad, words in (({"BYTEBOT_CLIENT_TOKEN_FILE": str(tmp_path / "missing")},
                        "client token file"),
                       ({"BYTEBOT_TLS_CA_FILE": str(tmp_path / "missing.pem")}, "CA"),
                       ({"BYTEBOT_CLIENT_TLS": "maybe"}, "BYTEBOT_CLIENT_TLS")):
        try:
            cli_security(bad)
        except SystemExit as exc:
            assert words in str(exc) and str(exc).startswith("bytebot: error:"), exc
        else:
            raise AssertionError(f"{bad} was accepted")


def test_generated_prometheus_config_passes_promtool(tmp_path):
    import shutil
    import subprocess

    import pytest

    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus.scrape_config(local_stack(7)))
    result = subprocess.run(["promtool", "check", "config", str(config)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "127.0.0.1:9473" in config.read_text() and "job_name: bytebot-api" in config.read_text()


def test_tables_align_columns():
    text = render([{"a": "x", "b": "long value"}, {"a": "longer", "b": ""}], ["a", "b"])
    lines = text.splitlines()
    assert lines == ["A       B", "x       long value", "longer"]


def test_health_and_slo_rows():
    services = (
        ServiceState("api", "h:1", pb.SERVING_STATUS_SERVING,
                     (Probe("liveness", pb.SERVING_STATUS_SERVING, 0.0021),), 1.0),
        ServiceState("gone", "h:2", pb.SERVING_STATUS_UNREACHABLE,
                     tuple(Probe(p, pb.SERVING_STATUS_UNREACHABLE, 0.5, "UNAVAILABLE: refused")
                           for p in ("liveness", "readiness")), 1.0),
    )
    response = fill_response(pb.GetSystemHealthResponse(),
                             FleetState(fleet_status(services), services, 2.0))
    assert response.status == pb.FLEET_STATUS_DEGRADED
    rows = health_rows(response)
    assert rows[0]["liveness"] == "SERVING 2.1ms" and rows[0]["error"] == ""
    assert rows[1]["status"] == "UNREACHABLE" and rows[1]["error"] == "UNAVAILABLE: refused"
    report = pb.GetSloReportResponse(indicators=[
        pb.SloIndicator(name="error_rate", unit="ratio", target=0.01, alert_threshold=0.05,
                        current=0.25, has_value=True, state=pb.SLO_STATE_BREACHED),
        pb.SloIndicator(name="task_processing_time_p95", unit="seconds", target=5,
                        alert_threshold=30, state=pb.SLO_STATE_NO_DATA),
    ])
    assert slo_rows(report) == [
        {"indicator": "error_rate", "current": "25.00%", "target": "< 1.00%",
         "alert": "> 5.00%", "state": "BREACHED"},
        {"indicator": "task_processing_time_p95", "current": "-", "target": "< 5.00s",
         "alert": "> 30.00s", "state": "NO_DATA"},
    ]
    assert parse_duration("5m") == 300 and parse_duration("250ms") == 0.25


def test_up_refuses_a_non_loopback_host_without_auth(tmp_path, monkeypatch, capsys):
    import argparse

    from libs.stack import cli as up_cli

    parser = argparse.ArgumentParser(prog="bytebot")
    up_cli.register(parser.add_subparsers(dest="command"))
    monkeypatch.delenv("BYTEBOT_INSECURE_ALLOW_OPEN", raising=False)
    args = parser.parse_args(["up", "--host", "0.0.0.0", "--var-dir", str(tmp_path / "var")])
    assert args.func(args) == 2
    assert "--auth" in capsys.readouterr().err
    assert not (tmp_path / "var").exists()  # nothing was started or written
