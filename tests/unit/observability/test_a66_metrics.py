"""gRFC A66 metric families (issue 15 item 2): the same names, types and label names as
grpcio-observability's own Prometheus exposition, bounded label values, and the two
settings that turn either family off.

a66_grpcio_observability.txt was recorded from grpcio-observability 1.85.0 in a throwaway
venv (it pins grpcio==1.85.0, ours is 1.85.1, so it cannot be a project dependency):
  python -m venv /tmp/obs && /tmp/obs/bin/pip install grpcio==1.85.0 \\
      grpcio-observability==1.85.0 opentelemetry-sdk opentelemetry-exporter-prometheus
  then: OpenTelemetryPlugin(meter_provider=MeterProvider(metric_readers=[
  PrometheusMetricReader()])).register_global(), a grpc.server with a generic handler
  demo.Echo/Say (OK) and demo.Echo/Fail (INVALID_ARGUMENT), one call each, and
  prometheus_client.generate_latest() (+Inf buckets, sums and counts kept).
"""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb

from libs.edge.callmeta import CallMeta, RpcKind
from libs.observability.metrics_a66 import OTHER, A66Metrics, canonical_target
from libs.observability.testing import conformance as conf
from libs.runtime.config import ServiceSettings, load_settings
from tests.conformance import harness as h

REFERENCE = Path(__file__).with_name("a66_grpcio_observability.txt")
SAMPLE = re.compile(r"^(\w+)\{(.*)\} ")
# grpcio-observability records client message sizes; we do not (metrics_a66.py says why)
NOT_RECORDED = ("grpc_client_attempt_sent_total", "grpc_client_attempt_rcvd_total")


def reference() -> dict[str, set[frozenset[str]]]:
    """sample name -> label-name sets of grpcio-observability (otel_scope_* dropped)."""
    found: dict[str, set[frozenset[str]]] = {}
    for line in REFERENCE.read_text().splitlines():
        m = SAMPLE.match(line)
        if m:
            keys = frozenset(k for k in re.findall(r'(\w+)="', m.group(2))
                             if not k.startswith("otel_scope_"))
            found.setdefault(m.group(1), set()).add(keys)
    return found


def reference_statuses() -> set[str]:
    return set(re.findall(r'grpc_status="(\w+)"', REFERENCE.read_text()))


def ours(env: h.Env) -> dict[str, set[frozenset[str]]]:
    found: dict[str, set[frozenset[str]]] = {}
    for family in env.registry.collect():
        for s in family.samples:
            found.setdefault(s.name, set()).add(frozenset(s.labels))
    return found


def two_calls(env: h.Env) -> None:
    """One OK and one INVALID_ARGUMENT unary call, observed on both sides."""
    server, target = conf.start_sync_server(env.obs.server_interceptors())
    try:
        stub, channel = h.sync_stub(env, target)
        with channel:
            stub.Unary(pb.ConformanceRequest(payload="hello" * 100), timeout=10)
            with pytest.raises(grpc.RpcError):
                stub.Unary(h.req(pb.BEHAVIOR_ABORT, code=3, message="bad"), timeout=10)
    finally:
        server.stop(None)
    h.wait_until(lambda: env.sample("grpc_server_call_duration_seconds_count",
                                    grpc_method=f"{conf.SERVICE}/Unary",
                                    grpc_status="INVALID_ARGUMENT") == 1)


@pytest.fixture
def env():
    e = h.make_env()
    yield e
    h.teardown_env()


def test_names_types_and_labels_match_grpcio_observability(env: h.Env) -> None:
    two_calls(env)
    mine = ours(env)
    ref = reference()
    assert len([n for n in ref if not n.startswith(NOT_RECORDED)]) >= 14
    for name, label_sets in ref.items():
        if name.startswith(NOT_RECORDED):
            continue
        assert name in mine, f"{name} is exported by grpcio-observability, not by us"
        assert label_sets <= mine[name], (name, label_sets, mine[name])
    # A66 also defines grpc.client.call.duration (grpcio-observability 1.85 does not export it)
    assert {"grpc_method", "grpc_target", "grpc_status", "le"} in mine[
        "grpc_client_call_duration_seconds_bucket"]
    statuses = {s.labels["grpc_status"] for f in env.registry.collect() for s in f.samples
                if s.name == "grpc_server_call_duration_seconds_count"}
    assert statuses == reference_statuses() == {"OK", "INVALID_ARGUMENT"}
    # the grpc_method value of a registered method: "pkg.Service/Method", no leading slash
    assert env.sample("grpc_server_call_started_total", grpc_method=f"{conf.SERVICE}/Unary") == 2
    # the size histograms count serialized bytes (a 500-byte payload: 503 on the wire)
    assert env.sample("grpc_server_call_rcvd_total_compressed_message_size_bytes_sum",
                      grpc_method=f"{conf.SERVICE}/Unary", grpc_status="OK") == (
        pb.ConformanceRequest(payload="hello" * 100).ByteSize())
    assert env.sample("grpc_server_call_rcvd_total_compressed_message_size_bytes_bucket",
                      grpc_method=f"{conf.SERVICE}/Unary", grpc_status="OK", le="1024.0") == 1


def test_unregistered_method_is_other(env: h.Env) -> None:
    server, target = conf.start_sync_server(env.obs.server_interceptors())
    try:
        with grpc.insecure_channel(target) as channel:
            with pytest.raises(grpc.RpcError) as info:
                channel.unary_unary(f"/{conf.SERVICE}/NoSuchMethod")(b"", timeout=10)
    finally:
        server.stop(None)
    assert info.value.code() is grpc.StatusCode.UNIMPLEMENTED
    h.wait_until(lambda: env.sample("grpc_server_call_started_total", grpc_method=OTHER) == 1)
    assert env.sample("grpc_server_call_duration_seconds_count", grpc_method=OTHER,
                      grpc_status="UNIMPLEMENTED") == 1
    assert not [s for f in env.registry.collect() for s in f.samples
                if "NoSuchMethod" in str(s.labels)]


def test_grpc_target_is_canonical_and_bounded() -> None:
    from prometheus_client import CollectorRegistry

    assert canonical_target("dns:///tasks-api:50051") == "tasks-api:50051"
    assert canonical_target("ipv4:10.0.0.7:50053") == "10.0.0.7:50053"
    assert canonical_target("127.0.0.1:50054") == "127.0.0.1:50054"
    assert canonical_target("unix:///run/bytebot.sock") == OTHER
    assert canonical_target(None) == OTHER
    metrics = A66Metrics(CollectorRegistry())
    labels = [metrics.target_label(f"10.0.0.{i}:50051") for i in range(40)]
    assert len(set(labels) - {OTHER}) == 16 and labels[-1] == OTHER
    assert metrics.target_label("10.0.0.0:50051") == "10.0.0.0:50051"  # known stays known
    meta = CallMeta(RpcKind.UNARY, "pkg.Svc", "Get", True)
    assert metrics.method(meta, "pkg.Svc/Get", "10.0.0.99:1")._labels == ("pkg.Svc/Get", OTHER)


@pytest.mark.parametrize(("go_names", "a66"), [(False, True), (True, False)])
def test_either_family_can_be_turned_off(go_names: bool, a66: bool) -> None:
    env = h.make_env(go_names=go_names, a66=a66)
    try:
        two_calls(env) if a66 else _two_calls_go(env)
        names = set(ours(env))
    finally:
        h.teardown_env()
    go_family = {"grpc_server_handled_total", "grpc_server_started_total",
                 "grpc_server_handling_seconds_bucket", "grpc_client_handled_total"}
    a66_family = {"grpc_server_call_duration_seconds_bucket", "grpc_server_call_started_total",
                  "grpc_client_attempt_started_total", "grpc_client_call_duration_seconds_bucket"}
    for family, on in ((go_family, go_names), (a66_family, a66)):
        if on:
            assert family <= names, family - names
        else:
            assert not family & names, family & names
    # the source document's request counter stays either way (its alerts read it)
    assert "bytebot_api_requests_total" in names


def _two_calls_go(env: h.Env) -> None:
    server, target = conf.start_sync_server(env.obs.server_interceptors())
    try:
        stub, channel = h.sync_stub(env, target)
        with channel:
            stub.Unary(pb.ConformanceRequest(payload="x"), timeout=10)
    finally:
        server.stop(None)
    h.wait_until(lambda: env.sample("grpc_server_handled_total", grpc_type="unary",
                                    grpc_service=conf.SERVICE, grpc_method="Unary",
                                    grpc_code="OK") == 1)


def test_settings_switches_from_the_environment(monkeypatch) -> None:
    assert ServiceSettings().metrics_go_names_enabled is True
    assert ServiceSettings().metrics_a66_enabled is True
    monkeypatch.setenv("BYTEBOT_METRICS_GO_NAMES_ENABLED", "false")
    monkeypatch.setenv("BYTEBOT_METRICS_A66_ENABLED", "0")
    settings = load_settings(ServiceSettings)
    assert settings.metrics_go_names_enabled is False and settings.metrics_a66_enabled is False
