"""Deadlines honoured end to end: the server interceptor records when the current call must
end; outgoing calls made while serving it get at most the time that is left.

The observability client interceptors do not do this (they forward correlation and trace
context only), and the runtime's default deadline (30 s) would otherwise let a downstream
call outlive the caller that already gave up. The outgoing side is in `client_side.py`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Absolute time.monotonic() by which the current call must be answered; None: no deadline.
_deadline: ContextVar[float | None] = ContextVar("bytebot_deadline", default=None)

# grpc reports "no deadline" as a huge remaining time (sync) or None (aio).
_NO_DEADLINE = 1e8
# An already-expired budget still goes out as a tiny timeout, so the call fails with
# DEADLINE_EXCEEDED at once instead of running without one.
MIN_TIMEOUT = 0.001


def deadline_of(context: Any) -> float | None:
    try:
        remaining = context.time_remaining()
    except Exception:
        return None
    if remaining is None or remaining > _NO_DEADLINE:
        return None
    return time.monotonic() + max(0.0, remaining)


def bind_deadline(deadline: float | None) -> object:
    return _deadline.set(deadline)


def reset_deadline(token: object) -> None:
    _deadline.reset(token)  # type: ignore[arg-type]


def remaining() -> float | None:
    """Seconds left of the current call (or scope); None when unbounded."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def deadline_scope(seconds: float | None) -> Iterator[None]:
    """Bound the outgoing calls of a block (e.g. a task's remaining time in the worker);
    nested scopes only ever shorten the budget."""
    current = _deadline.get()
    new = None if seconds is None else time.monotonic() + seconds
    if current is not None and (new is None or current < new):
        new = current
    token = _deadline.set(new)
    try:
        yield
    finally:
        _deadline.reset(token)


def clamp_timeout(timeout: float | None) -> float | None:
    """The timeout for an outgoing call: the caller's own, shortened to what is left."""
    left = remaining()
    if left is None:
        return timeout
    left = max(MIN_TIMEOUT, left)
    return left if timeout is None or left < timeout else timeout


__all__ = [
    "bind_deadline",
    "clamp_timeout",
    "deadline_of",
    "deadline_scope",
    "remaining",
    "reset_deadline",
]
