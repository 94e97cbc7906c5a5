"""The performance-baseline table of the source document as SLO indicators.

| Metric                              | Target   | Alert threshold |
| API Response Time (95th percentile) | < 200ms  | > 2000ms        |
| Task Processing Time                | < 5s     | > 30s           |
| Computer Operation Latency          | < 100ms  | > 500ms         |
| Database Query Time                 | < 50ms   | > 200ms         |
| Memory Usage                        | < 80%    | > 90%           |
| CPU Usage                           | < 70%    | > 85%           |
| Error Rate                          | < 1%     | > 5%            |

Units are Prometheus base units (DESIGN §4): seconds and ratios (0.8, not 80 %). Latencies are
95th percentiles over the window; "API response time" is the server-side handling time of
unary RPCs (long-lived streams such as WatchTask would make any percentile meaningless);
memory and CPU are the worst (max) process of the fleet against the configured limits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from bytebot.telemetry.v1 import telemetry_pb2 as pb


class Kind(Enum):
    P95 = "p95"          # histogram_quantile(0.95, …) of a histogram
    MEMORY = "memory"    # max resident memory / limit
    CPU = "cpu"          # max CPU seconds per second / cores
    ERRORS = "errors"    # 5xx requests / all requests


@dataclass(frozen=True)
class IndicatorSpec:
    name: str
    description: str
    unit: str
    target: float
    alert_threshold: float
    kind: Kind
    metric: str = ""        # the histogram's base name (P95)
    extra_selector: str = ""  # label matchers always applied (P95)


QUANTILE = 0.95

INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec(
        "api_response_time_p95",
        "95th percentile of server-side gRPC handling time of unary calls",
        "seconds", 0.2, 2.0, Kind.P95, "grpc_server_handling_seconds", 'grpc_type="unary"',
    ),
    IndicatorSpec(
        "task_processing_time_p95",
        "95th percentile of task execution time (claim to outcome)",
        "seconds", 5.0, 30.0, Kind.P95, "bytebot_task_duration_seconds",
    ),
    IndicatorSpec(
        "computer_operation_latency_p95",
        "95th percentile of desktop action latency",
        "seconds", 0.1, 0.5, Kind.P95, "bytebot_computer_operation_duration_seconds",
    ),
    IndicatorSpec(
        "database_query_time_p95",
        "95th percentile of database query time",
        "seconds", 0.05, 0.2, Kind.P95, "bytebot_database_query_duration_seconds",
    ),
    IndicatorSpec(
        "memory_usage",
        "resident memory of the largest process over the memory limit",
        "ratio", 0.8, 0.9, Kind.MEMORY,
    ),
    IndicatorSpec(
        "cpu_usage",
        "CPU time per second of the busiest process over the CPU limit",
        "ratio", 0.7, 0.85, Kind.CPU,
    ),
    IndicatorSpec(
        "error_rate",
        "share of API requests answered with a server fault (HTTP-equivalent 5xx)",
        "ratio", 0.01, 0.05, Kind.ERRORS,
    ),
)


def _matchers(*parts: str) -> str:
    inner = ",".join(p for p in parts if p)
    return "{" + inner + "}" if inner else ""


def promql_duration(seconds: float) -> str:
    return f"{max(1, round(seconds))}s"


def promql(
    spec: IndicatorSpec,
    window_s: float,
    selector: str,
    memory_limit_bytes: float,
    cpu_limit_cores: float,
) -> str:
    """The PromQL expression of an indicator (what Prometheus is asked, and what the
    /metrics computation reproduces)."""
    w = promql_duration(window_s)
    if spec.kind is Kind.P95:
        m = _matchers(selector, spec.extra_selector)
        return (
            f"histogram_quantile({QUANTILE}, sum by (le) "
            f"(rate({spec.metric}_bucket{m}[{w}])))"
        )
    if spec.kind is Kind.MEMORY:
        return f"max(process_resident_memory_bytes{_matchers(selector)}) / {memory_limit_bytes:.0f}"
    if spec.kind is Kind.CPU:
        m = _matchers(selector)
        return f"max(rate(process_cpu_seconds_total{m}[{w}])) / {cpu_limit_cores:g}"
    errors = _matchers(selector, 'status_code=~"5.."')
    return (
        f"sum(rate(bytebot_api_requests_total{errors}[{w}])) / "
        f"sum(rate(bytebot_api_requests_total{_matchers(selector)}[{w}]))"
    )


def state_of(spec: IndicatorSpec, value: float | None) -> int:
    if value is None or math.isnan(value):
        return pb.SLO_STATE_NO_DATA
    if value <= spec.target:
        return pb.SLO_STATE_OK
    if value > spec.alert_threshold:
        return pb.SLO_STATE_BREACHED
    return pb.SLO_STATE_WARNING


def indicator(spec: IndicatorSpec, value: float | None, query: str) -> pb.SloIndicator:
    usable = value is not None and math.isfinite(value)
    return pb.SloIndicator(
        name=spec.name,
        description=spec.description,
        unit=spec.unit,
        target=spec.target,
        alert_threshold=spec.alert_threshold,
        current=value if usable else 0.0,  # type: ignore[arg-type]
        has_value=usable,
        state=state_of(spec, value if usable else None),  # type: ignore[arg-type]
        query=query,
    )


def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile over cumulative (upper bound, count) buckets: linear
    interpolation inside the bucket holding the rank; the lowest bucket starts at 0 (when
    its bound is positive); a rank in the +Inf bucket answers the highest finite bound.
    None when there are no observations."""
    ordered = sorted(buckets)
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return None
    # Cumulative counts must not decrease (they may, slightly, across a scrape race).
    fixed: list[tuple[float, float]] = []
    running = 0.0
    for bound, count in ordered:
        running = max(running, count)
        fixed.append((bound, running))
    total = fixed[-1][1]
    if total <= 0:
        return None
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for i, (bound, count) in enumerate(fixed):
        if count >= rank:
            if math.isinf(bound):
                return fixed[-2][0]
            if i == 0 and bound <= 0:
                return bound
            lower = previous_bound if i > 0 else 0.0
            in_bucket = count - previous_count
            if in_bucket <= 0:
                return bound
            return lower + (bound - lower) * (rank - previous_count) / in_bucket
        previous_bound, previous_count = bound, count
    return fixed[-2][0]
