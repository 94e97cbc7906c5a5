"""Token buckets per key, once for every package (issue 13 item 5): libs/security's per-caller
rate limit and the telemetry service's per-(source, peer) event limit.

`rate` tokens per second refill each bucket up to `burst`. The table is an LRU of at most
`max_keys` buckets, so a flood of distinct keys cannot grow memory without bound; a
forgotten bucket comes back full, which only ever errs on the side of accepting.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class TokenBuckets(Generic[K]):
    def __init__(
        self,
        rate: float,
        burst: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = float(rate)
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[K, tuple[float, float]] = OrderedDict()  # (tokens, at)
        self._lock = threading.Lock()

    def _level(self, key: K, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def take(self, needs: Mapping[K, float], now: float | None = None) -> tuple[K, float] | None:
        """Take `needs[key]` tokens from every key's bucket, or from none: None when taken,
        else (the first key that is short, seconds until it would have enough)."""
        now = self._clock() if now is None else now
        with self._lock:
            levels = {key: self._level(key, now) for key in needs}
            for key, count in needs.items():
                if count > levels[key]:
                    return key, (count - levels[key]) / self.rate
            for key, count in needs.items():
                self._buckets[key] = (levels[key] - count, now)
                self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return None

    def __len__(self) -> int:
        return len(self._buckets)


__all__ = ["TokenBuckets"]
