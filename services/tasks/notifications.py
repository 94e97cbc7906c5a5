"""Wake-ups for WatchTask streams when a task has new events.

A notification only says "task X has events up to sequence N": watchers always read the
events themselves from `task_events`, in sequence order, so a duplicated, late or lost
notification can delay an event but never drop or reorder one.

Sources of notifications:
- this process's own writes (the store calls `notify_threadsafe` after each commit);
- PostgreSQL: `PostgresListener` LISTENs on the channel the store NOTIFYs in every event's
  transaction, so every API replica hears about every worker's and every replica's changes;
- SQLite (no cross-process signal): watchers also re-read every `poll_interval` seconds, so a
  worker process on the same file is seen within that time. On PostgreSQL the same poll
  runs slower, as a safety net for a dropped LISTEN connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from libs.observability.logging import get_logger

log = get_logger(__name__)


class Subscription:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def _set(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """Until notified (True) or `timeout` seconds passed (False)."""
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True


class EventHub:
    """Per-task subscriptions of one process (owned by the event loop thread)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subs: dict[str, set[Subscription]] = {}

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @contextlib.asynccontextmanager
    async def subscribe(self, task_id: str) -> AsyncIterator[Subscription]:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        sub = Subscription()
        self._subs.setdefault(task_id, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._subs.get(task_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[task_id]

    def notify(self, task_id: str) -> None:
        for sub in self._subs.get(task_id, ()):
            sub._set()

    def notify_all(self) -> None:
        for subs in self._subs.values():
            for sub in subs:
                sub._set()

    def notify_threadsafe(self, task_id: str, _sequence: int = 0) -> None:
        """From any thread (the store's listeners run on database threads)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop closing: nobody is watching anymore
            loop.call_soon_threadsafe(self.notify, task_id)

    @property
    def watched_tasks(self) -> int:
        return len(self._subs)


class PostgresListener:
    """LISTEN on the task-events channel and wake local watchers; reconnects on failure."""

    def __init__(
        self,
        url: URL,
        channel: str,
        hub: EventHub,
        *,
        reconnect_delay_seconds: float = 1.0,
    ) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel
        self.hub = hub
        self.reconnect_delay_seconds = reconnect_delay_seconds
        self.connected = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "task event listener disconnected; reconnecting",
                    error=f"{type(exc).__name__}: {exc}",
                )
            self.connected.clear()
            await asyncio.sleep(self.reconnect_delay_seconds)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        async with conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.connected.set()
            # Anything committed while we were not listening: let every watcher re-read.
            self.hub.notify_all()
            async for note in conn.notifies():
                task_id, _, _seq = note.payload.partition(":")
                self.hub.notify(task_id)
