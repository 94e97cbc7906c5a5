"""Every latency threshold the alerts, recording rules and SLO report read with
histogram_quantile is an edge of the histogram the processes really export, so the quantile
is exact at the threshold (issue 15 item 3): a constant 1.2 s must not page
BytebotHighResponseTime (> 2 s), a constant 2.1 s must."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Histogram
from sqlalchemy import create_engine

from libs.edge.callmeta import CallMeta, RpcKind
from libs.observability.metrics import RpcMetrics
from services.computer.metrics import OperationMetrics
from services.inference.servicer import ANE_BUCKETS
from services.tasks.metrics import TaskMetrics, instrument_queries
from services.telemetry import slo

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "prometheus" / "rules"
QUANTILE = re.compile(r"histogram_quantile\(\s*[0-9.]+\s*,.*?(\w+)_bucket", re.S)
THRESHOLD = re.compile(r"\)\s*(>|>=|<|<=)\s*([0-9.]+)\s*$")
LE = re.compile(r"(\w+)_bucket\{[^}]*\ble\s*=\s*\"([0-9.e+-]+)\"")


def exported_edges() -> dict[str, set[float]]:
    """histogram name -> its finite `le` edges, read from a real scrape of the registries
    the services build (one label child each, so every family has its buckets)."""
    registry = CollectorRegistry()
    rpc = RpcMetrics(registry)
    for is_client in (False, True):
        rpc.method(CallMeta(RpcKind.UNARY, "bytebot.tasks.v1.TaskService", "GetTask", is_client))
    assert rpc.a66 is not None  # A66 children per status are made on first use: make them
    rpc.a66.server_duration.labels("bytebot.tasks.v1.TaskService/GetTask", "OK")
    rpc.a66.attempt_duration.labels("bytebot.tasks.v1.TaskService/GetTask", "t:1", "OK")
    rpc.a66.call_duration.labels("bytebot.tasks.v1.TaskService/GetTask", "t:1", "OK")
    TaskMetrics(registry).duration.labels(type="immediate", status="completed")
    instrument_queries(registry, create_engine("sqlite://"))
    OperationMetrics(registry)
    Histogram("bytebot_ane_processing_duration_seconds", "ANE", ["model", "backend"],
              buckets=ANE_BUCKETS, registry=registry).labels(model="m", backend="b")
    edges: dict[str, set[float]] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels["le"] != "+Inf":
                edges.setdefault(sample.name[: -len("_bucket")], set()).add(
                    float(sample.labels["le"])
                )
    return edges


def rules() -> Iterator[tuple[str, str]]:
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                yield rule.get("alert") or rule["record"], rule["expr"].strip()


def thresholds() -> list[tuple[str, str, float]]:
    """(where, histogram, threshold) for every latency threshold in the rules and SLOs."""
    found = []
    for name, expr in rules():
        histograms = QUANTILE.findall(expr)
        compared = THRESHOLD.search(expr)
        if histograms and compared:
            found.extend((name, h, float(compared.group(2))) for h in histograms)
        found.extend((name, h, float(le)) for h, le in LE.findall(expr))
    recorded = {h for name, expr in rules() if "alert" not in name for h in QUANTILE.findall(expr)}
    for spec in slo.INDICATORS:
        if spec.kind is slo.Kind.P95:
            assert spec.metric in recorded, f"{spec.name}: no recording rule reads {spec.metric}"
            found.append((f"slo {spec.name} target", spec.metric, spec.target))
            found.append((f"slo {spec.name} alert", spec.metric, spec.alert_threshold))
    return found


def test_the_rules_and_slos_have_latency_thresholds_to_check():
    names = {where for where, _, _ in thresholds()}
    assert "BytebotHighResponseTime" in names
    assert {s.name for s in slo.INDICATORS if s.kind is slo.Kind.P95} == {
        where.split()[1] for where in names if where.startswith("slo ")
    }


@pytest.mark.parametrize(("where", "histogram", "threshold"), thresholds())
def test_threshold_is_a_bucket_edge(where, histogram, threshold):
    edges = exported_edges()
    assert histogram in edges, f"{where}: {histogram} is not exported by any service"
    assert threshold in edges[histogram], (
        f"{where}: {threshold} s is not an edge of {histogram} {sorted(edges[histogram])}"
    )


def test_a66_durations_have_the_rpc_buckets():
    """A dashboard's A66 p95 reads exact at the same thresholds as the go-name alerts."""
    edges = exported_edges()
    for name in ("grpc_server_call_duration_seconds", "grpc_client_attempt_duration_seconds",
                 "grpc_client_call_duration_seconds", "grpc_client_handling_seconds"):
        assert edges[name] == edges["grpc_server_handling_seconds"], name
    assert {0.2, 2.0} <= edges["grpc_server_call_duration_seconds"]


def p95_of_constant(histogram: str, seconds: float, calls: int = 1000) -> float:
    """Observe `calls` calls of `seconds` into a real histogram with the exported buckets
    and read p95 with Prometheus' interpolation (services/telemetry/slo.py reproduces it)."""
    registry = CollectorRegistry()
    h = Histogram("probe_seconds", "probe", buckets=sorted(exported_edges()[histogram]),
                  registry=registry)
    for _ in range(calls):
        h.observe(seconds)
    cumulative = [
        (float(s.labels["le"]), s.value)
        for family in registry.collect()
        for s in family.samples
        if s.name == "probe_seconds_bucket"
    ]
    value = slo.histogram_quantile(0.95, cumulative)
    assert value is not None
    return value


def test_constant_1_2_s_does_not_page_and_2_1_s_does():
    alert = {name: expr for name, expr in rules()}["BytebotHighResponseTime"]
    histogram = QUANTILE.findall(alert)[0]
    limit = float(THRESHOLD.search(alert).group(2))  # type: ignore[union-attr]
    assert limit == 2.0
    assert p95_of_constant(histogram, 1.2) <= limit  # 1.95 inside (1, 2]
    assert p95_of_constant(histogram, 2.1) > limit   # inside (2, 5]
    assert p95_of_constant(histogram, 2.0) <= limit  # exactly at the threshold: no page


@pytest.mark.parametrize("spec", [s for s in slo.INDICATORS if s.kind is slo.Kind.P95],
                         ids=lambda s: s.name)
def test_slo_state_is_exact_at_its_thresholds(spec):
    """Just under/over the target and alert threshold the SLO report reads the right side."""
    assert p95_of_constant(spec.metric, spec.target * 0.99) <= spec.target
    assert p95_of_constant(spec.metric, spec.target * 1.05) > spec.target
    assert p95_of_constant(spec.metric, spec.alert_threshold * 0.99) <= spec.alert_threshold
    assert p95_of_constant(spec.metric, spec.alert_threshold * 1.05) > spec.alert_threshold
