"""The computer service's operation metrics (DESIGN §4), one observation per action.

`operation_type` is the Bytebot action name (16 values) and `status` one of success, error,
invalid (INVALID_ARGUMENT): both label sets are bounded, and every series exists from the
first scrape so `rate()` and absence alerts work before the first call.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from libs.actions.validation import DESKTOP_ACTIONS
from libs.observability import buckets

STATUSES = ("success", "error", "invalid")
# From sub-millisecond input actions to Bytebot's 300 s wait, with edges at the baseline
# table's 0.1 s target and 0.5 s alert (libs/observability/buckets.py).
BUCKETS = buckets.COMPUTER_SECONDS


class OperationMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.total = Counter(
            "bytebot_computer_operations_total",
            "Desktop operations performed, by Bytebot action name and outcome.",
            ["operation_type", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "bytebot_computer_operation_duration_seconds",
            "Desktop operation latency in seconds, by Bytebot action name.",
            ["operation_type"],
            buckets=BUCKETS,
            registry=registry,
        )
        for operation in DESKTOP_ACTIONS:
            self.duration.labels(operation_type=operation)
            for status in STATUSES:
                self.total.labels(operation_type=operation, status=status)

    def observe(self, operation: str, status: str, seconds: float) -> None:
        self.total.labels(operation_type=operation, status=status).inc()
        self.duration.labels(operation_type=operation).observe(seconds)
