"""Per-caller token buckets: `rate` requests per second, bursts up to `burst`.

Keys are identity subjects (or peer addresses when authentication is off); the table is an
LRU bounded by `max_keys`, so a flood of distinct callers cannot grow memory without bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from libs.token_buckets import TokenBuckets


class RateLimiter(TokenBuckets[str]):
    def __init__(
        self,
        rate_per_second: float,
        burst: int = 0,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be > 0")
        burst_size = burst if burst > 0 else max(1, math.ceil(2 * rate_per_second))
        super().__init__(rate_per_second, burst_size, max_keys, clock)

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is free."""
        short = self.take({key: 1.0})
        return 0.0 if short is None else short[1]


__all__ = ["RateLimiter"]
