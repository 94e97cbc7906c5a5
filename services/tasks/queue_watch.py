"""When an idle worker should try to claim again.

A claim is a write transaction (on SQLite it takes the database's one write lock), so an
idle worker must not claim in a tight loop; but a new task should start at once. So:

- **wake-ups** end the wait at once: a task created or requeued in this process
  (`LOCAL_BUS`) or, on PostgreSQL, in any process (LISTEN, see `PostgresListener`);
- otherwise the worker **probes** with a cheap read, `min(available_at)` of PENDING tasks
  (the claim-order index): claimable now → claim; due later (a SCHEDULED task, a retry
  backoff) → sleep no longer than until then; nothing → keep waiting. One probe follows
  every claim that found nothing, so a known due time is never missed;
- where nothing can wake us (SQLite across processes, or PostgreSQL while LISTEN is
  reconnecting) the probe runs every `min_interval` seconds, backing off by 1.5 times to
  `max_interval` while the queue stays empty, and back to `min_interval` on any activity;
  with a working LISTEN it only runs every `max_interval` (a safety net).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime

from libs.observability.logging import get_logger
from libs.runtime.supervised_loop import LoopHealth
from services.tasks.notifications import LOCAL_BUS, QUEUE_EVENT_TYPES, parse_payload
from services.tasks.records import utcnow
from services.tasks.store import TaskStore

log = get_logger(__name__)

BACKOFF_FACTOR = 1.5


class QueueWatch:
    def __init__(
        self,
        store: TaskStore,
        *,
        min_interval: float = 0.1,
        max_interval: float = 1.0,
        pushed: Callable[[], bool] = lambda: False,
        probe_health: LoopHealth | None = None,
    ) -> None:
        self.store = store
        # The probe's failures: logged safely, counted in
        # bytebot_background_loop_failures_total{loop="queue_probe"}, backed off. Not a
        # readiness input: a worker that is not ready does not claim, hence does not probe,
        # and could never see its own recovery.
        self.probe_health = probe_health or LoopHealth(
            "queue_probe", interval=min_interval, backoff_initial=max_interval
        )
        self._failure_backoff = 0.0
        self.min_interval = min_interval
        self.max_interval = max(min_interval, max_interval)
        # True while a cross-process notification source works (PostgreSQL LISTEN).
        self.pushed = pushed
        self._delay = min_interval
        self._due: float | None = None  # monotonic time the next known task becomes due
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.probes = 0
        self.wakeups = 0

    # ---- sources of wake-ups ---------------------------------------------------------------

    def start(self) -> None:
        """Bind to the running loop and hear this process's queue events."""
        self._loop = asyncio.get_running_loop()
        if self._unsubscribe is None:
            self._unsubscribe = LOCAL_BUS.subscribe(self.store.bus_key, self._on_local_event)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_local_event(self, _task_id: str, _sequence: int, event_type: str) -> None:
        if event_type in QUEUE_EVENT_TYPES:
            self.wake_threadsafe()

    def on_payload(self, payload: str) -> None:
        """A PostgreSQL notification (on the event loop)."""
        if parse_payload(payload)[2] in QUEUE_EVENT_TYPES:
            self.wake()

    def wake(self) -> None:
        self._wake.set()

    def wake_threadsafe(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop closing: nobody is waiting anymore
            loop.call_soon_threadsafe(self._wake.set)

    def activity(self) -> None:
        """A task was claimed: the queue is busy, look again soon when it runs dry."""
        self._delay = self.min_interval
        self._due = None

    # ---- waiting ---------------------------------------------------------------------------

    async def wait(self, stopping: asyncio.Event) -> None:
        """Until it is worth trying a claim again (or `stopping` is set). Called after a
        claim found nothing."""
        # What the failed claim cannot tell: when the next task is due. (Claimable rows
        # that the claim skipped are locked by other claimers: look again shortly.)
        retry_soon = await self._probe()
        while not stopping.is_set():
            timeout = self.min_interval if retry_soon else self._timeout()
            if await self._sleep(stopping, timeout):
                self.wakeups += 1
                self.activity()
                return
            if stopping.is_set():
                return
            if retry_soon or await self._probe():
                self.activity()
                return
            self._delay = min(self.max_interval, self._delay * BACKOFF_FACTOR)

    def _timeout(self) -> float:
        timeout = self.max_interval if self.pushed() else self._delay
        # after a failed probe: no sooner than its backoff (a wake-up still ends the wait)
        timeout = max(timeout, self._failure_backoff)
        if self._due is not None:
            timeout = min(timeout, max(0.0, self._due - time.monotonic()))
        return timeout

    async def _sleep(self, stopping: asyncio.Event, timeout: float) -> bool:
        """True when woken by a queue event; False on timeout or stop."""
        if self._wake.is_set():
            self._wake.clear()
            return True
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self._wake.is_set():
            self._wake.clear()
            return True
        return False

    async def _probe(self) -> bool:
        """True if a task is claimable now; remembers when the next one is due."""
        self.probes += 1
        try:
            available_at: datetime | None = await self.store.db.run(
                self.store.next_available_at
            )
        except Exception as exc:
            # The database is down (or a bug): keep backing off; the database readiness
            # check reports an outage.
            self._failure_backoff = self.probe_health.failed(exc)
            return False
        self._failure_backoff = 0.0
        self.probe_health.succeeded()
        if available_at is None:
            self._due = None
            return False
        ahead = (available_at - utcnow()).total_seconds()
        if ahead <= 0:
            return True
        self._due = time.monotonic() + ahead
        return False
