"""The wake-up machinery on a real database (SQLite and PostgreSQL): an idle worker's
QueueWatch (probe with backoff, due times, in-process wake-ups) and the SQLite event poller
that wakes WatchTask streams for another process's writes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from services.tasks import migrate
from services.tasks.db import Database
from services.tasks.notifications import (
    LOCAL_BUS,
    EventHub,
    SqliteEventPoller,
    notify_payload,
    parse_payload,
)
from services.tasks.queue import TaskQueue
from services.tasks.queue_watch import QueueWatch
from services.tasks.records import EventType, TaskType, utcnow
from services.tasks.store import TaskStore
from services.tasks.testing.databases import sqlite_url


def test_payload_round_trip_and_old_format() -> None:
    assert parse_payload(notify_payload("t-1", 7, EventType.CREATED)) == ("t-1", 7, "CREATED")
    assert parse_payload("t-1:3") == ("t-1", 3, "")  # a replica of the previous version


def test_local_bus_reaches_subscribers_of_that_database_only(store: TaskStore) -> None:
    heard: list[tuple[str, int, str]] = []
    unsubscribe = LOCAL_BUS.subscribe(store.bus_key, lambda *e: heard.append(e))
    other = LOCAL_BUS.subscribe("sqlite:///elsewhere.db", lambda *e: heard.append(("x", 0, "")))
    try:
        task = store.create_task(description="bus")
    finally:
        unsubscribe()
        other()
    store.create_task(description="after unsubscribing")
    assert heard == [(task.id, 1, EventType.CREATED)]
    assert "password" not in store.bus_key


async def _wait_returns_within(watch: QueueWatch, seconds: float) -> float:
    stopping = asyncio.Event()
    started = time.monotonic()
    await asyncio.wait_for(watch.wait(stopping), seconds)
    return time.monotonic() - started


def test_idle_probe_backs_off_and_sees_another_process_task(store: TaskStore) -> None:
    """No wake-up source (as for SQLite across processes): the probe alone finds the task;
    while the queue is empty it backs off instead of polling at the shortest interval."""
    watch = QueueWatch(store, min_interval=0.02, max_interval=0.2)  # never started: no bus

    async def run() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(watch.wait(asyncio.Event()), 0.8)
        # 0.02 s intervals would be ~40 probes; backing off to 0.2 s makes it about 9.
        assert 3 <= watch.probes < 15, watch.probes
        waiter = asyncio.create_task(_wait_returns_within(watch, 3.0))
        await asyncio.sleep(0.1)
        created = time.monotonic()
        await asyncio.to_thread(store.create_task, description="from elsewhere")
        await waiter
        assert time.monotonic() - created < 0.6  # within one backed-off interval
        assert watch.wakeups == 0  # found by probing

    asyncio.run(run())


def test_in_process_creation_wakes_the_worker_at_once(store: TaskStore) -> None:
    watch = QueueWatch(store, min_interval=30, max_interval=30)

    async def run() -> None:
        watch.start()
        try:
            waiter = asyncio.create_task(_wait_returns_within(watch, 5.0))
            await asyncio.sleep(0.1)
            await asyncio.to_thread(store.create_task, description="same process")
            assert await waiter < 2.0
            assert watch.wakeups == 1 and watch.probes == 1  # the probe after the claim
        finally:
            watch.close()

    asyncio.run(run())


def test_wait_ends_when_a_scheduled_task_becomes_due(store: TaskStore) -> None:
    """With a push source (LISTEN) the safety-net probe is rare (30 s here), but the due
    time learnt by the probe after a failed claim ends the wait on time."""
    watch = QueueWatch(store, min_interval=0.05, max_interval=30, pushed=lambda: True)
    queue = TaskQueue(store)
    due = utcnow() + timedelta(seconds=0.8)
    store.create_task(description="later", type=TaskType.SCHEDULED, scheduled_for=due)

    async def as_worker() -> float:
        assert await asyncio.to_thread(queue.claim, "w-due") is None  # not due yet
        started = time.monotonic()
        await asyncio.wait_for(watch.wait(asyncio.Event()), 5.0)
        claim = await asyncio.to_thread(queue.claim, "w-due")
        assert claim is not None, "the wait ended before the task was due"
        return time.monotonic() - started

    assert asyncio.run(as_worker()) < 2.0
    assert utcnow() >= due


def test_stopping_ends_the_wait(store: TaskStore) -> None:
    watch = QueueWatch(store, min_interval=30, max_interval=30)

    async def run() -> None:
        stopping = asyncio.Event()
        waiter = asyncio.create_task(watch.wait(stopping))
        await asyncio.sleep(0.05)
        stopping.set()
        await asyncio.wait_for(waiter, 1.0)

    asyncio.run(run())


def test_sqlite_poller_wakes_watchers_of_changed_tasks_only(tmp_path: Path) -> None:
    """(SQLite's mechanism; PostgreSQL's LISTEN is tested in tests/integration/tasks.)"""
    db = Database(sqlite_url(tmp_path))
    migrate.upgrade(db)
    store = TaskStore(db)
    watched = store.create_task(description="watched")
    other = store.create_task(description="other")
    hub = EventHub()  # not on the bus: only the poller can wake it
    poller = SqliteEventPoller(db, hub, min_interval=0.02, max_interval=0.1)

    async def run() -> None:
        runner = asyncio.create_task(poller.run())
        try:
            await asyncio.sleep(0.3)
            assert poller.looks == 0  # nobody watches: no queries at all
            async with hub.subscribe(watched.id) as sub:
                assert await sub.wait(1.0)  # the start-up wake-up (re-read once)
                await asyncio.sleep(0.1)
                await asyncio.to_thread(store.cancel_task, other.id)
                assert not await sub.wait(0.3)  # another task changed: not woken
                started = time.monotonic()
                await asyncio.to_thread(store.cancel_task, watched.id)
                assert await sub.wait(2.0)
                assert time.monotonic() - started < 0.5
            looks = poller.looks
            await asyncio.sleep(0.3)
            assert poller.looks <= looks + 1  # idle again once nobody watches
        finally:
            runner.cancel()

    try:
        asyncio.run(run())
    finally:
        db.close()
