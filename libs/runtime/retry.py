"""A per-process retry budget and the retry metrics (issue 17 item 3).

Retries help when a few calls fail and hurt when everything fails: a fleet that retries
every failed call 3 times turns an outage into 3-4x the load just as the server comes back.
A budget caps retries to a fraction of the calls, like gRPC's retry throttling (gRFC A6)
and Envoy's / Finagle's retry budgets:

    budget = RetryBudget(ratio=0.1, min_per_second=1.0, max_tokens=10.0)
    budget.deposit()             # once per call (first attempts only, success or not)
    if budget.try_withdraw():    # before each retry: False = no retry, fail now
        ...

It is a token bucket: every call deposits `ratio` tokens, time adds `min_per_second`
tokens a second (so a quiet process can still retry now and then), the bucket holds at
most `max_tokens`, and a retry takes one whole token. Over any interval of T seconds with
C calls, retries <= max_tokens + ratio * C + min_per_second * T — with the defaults, after
the first 10 the retries are at most 10 % of the calls plus one a second, however long the
outage. Thread-safe (a lock), so one budget can serve a whole process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

RETRIES_METRIC = "bytebot_rpc_retries_total"
# Retry decisions, the `outcome` label (bounded):
RETRIED = "retried"  # a retry was made
BUDGET_EXHAUSTED = "budget_exhausted"  # a retry was wanted; the budget said no
DEADLINE = "deadline"  # a retry was wanted; the call's remaining time could not fit it
ATTEMPTS_EXHAUSTED = "attempts_exhausted"  # the per-call attempt limit was reached
OUTCOMES = (RETRIED, BUDGET_EXHAUSTED, DEADLINE, ATTEMPTS_EXHAUSTED)


class RetryBudget:
    def __init__(
        self,
        ratio: float = 0.1,
        *,
        min_per_second: float = 1.0,
        max_tokens: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ratio < 0 or min_per_second < 0 or max_tokens < 1:
            raise ValueError("ratio and min_per_second must be >= 0, max_tokens >= 1")
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.max_tokens = max_tokens
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = max_tokens  # a new process may retry its first few failures
        self._at = clock()
        self.calls = 0
        self.retries = 0
        self.refused = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.max_tokens, self._tokens + (now - self._at) * self.min_per_second)
        self._at = now

    def deposit(self) -> None:
        """One call (its first attempt)."""
        with self._lock:
            self._refill()
            self.calls += 1
            self._tokens = min(self.max_tokens, self._tokens + self.ratio)

    def try_withdraw(self) -> bool:
        """May this call be retried? Takes a token if so."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                self.retries += 1
                return True
            self.refused += 1
            return False

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens


class RetryMetrics:
    """`bytebot_rpc_retries_total{target,outcome}` (target: the called service's short
    name, a code constant) and a histogram of attempts per logical call."""

    def __init__(
        self,
        registry: CollectorRegistry,
        targets: tuple[str, ...],
        *,
        attempts_metric: str,
        attempts_help: str,
        buckets: tuple[float, ...] = (1, 2, 3, 4, 6, 8, 12),
    ) -> None:
        self.retries = Counter(
            RETRIES_METRIC,
            "Retry decisions for failed calls by target service and outcome (retried, "
            "budget_exhausted, deadline, attempts_exhausted).",
            ["target", "outcome"],
            registry=registry,
        )
        for target in targets:  # every series exists at 0 from the start
            for outcome in OUTCOMES:
                self.retries.labels(target=target, outcome=outcome)
        self.attempts = Histogram(attempts_metric, attempts_help, buckets=buckets,
                                  registry=registry)


__all__ = [
    "ATTEMPTS_EXHAUSTED",
    "BUDGET_EXHAUSTED",
    "DEADLINE",
    "OUTCOMES",
    "RETRIED",
    "RETRIES_METRIC",
    "RetryBudget",
    "RetryMetrics",
]
