"""One health truth per process, served as `grpc.health.v1.Health` and as `/health/*` JSON.

Names (DESIGN §5):
  liveness   SERVING while the event loop makes progress; never depends on other services.
  startup    SERVING once every start-up step has completed.
  readiness  SERVING iff started, every readiness check passed, and not shutting down.
  ""  and each registered `pkg.Service` mirror readiness.

Readiness checks (`name -> async () -> None`, raising when unhealthy) run in the background
every `check_interval` seconds and on demand when the cached result is older than that, each
with a timeout and its response time measured. A probe never waits on more than one round of
checks: concurrent refreshes share one in-flight round.

We reuse grpcio-health-checking's asyncio servicer for Check and Watch but never call its
`enter_graceful_shutdown()`: it sets *every* name NOT_SERVING, liveness included, and a
liveness probe would then kill a pod that is only draining.
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from libs.observability.logging import timestamp

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN

LIVENESS = "liveness"
READINESS = "readiness"
STARTUP = "startup"
OVERALL = ""

ReadinessCheck = Callable[[], Awaitable[Any]]

PENDING = "pending"
RUNNING = "running"
COMPLETED = "completed"


# The one timestamp format of the product: the log lines' (RFC 3339 UTC, microseconds, `Z`).
utc_timestamp = timestamp


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    response_time_s: float
    checked_at: float  # time.monotonic()
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "ok" if self.ok else "error",
            "responseTime": f"{round(self.response_time_s * 1000)}ms",
        }
        if self.error:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class HealthSnapshot:
    """A consistent copy of the state, safe to read from the HTTP ops thread."""

    live: bool
    started: bool
    ready: bool
    shutting_down: bool
    steps: dict[str, str]
    checks: dict[str, CheckResult | None]
    uptime_s: float
    version: str
    pid: int
    heartbeat_age_s: float


class _Servicer(health_pb2_grpc.HealthServicer):
    """The gRPC health service, on the generated (public) base class. It keeps its own state
    the way the stock asyncio servicer does (grpc_health.v1.health.aio: a status per name,
    one Condition per watched name), rather than reaching into the stock servicer's private
    `_server_status`/`_server_watchers`, and adds:
    - Check refreshes stale readiness on demand and says which names exist on NOT_FOUND;
    - Watch streams end once the server stops (`close_watches`), so an open Watch cannot
      hold `server.stop(grace)` for the whole grace period."""

    def __init__(self, manager: HealthManager) -> None:
        self._manager = manager
        self._closing = False
        self.statuses: dict[str, int] = {"": SERVING}
        self._watchers: collections.defaultdict[str, asyncio.Condition] = (
            collections.defaultdict(asyncio.Condition)
        )
        self._watcher_count_by_service: collections.defaultdict[str, int] = (
            collections.defaultdict(int)
        )

    async def set_status(self, service: str, status: int) -> None:
        """Set a name's status and wake its watchers."""
        condition = self._watchers.get(service)
        if condition is None:
            self.statuses[service] = status
            return
        async with condition:
            self.statuses[service] = status
            condition.notify_all()

    async def Check(self, request: health_pb2.HealthCheckRequest, context: Any) -> Any:
        if self._manager.is_readiness_name(request.service):
            await self._manager.refresh_if_stale()
        status = self.statuses.get(request.service)
        if status is None:
            known = ", ".join(repr(n) for n in self._manager.all_names())
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"unknown health service {request.service!r}; known: {known}",
            )
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: Any) -> None:
        service = request.service
        condition = self._watchers[service]
        self._watcher_count_by_service[service] += 1
        last = None
        try:
            async with condition:
                while True:
                    # an unknown name is SERVICE_UNKNOWN, not an error: it may appear later
                    status = self.statuses.get(service, SERVICE_UNKNOWN)
                    if status != last:
                        await context.write(health_pb2.HealthCheckResponse(status=status))
                        last = status
                    if self._closing:
                        return
                    await condition.wait()
        finally:
            self._watcher_count_by_service[service] -= 1
            if self._watcher_count_by_service[service] == 0:
                del self._watchers[service]
                del self._watcher_count_by_service[service]

    async def close_watches(self) -> None:
        self._closing = True
        for condition in list(self._watchers.values()):
            async with condition:
                condition.notify_all()


class HealthManager:
    def __init__(
        self,
        service_names: Iterable[str] = (),
        *,
        version: str = "0.0.0",
        check_interval: float = 5.0,
        check_timeout: float = 2.0,
        liveness_stall: float = 30.0,
        on_check_change: Callable[[str, bool, str | None], None] | None = None,
    ) -> None:
        self.version = version
        self.check_interval = check_interval
        self.check_timeout = check_timeout
        self.liveness_stall = liveness_stall
        # called with (name, ok, error) when a check's outcome changes (not on every round,
        # so a dependency that stays down logs once, not every interval)
        self._on_check_change = on_check_change
        self._lock = threading.Lock()  # the HTTP ops thread reads while the loop writes
        self._service_names: list[str] = []
        self._steps: dict[str, str] = {}
        self._checks: dict[str, ReadinessCheck] = {}
        self._results: dict[str, CheckResult] = {}
        self._last_round: float | None = None
        self._round: asyncio.Task[None] | None = None
        self._started = False
        self._startup_failed = False
        self._shutting_down = False
        self._created = time.time()
        self._heartbeat = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.servicer = _Servicer(self)
        # Before anything runs nothing is ready; liveness is SERVING from the start.
        self.servicer.statuses.update(
            {LIVENESS: SERVING, STARTUP: NOT_SERVING, READINESS: NOT_SERVING, OVERALL: NOT_SERVING}
        )
        for name in service_names:
            self.add_service(name)

    # --- registration -------------------------------------------------------------

    def add_service(self, name: str) -> None:
        if name in (LIVENESS, READINESS, STARTUP, OVERALL):
            raise ValueError(f"{name!r} is a reserved health name")
        if name not in self._service_names:
            self._service_names.append(name)
            self.servicer.statuses[name] = self.servicer.statuses[READINESS]

    def add_step(self, name: str) -> None:
        """Declare a start-up step (shown as "pending" until it runs)."""
        with self._lock:
            self._steps.setdefault(name, PENDING)

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        with self._lock:
            self._checks[name] = check

    def is_readiness_name(self, name: str) -> bool:
        return name in (READINESS, OVERALL) or name in self._service_names

    @property
    def service_names(self) -> list[str]:
        return list(self._service_names)

    def all_names(self) -> list[str]:
        return [LIVENESS, READINESS, STARTUP, OVERALL, *self._service_names]

    # --- start-up -----------------------------------------------------------------

    def set_step(self, name: str, status: str) -> None:
        with self._lock:
            self._steps[name] = status

    async def run_step(self, name: str, step: Callable[[], Awaitable[str | None]]) -> str:
        """Run one start-up step, recording "running", then its status word or "completed",
        or "failed: <reason>" (and re-raise)."""
        self.set_step(name, RUNNING)
        try:
            word = await step()
        except BaseException as exc:
            reason = str(exc) or type(exc).__name__
            self.set_step(name, f"failed: {reason}")
            with self._lock:
                self._startup_failed = True
            raise
        status = word if isinstance(word, str) and word else COMPLETED
        self.set_step(name, status)
        return status

    async def mark_started(self) -> None:
        """All steps done: startup SERVING; readiness follows the first round of checks."""
        with self._lock:
            self._started = True
        await self.refresh()

    # --- readiness ------------------------------------------------------------------

    async def _run_one(self, name: str, check: ReadinessCheck) -> CheckResult:
        start = time.perf_counter()
        error: str | None = None
        try:
            await asyncio.wait_for(check(), timeout=self.check_timeout)
        except TimeoutError:
            error = f"timed out after {self.check_timeout:g}s"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = str(exc) or type(exc).__name__
        elapsed = time.perf_counter() - start
        previous = self._results.get(name)
        ok = error is None
        changed = (not ok) if previous is None else previous.ok != ok
        if changed and self._on_check_change is not None:
            self._on_check_change(name, ok, error)
        return CheckResult(ok, elapsed, time.monotonic(), error)

    async def _round_of_checks(self) -> None:
        with self._lock:
            checks = dict(self._checks)
        results = await asyncio.gather(*(self._run_one(n, c) for n, c in checks.items()))
        with self._lock:
            self._results = dict(zip(checks, results, strict=True))
            self._last_round = time.monotonic()
        await self._publish()

    async def refresh(self) -> None:
        """Run every readiness check now (joining a round already in flight)."""
        if self._round is None or self._round.done():
            self._round = asyncio.get_running_loop().create_task(self._round_of_checks())
        # shield: a probe that gives up must not cancel the round other probes wait for
        await asyncio.shield(self._round)

    async def refresh_if_stale(self, max_age: float | None = None) -> None:
        limit = self.check_interval if max_age is None else max_age
        with self._lock:
            last = self._last_round
            started = self._started
        if not started:
            return  # before start-up finishes readiness is NOT_SERVING regardless
        if last is None or time.monotonic() - last > limit:
            await self.refresh()

    async def run_forever(self) -> None:
        """Background: re-run the checks every interval."""
        while True:
            await asyncio.sleep(self.check_interval)  # mark_started ran the first round
            await self.refresh()

    async def heartbeat_forever(self, interval: float = 1.0) -> None:
        """The liveness watchdog's input: the loop proves it runs by updating a timestamp."""
        self._loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                self._heartbeat = time.monotonic()
            await asyncio.sleep(interval)

    # --- shutdown ---------------------------------------------------------------------

    async def begin_shutdown(self) -> None:
        """Readiness, "" and services go NOT_SERVING (for good); liveness stays SERVING."""
        with self._lock:
            self._shutting_down = True
        # A round in flight may finish later; it publishes from the snapshot, which now
        # says "shutting down", so it cannot flip readiness back.
        await self._publish()

    async def close_watches(self) -> None:
        """End every health Watch stream (the server is about to stop)."""
        await self.servicer.close_watches()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    # --- state --------------------------------------------------------------------------

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            heartbeat_age = time.monotonic() - self._heartbeat
            checks_ok = all(r.ok for r in self._results.values()) and set(self._results) >= set(
                self._checks
            )
            started = self._started and not self._startup_failed
            ready = started and checks_ok and not self._shutting_down
            return HealthSnapshot(
                live=heartbeat_age < self.liveness_stall,
                started=started,
                ready=ready,
                shutting_down=self._shutting_down,
                steps=dict(self._steps),
                checks={name: self._results.get(name) for name in self._checks},
                uptime_s=time.time() - self._created,
                version=self.version,
                pid=os.getpid(),
                heartbeat_age_s=heartbeat_age,
            )

    def status_of(self, name: str) -> int | None:
        """The status the gRPC service reports for `name` (None: unknown name)."""
        return self.servicer.statuses.get(name)

    async def _publish(self) -> None:
        snap = self.snapshot()
        ready = SERVING if snap.ready else NOT_SERVING
        await self.servicer.set_status(STARTUP, SERVING if snap.started else NOT_SERVING)
        for name in (READINESS, OVERALL, *self._service_names):
            await self.servicer.set_status(name, ready)

    # --- JSON bodies of the source document ("Health Checks") -------------------------------

    def live_body(self) -> tuple[int, dict[str, Any]]:
        snap = self.snapshot()
        body = {
            "status": "ok" if snap.live else "error",
            "timestamp": utc_timestamp(),
            "uptime": round(snap.uptime_s),
            "version": snap.version,
            "pid": snap.pid,
        }
        if not snap.live:
            body["error"] = f"event loop stalled for {snap.heartbeat_age_s:.0f}s"
        return (200 if snap.live else 503), body

    def ready_body(self) -> tuple[int, dict[str, Any]]:
        snap = self.snapshot()
        checks: dict[str, Any] = {}
        for name, result in snap.checks.items():
            checks[name] = (
                result.as_json()
                if result is not None
                else {"status": "pending", "responseTime": "0ms"}
            )
        body: dict[str, Any] = {
            "status": "ok" if snap.ready else "error",
            "timestamp": utc_timestamp(),
            "checks": checks,
        }
        if snap.shutting_down:
            body["reason"] = "shutting down"
        elif not snap.started:
            body["reason"] = "starting"
        return (200 if snap.ready else 503), body

    def startup_body(self) -> tuple[int, dict[str, Any]]:
        snap = self.snapshot()
        body = {
            "status": "ok" if snap.started else "error",
            "timestamp": utc_timestamp(),
            "initialization": snap.steps,
        }
        return (200 if snap.started else 503), body

    def refresh_from_thread(self, timeout: float) -> None:
        """For the HTTP ops thread: refresh stale readiness on the loop, bounded in time.
        A stuck loop simply means the cached (or pending) state is answered."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(self.refresh_if_stale(), loop)
        try:
            future.result(timeout=timeout)
        except Exception:  # timeout or a failed round: answer from the state we have
            future.cancel()


def health_status_name(status: int) -> str:
    return health_pb2.HealthCheckResponse.ServingStatus.Name(status)


def add_to_server(manager: HealthManager, server: grpc.aio.Server) -> None:
    from grpc_health.v1 import health_pb2_grpc

    health_pb2_grpc.add_HealthServicer_to_server(manager.servicer, server)


__all__ = [
    "LIVENESS",
    "NOT_SERVING",
    "OVERALL",
    "READINESS",
    "SERVING",
    "STARTUP",
    "CheckResult",
    "HealthManager",
    "HealthSnapshot",
    "add_to_server",
    "health_status_name",
    "utc_timestamp",
]
