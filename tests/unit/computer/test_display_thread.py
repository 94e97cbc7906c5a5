"""DisplayThread: results, errors, cancellation and shutdown of the one X11 worker thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from services.computer.display_thread import DisplayThread, DisplayThreadClosed


def test_runs_on_its_own_thread_in_order_and_returns_results() -> None:
    worker = DisplayThread("t-order")
    seen: list[tuple[int, str]] = []

    def job(i: int) -> int:
        seen.append((i, threading.current_thread().name))
        return i * i

    async def main() -> list[int]:
        return list(await asyncio.gather(*(worker.run(job, i) for i in range(20))))

    try:
        assert asyncio.run(main()) == [i * i for i in range(20)]
    finally:
        worker.shutdown()
    assert [i for i, _ in seen] == list(range(20))  # one thread: submission order
    assert {name for _, name in seen} == {"t-order"}


def test_exceptions_reach_the_caller() -> None:
    worker = DisplayThread()

    def fail() -> None:
        raise KeyError("boom")

    try:
        with pytest.raises(KeyError, match="boom"):
            asyncio.run(worker.run(fail))
    finally:
        worker.shutdown()


def test_cancelling_the_caller_sets_stop_and_skips_queued_jobs() -> None:
    worker = DisplayThread()
    started = threading.Event()
    stopped = threading.Event()
    queued_ran = threading.Event()

    def long_job(stop: threading.Event) -> None:
        started.set()
        if stop.wait(10):  # an interruptible pause
            stopped.set()

    async def main() -> None:
        running = asyncio.ensure_future(worker.run(long_job, interruptible=True))
        queued = asyncio.ensure_future(worker.run(queued_ran.set))
        await asyncio.to_thread(started.wait, 10)
        queued.cancel()
        running.cancel()
        for task in (running, queued):
            with pytest.raises(asyncio.CancelledError):
                await task
        await worker.run(lambda: None)  # the thread goes on serving after a cancellation

    try:
        asyncio.run(main())
    finally:
        worker.shutdown()
    assert stopped.is_set()  # the running job was told to stop
    assert not queued_ran.is_set()  # the job whose caller left never ran


def test_shutdown_refuses_new_jobs() -> None:
    worker = DisplayThread()
    worker.shutdown()
    with pytest.raises(DisplayThreadClosed):
        asyncio.run(worker.run(lambda: None))
