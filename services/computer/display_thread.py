"""One dedicated thread for all X11 work, awaited from the asyncio server.

Xlib display connections are not thread-safe, so every call touching the display runs here,
one at a time, and the event loop stays free for other RPCs, health checks and metrics.
Each job gets a `stop` event: when the awaiting RPC is cancelled (client deadline, cancel,
shutdown) the event is set, and the action's pauses wake up and raise `Interrupted`, so a
10-click or 5,000-character action stops promptly and releases whatever it held.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class DisplayThread:
    def __init__(self, name: str = "x11") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, fn: Callable[..., T], *args: Any, interruptible: bool = False) -> T:
        """Run `fn(*args)` (or `fn(stop, *args)` when interruptible) on the display thread."""
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        call_args = (stop, *args) if interruptible else args
        future = loop.run_in_executor(self._executor, fn, *call_args)
        try:
            return await future
        except asyncio.CancelledError:
            stop.set()  # the job notices at its next pause and unwinds (releasing keys)
            raise

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
