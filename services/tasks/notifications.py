"""Wake-ups: WatchTask streams when a task has new events, idle workers when a task enters
the queue.

A notification only says "task X has event N (of type T)": watchers always read the events
themselves from `task_events`, in sequence order, and workers always claim through the
queue, so a duplicated, late or lost notification can delay an event or a claim but never
drop, reorder or double-run anything.

Sources of notifications:
- this process's own writes: the store publishes every committed event on `LOCAL_BUS`,
  keyed by database, so an API and a worker sharing one process wake each other at once;
- PostgreSQL: `PostgresListener` LISTENs on the channel the store NOTIFYs in every event's
  transaction, so every API replica and every worker hears about every process's changes;
- SQLite (no cross-process signal): `SqliteEventPoller` reads the rows appended to
  `task_events` since its last look — one tiny rowid-range query per process, however many
  streams are open, and only while someone watches — every `min_interval` seconds, backing
  off to `max_interval` while nothing changes. Workers probe the queue the same way
  (`services/tasks/queue_watch.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import URL

from libs.observability.logging import get_logger
from libs.runtime.supervised_loop import BackgroundLoops, SupervisedLoop
from services.tasks.db import Database
from services.tasks.records import EventType

log = get_logger(__name__)

# Events after which a task is (or will be) claimable: the ones that wake workers.
QUEUE_EVENT_TYPES = frozenset({EventType.CREATED, EventType.RETRYING})

BusListener = Callable[[str, int, str], None]


def database_key(url: URL) -> str:
    """Identifies one database within this process (never includes the password)."""
    return url.render_as_string(hide_password=True)


def notify_payload(task_id: str, sequence: int, event_type: str) -> str:
    return f"{task_id}:{sequence}:{event_type}"


def parse_payload(payload: str) -> tuple[str, int, str]:
    """(task_id, sequence, event_type); an older replica's `task_id:seq` has no type ('')."""
    task_id, _, rest = payload.partition(":")
    seq, _, event_type = rest.partition(":")
    try:
        sequence = int(seq)
    except ValueError:
        sequence = 0
    return task_id, sequence, event_type


class LocalBus:
    """Process-wide publish/subscribe of committed task events, per database.

    Publishers are the stores (on database threads, after commit); subscribers must be
    thread-safe (they hop to their event loop with `call_soon_threadsafe`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, list[BusListener]] = {}

    def subscribe(self, key: str, listener: BusListener) -> Callable[[], None]:
        with self._lock:
            self._subs.setdefault(key, []).append(listener)

        def unsubscribe() -> None:
            with self._lock:
                listeners = self._subs.get(key, [])
                if listener in listeners:
                    listeners.remove(listener)
                if not listeners:
                    self._subs.pop(key, None)

        return unsubscribe

    def publish(self, key: str, task_id: str, sequence: int, event_type: str) -> None:
        with self._lock:
            listeners = list(self._subs.get(key, ()))
        for listener in listeners:
            listener(task_id, sequence, event_type)


LOCAL_BUS = LocalBus()


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
        self._watched = asyncio.Event()  # set while any task is watched (wakes the poller)

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @contextlib.asynccontextmanager
    async def subscribe(self, task_id: str) -> AsyncIterator[Subscription]:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        sub = Subscription()
        self._subs.setdefault(task_id, set()).add(sub)
        self._watched.set()
        try:
            yield sub
        finally:
            subs = self._subs.get(task_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[task_id]
            if not self._subs:
                self._watched.clear()

    async def until_watched(self) -> None:
        await self._watched.wait()

    def notify(self, task_id: str) -> None:
        for sub in self._subs.get(task_id, ()):
            sub._set()

    def notify_all(self) -> None:
        for subs in self._subs.values():
            for sub in subs:
                sub._set()

    def notify_threadsafe(self, task_id: str, _sequence: int = 0, _event_type: str = "") -> None:
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
    """LISTEN on the task-events channel and hand every payload to `on_payload` (on the event
    loop); `on_connect` runs after each (re)connection, since anything committed while we
    were not listening was missed. Reconnects on failure."""

    def __init__(
        self,
        url: URL,
        channel: str,
        on_payload: Callable[[str], None],
        on_connect: Callable[[], None],
        *,
        reconnect_delay_seconds: float = 1.0,
        name: str = "postgres_listener",
    ) -> None:
        self.name = name
        self._loop: SupervisedLoop | None = None
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel
        self.on_payload = on_payload
        self.on_connect = on_connect
        self.reconnect_delay_seconds = reconnect_delay_seconds
        self.connected = asyncio.Event()

    @classmethod
    def for_hub(
        cls, url: URL, channel: str, hub: EventHub, *, name: str = "task_event_listener"
    ) -> PostgresListener:
        """Wakes the watchers of each notified task; all of them after a reconnection."""
        return cls(
            url, channel, lambda p: hub.notify(parse_payload(p)[0]), hub.notify_all, name=name
        )

    def supervised(self, loops: BackgroundLoops | None = None, **policy: Any) -> SupervisedLoop:
        """The listener as a supervised loop `name` (libs.runtime.supervised_loop): every
        disconnection is a counted failure, reconnection backs off from
        `reconnect_delay_seconds`, and a listener down beyond its tolerance is NOT_SERVING."""
        policy.setdefault("backoff_initial", self.reconnect_delay_seconds)
        self._loop = (loops or BackgroundLoops(None)).add(self.name, self.listen_once, **policy)
        return self._loop

    async def run(self) -> None:
        await (self._loop or self.supervised()).run()

    async def listen_once(self) -> None:
        """One connection, until it fails (an iteration of the supervised loop)."""
        try:
            await self._listen()
        finally:
            self.connected.clear()
        # notifies() ended without an error: the server closed the connection on us.
        raise ConnectionError("the LISTEN connection was closed")

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        async with conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.connected.set()
            if self._loop is not None:
                self._loop.succeeded()  # connected: a later disconnection is a new streak
            self.on_connect()
            async for note in conn.notifies():
                self.on_payload(note.payload)


class SqliteEventPoller:
    """Cross-process wake-ups for WatchTask on SQLite: one query per look for the whole
    process — the (rowid, task_id) of events appended since the last look — waking the
    watchers of exactly those tasks. Runs only while some task is watched."""

    def __init__(
        self,
        db: Database,
        hub: EventHub,
        *,
        min_interval: float = 0.1,
        max_interval: float = 1.0,
        batch: int = 1000,
    ) -> None:
        self.db = db
        self.hub = hub
        self.min_interval = min_interval
        self.max_interval = max(min_interval, max_interval)
        self.batch = batch
        self.looks = 0  # queries made (tests check the poller really idles)
        self._last: int | None = None  # rowid of the newest event seen; None: not watching
        self._delay = min_interval
        self._loop: SupervisedLoop | None = None

    def _newest(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(text("SELECT max(rowid) FROM task_events")).scalar() or 0)

    def _since(self, last: int) -> list[tuple[int, str]]:
        with self.db.read() as conn:
            rows = conn.execute(
                text(
                    "SELECT rowid, task_id FROM task_events WHERE rowid > :last "
                    "ORDER BY rowid LIMIT :batch"
                ),
                {"last": last, "batch": self.batch},
            ).all()
        return [(int(r[0]), str(r[1])) for r in rows]

    def supervised(self, loops: BackgroundLoops | None = None, **policy: Any) -> SupervisedLoop:
        """The poller as the supervised loop `task_event_poller`: a failed look (database
        locked or gone, or any bug) is counted and retried with backoff from `max_interval`,
        and the watchers keep being woken once it works again."""
        policy.setdefault(
            "backoff_initial", min(self.max_interval, policy.get("backoff_max", self.max_interval))
        )
        self._loop = (loops or BackgroundLoops(None)).add(
            "task_event_poller", self.look, interval=self.min_interval, **policy
        )
        return self._loop

    async def run(self) -> None:
        await (self._loop or self.supervised()).run()

    async def look(self) -> float:
        """One iteration: returns the delay before the next look."""
        if not self.hub.watched_tasks:
            self._last = None
            await self.hub.until_watched()
            return 0.0
        if self._last is None:
            # Events committed before this point are in what the watchers read after this
            # wake-up; later ones have larger rowids (one writer).
            self._last = await self.db.run(self._newest)
            self.looks += 1
            self.hub.notify_all()
            self._delay = self.min_interval
            return self._delay
        rows = await self.db.run(self._since, self._last)
        self.looks += 1
        if rows:
            self._last = rows[-1][0]
            for task_id in {task_id for _, task_id in rows}:
                self.hub.notify(task_id)
            self._delay = self.min_interval
        else:
            self._delay = min(self.max_interval, self._delay * 1.5)
        return self._delay
