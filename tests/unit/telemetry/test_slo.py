"""The SLO arithmetic: histogram_quantile like Prometheus', states, PromQL text, and the
window computation over /metrics samples."""

# ruff: noqa: E501 - the exposition text keeps its real line format
import math

import pytest
from bytebot.telemetry.v1 import telemetry_pb2 as pb

from services.telemetry import slo
from services.telemetry.metrics_source import MetricsHistory, compute, parse_sample

INF = math.inf


def spec(name: str) -> slo.IndicatorSpec:
    return next(s for s in slo.INDICATORS if s.name == name)


def test_quantile_interpolates_inside_the_bucket():
    # 100 observations: 50 in (0, 0.1], 50 in (0.1, 0.5]; rank 95 is 45/50 into the second
    buckets = [(0.1, 50), (0.5, 100), (INF, 100)]
    assert slo.histogram_quantile(0.95, buckets) == pytest.approx(0.1 + 0.4 * 45 / 50)
    assert slo.histogram_quantile(0.5, buckets) == pytest.approx(0.1)


def test_quantile_first_bucket_starts_at_zero_and_inf_bucket_answers_highest_bound():
    assert slo.histogram_quantile(0.5, [(0.2, 10), (INF, 10)]) == pytest.approx(0.1)
    assert slo.histogram_quantile(0.95, [(0.2, 1), (1.0, 2), (INF, 10)]) == pytest.approx(1.0)


def test_quantile_without_observations_or_inf_bucket_is_no_data():
    assert slo.histogram_quantile(0.95, [(0.1, 0), (INF, 0)]) is None
    assert slo.histogram_quantile(0.95, [(0.1, 3)]) is None
    assert slo.histogram_quantile(0.95, []) is None


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (0.1, pb.SLO_STATE_OK),
        (0.2, pb.SLO_STATE_OK),  # "at or better than the target"
        (0.5, pb.SLO_STATE_WARNING),
        (2.0, pb.SLO_STATE_WARNING),
        (2.01, pb.SLO_STATE_BREACHED),
        (None, pb.SLO_STATE_NO_DATA),
    ],
)
def test_states_against_target_and_threshold(value, state):
    assert slo.state_of(spec("api_response_time_p95"), value) == state


def test_indicator_message_carries_the_baseline_table():
    table = {s.name: (s.target, s.alert_threshold, s.unit) for s in slo.INDICATORS}
    assert table == {
        "api_response_time_p95": (0.2, 2.0, "seconds"),
        "task_processing_time_p95": (5.0, 30.0, "seconds"),
        "computer_operation_latency_p95": (0.1, 0.5, "seconds"),
        "database_query_time_p95": (0.05, 0.2, "seconds"),
        "memory_usage": (0.8, 0.9, "ratio"),
        "cpu_usage": (0.7, 0.85, "ratio"),
        "error_rate": (0.01, 0.05, "ratio"),
    }
    message = slo.indicator(spec("error_rate"), None, "q")
    assert not message.has_value and message.state == pb.SLO_STATE_NO_DATA


def test_promql_uses_the_window_and_selector():
    q = slo.promql(spec("api_response_time_p95"), 300, 'job=~"bytebot.*"', 8e9, 2)
    assert q == (
        'histogram_quantile(0.95, sum by (le) (rate(grpc_server_handling_seconds_bucket'
        '{job=~"bytebot.*",grpc_type="unary"}[300s])))'
    )
    assert slo.promql(spec("memory_usage"), 60, "", 8e9, 1) == (
        "max(process_resident_memory_bytes) / 8000000000"
    )
    errors = slo.promql(spec("error_rate"), 120, "", 1, 1)
    assert 'bytebot_api_requests_total{status_code=~"5.."}[120s]' in errors


EXPOSITION = """\
# TYPE grpc_server_handling_seconds histogram
grpc_server_handling_seconds_bucket{grpc_type="unary",grpc_service="s",grpc_method="m",le="0.1"} {a}
grpc_server_handling_seconds_bucket{grpc_type="unary",grpc_service="s",grpc_method="m",le="1.0"} {b}
grpc_server_handling_seconds_bucket{grpc_type="unary",grpc_service="s",grpc_method="m",le="+Inf"} {b}
grpc_server_handling_seconds_count{grpc_type="unary",grpc_service="s",grpc_method="m"} {b}
grpc_server_handling_seconds_sum{grpc_type="unary",grpc_service="s",grpc_method="m"} 1.0
grpc_server_handling_seconds_bucket{grpc_type="server_stream",grpc_service="s",grpc_method="w",le="0.1"} 0
grpc_server_handling_seconds_bucket{grpc_type="server_stream",grpc_service="s",grpc_method="w",le="1.0"} 0
grpc_server_handling_seconds_bucket{grpc_type="server_stream",grpc_service="s",grpc_method="w",le="+Inf"} 500
# TYPE bytebot_api_requests_total counter
bytebot_api_requests_total{method="unary",endpoint="/s/m",status_code="200",grpc_code="OK"} {ok}
bytebot_api_requests_total{method="unary",endpoint="/s/m",status_code="503",grpc_code="UNAVAILABLE"} {err}
bytebot_api_requests_total{method="unary",endpoint="/s/m",status_code="404",grpc_code="NOT_FOUND"} 7
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total {cpu}
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1000
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 4e8
"""


def sample(at, a, b, ok, err, cpu):
    text = EXPOSITION
    for key, value in {"a": a, "b": b, "ok": ok, "err": err, "cpu": cpu}.items():
        text = text.replace("{" + key + "}", str(value))
    return parse_sample(text, at)


def test_parse_keeps_unary_buckets_and_counts_5xx():
    s = sample(2000, 10, 20, 90, 3, 5.0)
    assert s.buckets["api_response_time_p95"] == {0.1: 10, 1.0: 20, INF: 20}
    assert (s.requests, s.errors) == (100, 3)
    assert (s.cpu_seconds, s.start_time, s.resident_bytes) == (5.0, 1000, 4e8)


def test_window_subtracts_the_sample_at_its_start():
    history = MetricsHistory()
    history.add("svc", sample(1700, 10, 10, 100, 0, 100.0))  # before the window: baseline
    history.add("svc", sample(1800, 10, 12, 150, 1, 110.0))  # inside the window: ignored
    now = sample(2000, 10, 30, 190, 10, 130.0)
    values = compute({"svc": now}, history, 300, memory_limit_bytes=1e9, cpu_limit_cores=2)
    # window: 20 observations all in (0.1, 1.0] → p95 = 0.1 + 0.9 * 19/20
    assert values["api_response_time_p95"] == pytest.approx(0.1 + 0.9 * 0.95)
    # 100 requests (90 OK + 10 errors + 0 new 404s); 10 of them 5xx
    assert values["error_rate"] == pytest.approx(10 / 100)
    assert values["cpu_usage"] == pytest.approx((130 - 100) / 300 / 2)
    assert values["memory_usage"] == pytest.approx(0.4)
    assert values["task_processing_time_p95"] is None


def test_without_history_counts_since_the_process_started():
    now = sample(2000, 10, 20, 90, 10, 50.0)
    values = compute({"svc": now}, MetricsHistory(), 300, 1e9, 1)
    assert values["error_rate"] == pytest.approx(10 / 107)
    assert values["cpu_usage"] == pytest.approx(50 / (2000 - 1000))


def test_a_restart_counts_from_zero():
    history = MetricsHistory()
    before = sample(1600, 10, 500, 1000, 50, 100.0)
    history.add("svc", before)
    restarted = sample(2000, 2, 4, 10, 0, 1.0)
    restarted.start_time = 1900.0  # a new process: its samples are not comparable
    values = compute({"svc": restarted}, history, 300, 1e9, 1)
    assert values["error_rate"] == pytest.approx(0.0)
    assert values["api_response_time_p95"] == pytest.approx(0.1 + 0.9 * (3.8 - 2) / 2)
