"""One dedicated thread for all X11 work, awaited from the asyncio server.

Xlib display connections are not thread-safe, so every call touching the display runs here,
one at a time, and the event loop stays free for other RPCs, health checks and metrics.
Each job gets a `stop` event: when the awaiting RPC is cancelled (client deadline, cancel,
shutdown) the event is set, and the action's pauses wake up and raise `Interrupted`, so a
10-click or 5,000-character action stops promptly and releases whatever it held; a job whose
caller gave up before it started does not run at all.

A plain thread reading a `SimpleQueue` and answering with `call_soon_threadsafe`, not
`run_in_executor`: measured in-process on the loaded 2-core machine, the executor hop had a
p95 of ~5 ms (its worker keeps the GIL for bookkeeping right when the woken event loop wants
it) against ~0.1-0.7 ms for this one, and input actions are meant to take < 5 ms in all.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class DisplayThreadClosed(RuntimeError):
    """The display thread was shut down before the job could run."""


@dataclass(slots=True)
class _Job:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    stop: threading.Event


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """On the event loop: hand the job's outcome to its awaiting RPC, if it still waits."""
    if future.done():  # the RPC was cancelled meanwhile
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class DisplayThread:
    def __init__(self, name: str = "x11") -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[..., T], *args: Any, interruptible: bool = False) -> T:
        """Run `fn(*args)` (or `fn(stop, *args)` when interruptible) on the display thread."""
        if self._closed:
            raise DisplayThreadClosed("the display thread is shut down")
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        future: asyncio.Future[T] = loop.create_future()
        call_args = (stop, *args) if interruptible else args
        self._jobs.put(_Job(loop, future, fn, call_args, stop))
        try:
            return await future
        except asyncio.CancelledError:
            stop.set()  # the job notices at its next pause and unwinds (releasing keys)
            raise

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            result: Any = None
            error: BaseException | None = None
            if self._closed:
                error = DisplayThreadClosed("the display thread was shut down")
            elif job.stop.is_set():
                error = asyncio.CancelledError()  # its caller is gone: do not act
            else:
                try:
                    result = job.fn(*job.args)
                except BaseException as exc:  # handed to the awaiting coroutine
                    error = exc
            with suppress(RuntimeError):  # the event loop is already closed
                job.loop.call_soon_threadsafe(_settle, job.future, result, error)
            del job, result, error  # do not keep the last frame/result alive while idle

    def shutdown(self) -> None:
        """Stop taking jobs, fail the queued ones, and wait for the running one to finish."""
        self._closed = True
        self._jobs.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join()
