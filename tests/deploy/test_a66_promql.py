"""A dashboard written for grpc-go's gRFC A66 metrics works on our services (issue 15 item 2):
a real Prometheus scrapes a real `bytebot serve` process while calls run, and answers the
PromQL such a dashboard sends — plus every A66 panel of our own Grafana dashboards — with
our series; the go-grpc-prometheus names stay beside them on the same /metrics."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc

from tests.deploy.live_prometheus import LivePrometheus, wait_for
from tests.deploy.promql_inventory import to_promql
from tests.integration.runtime.conftest import start_server, stop_server

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
UNARY = "bytebot.testing.v1.ConformanceService/Unary"
# Written for grpc-go's OpenTelemetry plugin (A66 names, Prometheus exporter spelling)
GRPC_GO_QUERIES = {
    "p95 by method": "histogram_quantile(0.95, sum by (le, grpc_method) "
                     "(rate(grpc_server_call_duration_seconds_bucket[5m])))",
    "errors by status": 'sum by (grpc_method, grpc_status) '
                        '(rate(grpc_server_call_duration_seconds_count{grpc_status!="OK"}[5m]))',
    "started": "sum by (grpc_method) (rate(grpc_server_call_started_total[5m]))",
    "client p95 by target": "histogram_quantile(0.95, sum by (le, grpc_target) "
                            "(rate(grpc_client_attempt_duration_seconds_bucket[5m])))",
}


def _calls(target: str, stop: threading.Event) -> None:
    """OK calls, NOT_FOUND calls and calls that hop back to the server (client series)."""
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.ConformanceServiceStub(channel)
        while not stop.is_set():
            stub.Unary(pb.ConformanceRequest(payload="a66"), timeout=10)
            stub.Unary(pb.ConformanceRequest(behavior=pb.BEHAVIOR_CALL_NEXT,
                                             next_target=target), timeout=10)
            try:
                stub.Unary(pb.ConformanceRequest(behavior=pb.BEHAVIOR_ABORT, code=5,
                                                 message="nope"), timeout=10)
            except grpc.RpcError:
                pass
            stop.wait(0.05)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    server = start_server()
    stop = threading.Event()
    caller = threading.Thread(target=_calls, args=(server.grpc_target, stop), daemon=True)
    prometheus = None
    try:
        caller.start()
        host_port = server.http_url.removeprefix("http://")
        config = ("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                  "scrape_configs:\n  - job_name: bytebot-api\n    static_configs:\n"
                  f'      - targets: ["{host_port}"]\n')
        prometheus = LivePrometheus(tmp_path_factory.mktemp("prom-a66"), config)
        yield prometheus
    finally:
        stop.set()
        caller.join(timeout=15)
        if prometheus is not None:
            prometheus.stop()
        stop_server(server)


def _series(prometheus: LivePrometheus, promql: str) -> list[dict]:
    """Wait until the query returns finite values (a rate needs two scrapes)."""
    def finite() -> list[dict] | None:
        result = [r for r in prometheus.query(promql) if r["value"][1] not in ("NaN", "+Inf")]
        return result or None

    value, _ = wait_for(finite, timeout=30)
    assert value, f"no finite series for {promql}"
    return value


def test_grpc_go_a66_queries_return_our_series(scraped: LivePrometheus):
    p95 = {r["metric"].get("grpc_method"): float(r["value"][1])
           for r in _series(scraped, GRPC_GO_QUERIES["p95 by method"])}
    assert UNARY in p95 and 0 < p95[UNARY] < 2, p95
    errors = _series(scraped, GRPC_GO_QUERIES["errors by status"])
    assert {(r["metric"]["grpc_method"], r["metric"]["grpc_status"]) for r in errors} == {
        (UNARY, "NOT_FOUND")}
    started = {r["metric"]["grpc_method"] for r in _series(scraped, GRPC_GO_QUERIES["started"])}
    assert UNARY in started and not any(m.startswith("/") for m in started)
    targets = {r["metric"]["grpc_target"]
               for r in _series(scraped, GRPC_GO_QUERIES["client p95 by target"])}
    assert len(targets) == 1 and targets.pop().startswith("127.0.0.1:")
    # both families on one /metrics: the go-grpc-prometheus names are still there
    assert _series(scraped, 'sum(rate(grpc_server_handled_total{grpc_method="Unary"}[5m]))')


def test_every_a66_panel_of_the_dashboards_has_data(scraped: LivePrometheus):
    dashboard = json.loads((GRAFANA / "application-overview.json").read_text())
    panels = [p for p in dashboard["panels"] if p["title"].startswith("A66 ")]
    assert len(panels) == 4
    for panel in panels:
        for target in panel["targets"]:
            assert _series(scraped, to_promql(target["expr"])), (panel["title"], target["expr"])
