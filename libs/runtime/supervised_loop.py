"""Background loops that never die: one supervisor for every periodic task of a service.

    loops = runtime.loops                          # BackgroundLoops of this process
    refresh = loops.add("queue_length_refresh", refresh_once, interval=5.0, tolerance=60.0)
    spec.background.append(refresh.run)

`body` is one iteration, `async () -> float | None`: it returns the delay before the next
iteration (None: `interval`). The supervisor:

- catches every exception of an iteration (never cancellation), and logs its type and a
  safe first line (`safe_error_text`: an empty message such as `TimeoutError()` is fine —
  `str(exc).splitlines()[0]` raised IndexError there and killed the loop it was guarding);
- backs off exponentially with jitter, capped (`equal_jitter`: never spins, never in
  lock-step with its replicas), and is back at `interval` after the first success;
- counts failures in `bytebot_background_loop_failures_total{loop}` (the label is the
  loop's registered name, so it is bounded by the code, never by data);
- is a readiness check (`loop:<name>`): NOT_SERVING once the loop has been failing without a
  success for longer than `tolerance` seconds, SERVING again after its first success. The
  supervisor refreshes readiness itself at both transitions, so /health/ready and gRPC
  health (one HealthManager) change within one iteration, not one check interval.

A long-running body (a LISTEN connection) calls `loop.succeeded()` once it is healthy, so
its disconnection after hours starts a new failure streak rather than extending an old one.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from libs.observability.logging import get_logger
from libs.runtime.backoff import equal_jitter

log = get_logger(__name__)

LoopBody = Callable[[], Awaitable[float | None]]

FAILURES_METRIC = "bytebot_background_loop_failures_total"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def safe_error_text(exc: BaseException, limit: int = 300) -> str:
    """The first line of `str(exc)`, at most `limit` characters; "" for an empty message.
    Never raises, even for an exception whose `__str__` does."""
    try:
        text = str(exc)
    except Exception:
        return ""
    return next(iter(text.splitlines()), "")[: max(0, limit)]


def describe_error(exc: BaseException, limit: int = 300) -> str:
    """`Type: first line` (or just `Type` for an empty message), at most `limit` characters."""
    text = safe_error_text(exc, limit)
    name = type(exc).__name__
    return (f"{name}: {text}" if text else name)[: max(0, limit)]


class LoopHealth:
    """The accounting of one loop: failures (logged, counted), backoff, failure streak and
    the readiness check. `SupervisedLoop` drives it; a loop run by someone else (the
    worker's claim loop probing the queue) reports to one directly (`failed`/`succeeded`)."""

    def __init__(
        self,
        name: str,
        *,
        interval: float = 1.0,
        tolerance: float = 30.0,
        backoff_initial: float | None = None,
        backoff_max: float = 30.0,
        failures: Counter | None = None,
        on_health_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not _NAME.match(name):
            raise ValueError(f"loop name {name!r}: lower-case letters, digits and _ only")
        self.name = name
        self.interval = interval
        self.tolerance = tolerance
        self.backoff_initial = backoff_initial if backoff_initial is not None else max(
            interval, 0.1
        )
        self.backoff_max = max(backoff_max, self.backoff_initial)
        self._failures = failures.labels(loop=name) if failures is not None else None
        self._on_health_change = on_health_change
        self._clock = clock
        self._rng = rng
        self.failures = 0  # ever (the counter's value in this process)
        self.consecutive_failures = 0
        self.failing_since: float | None = None
        self.last_error = ""
        self._reported_unhealthy = False

    # --- state ---------------------------------------------------------------------------

    def failing_for(self) -> float:
        return 0.0 if self.failing_since is None else self._clock() - self.failing_since

    def healthy(self) -> bool:
        return self.failing_since is None or self.failing_for() <= self.tolerance

    async def check(self) -> None:
        """Readiness check: raises while the loop has failed for longer than its tolerance."""
        if not self.healthy():
            raise RuntimeError(
                f"background loop {self.name} failing for {self.failing_for():.0f}s "
                f"(tolerance {self.tolerance:g}s, {self.consecutive_failures} failures in a "
                f"row; last: {self.last_error})"
            )

    # --- transitions ---------------------------------------------------------------------

    def succeeded(self) -> None:
        """The loop works (called after every successful iteration, or by a long body)."""
        if self.failing_since is not None:
            log.info(
                "background loop recovered",
                loop=self.name,
                failedForSeconds=round(self.failing_for(), 3),
                failures=self.consecutive_failures,
            )
        self.failing_since = None
        self.consecutive_failures = 0
        self._health_maybe_changed()

    def failed(self, exc: BaseException) -> float:
        """Record one failure; returns the backoff before the next iteration."""
        self.failures += 1
        self.consecutive_failures += 1
        if self.failing_since is None:
            self.failing_since = self._clock()
        if self._failures is not None:
            self._failures.inc()
        self.last_error = describe_error(exc)
        delay = equal_jitter(
            self.consecutive_failures, self.backoff_initial, self.backoff_max, rng=self._rng
        )
        log.warning(
            "background loop iteration failed",
            loop=self.name,
            errorType=type(exc).__name__,
            error=safe_error_text(exc),
            consecutiveFailures=self.consecutive_failures,
            failingForSeconds=round(self.failing_for(), 3),
            retryInSeconds=round(delay, 3),
        )
        self._health_maybe_changed()
        return delay

    def _health_maybe_changed(self) -> None:
        unhealthy = not self.healthy()
        if unhealthy != self._reported_unhealthy:
            self._reported_unhealthy = unhealthy
            if unhealthy:
                log.error(
                    "background loop failing beyond its tolerance: readiness NOT_SERVING",
                    loop=self.name,
                    toleranceSeconds=self.tolerance,
                    lastError=self.last_error,
                )
            if self._on_health_change is not None:
                self._on_health_change()


class SupervisedLoop(LoopHealth):
    """`body` run forever under a `LoopHealth` (see the module docstring)."""

    def __init__(
        self, name: str, body: LoopBody, *, timeout: float | None = None, **policy: Any
    ) -> None:
        super().__init__(name, **policy)
        self.body = body
        self.timeout = timeout
        self.iterations = 0  # completed without an exception

    # --- running -------------------------------------------------------------------------

    async def _iterate(self) -> float | None:
        if self.timeout is None:
            return await self.body()
        async with asyncio.timeout(self.timeout):
            return await self.body()

    async def run(self) -> None:
        """Forever (until cancelled)."""
        while True:
            try:
                delay = await self._iterate()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # everything: this loop must outlive any bug or outage
                delay = self.failed(exc)
                # If the tolerance runs out during this backoff, readiness flips then, not
                # at the next failure (up to `backoff_max` later).
                await self._sleep_noting_tolerance(delay)
                continue
            self.iterations += 1
            self.succeeded()
            await asyncio.sleep(self.interval if delay is None else max(0.0, delay))

    async def _sleep_noting_tolerance(self, delay: float) -> None:
        """Sleep `delay`; if the tolerance runs out meanwhile, report it at that moment
        (readiness must not wait for the next failure, up to `backoff_max` away)."""
        assert self.failing_since is not None
        until_intolerable = self.failing_since + self.tolerance - self._clock()
        if 0 <= until_intolerable < delay:
            await asyncio.sleep(until_intolerable + 0.001)
            self._health_maybe_changed()
            delay -= until_intolerable + 0.001
        await asyncio.sleep(max(0.0, delay))


class BackgroundLoops:
    """The supervised loops of one process: one failure counter in its registry and one
    readiness check per loop in its health manager."""

    def __init__(self, registry: CollectorRegistry | None, health: Any = None) -> None:
        self.health = health
        self.failures = (
            Counter(
                FAILURES_METRIC,
                "Failed iterations of a supervised background loop (it keeps running, backing "
                "off); readiness turns NOT_SERVING when one fails beyond its tolerance.",
                ["loop"],
                registry=registry,
            )
            if registry is not None
            else None
        )
        self.loops: dict[str, LoopHealth] = {}

    def add(
        self, name: str, body: LoopBody, *, readiness: bool = True, **policy: Any
    ) -> SupervisedLoop:
        """A supervised loop running `body`; `readiness=False`: counted, never NOT_SERVING."""
        loop = SupervisedLoop(
            name, body, failures=self.failures, on_health_change=self._refresh, **policy
        )
        self._register(loop, readiness)
        return loop

    def track(self, name: str, *, readiness: bool = True, **policy: Any) -> LoopHealth:
        """Accounting only, for a loop this module does not drive."""
        health = LoopHealth(name, failures=self.failures, on_health_change=self._refresh, **policy)
        self._register(health, readiness)
        return health

    def _register(self, loop: LoopHealth, readiness: bool) -> None:
        if loop.name in self.loops:
            raise ValueError(f"background loop {loop.name!r} is already registered")
        self.loops[loop.name] = loop
        if self.failures is not None:
            self.failures.labels(loop=loop.name)  # the series exists at 0 from the start
        if readiness and self.health is not None:
            self.health.add_check(f"loop:{loop.name}", loop.check)

    def _refresh(self) -> None:
        """Re-publish readiness now (from inside the loop's task, on the event loop)."""
        if self.health is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = running.create_task(self.health.refresh())
        task.add_done_callback(_ignore_result)


def _ignore_result(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # a failed round is reported by the round itself


__all__ = [
    "FAILURES_METRIC",
    "BackgroundLoops",
    "LoopHealth",
    "SupervisedLoop",
    "describe_error",
    "safe_error_text",
]
