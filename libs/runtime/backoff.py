"""Exponential backoff with jitter, one definition for every retry and background loop.

`full_jitter(n)` is AWS's "full jitter" (a uniform draw in [0, cap]): the right choice for
RPC retries, where a fleet of clients hitting one recovering server must spread out.
`equal_jitter(n)` draws in [cap/2, cap]: for a background loop, which must never spin
(a draw near 0 would retry a broken database at once), yet must not beat in lock-step
with its replicas either.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def exponential_cap(attempt: int, initial: float, maximum: float, multiplier: float = 2.0) -> float:
    """The un-jittered delay before retry `attempt` (1 = the first retry), capped."""
    if attempt < 1:
        return 0.0
    # min() first on the exponent's result would overflow for big attempts: bound it.
    exponent = min(attempt - 1, 64)
    return min(maximum, initial * multiplier**exponent)


def full_jitter(
    attempt: int,
    initial: float,
    maximum: float,
    *,
    multiplier: float = 2.0,
    rng: Callable[[], float] = random.random,
) -> float:
    return rng() * exponential_cap(attempt, initial, maximum, multiplier)


def equal_jitter(
    attempt: int,
    initial: float,
    maximum: float,
    *,
    multiplier: float = 2.0,
    rng: Callable[[], float] = random.random,
) -> float:
    cap = exponential_cap(attempt, initial, maximum, multiplier)
    return cap / 2 + rng() * cap / 2


__all__ = ["equal_jitter", "exponential_cap", "full_jitter"]
