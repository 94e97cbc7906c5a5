"""A real service (`start_service`) on an event loop in a background thread, for tests that
call it through plain synchronous gRPC stubs (shared by the computer, inference and fuzz
tests)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any


class ServiceThread:
    """Runs `start_service(entry, overrides)` on an event loop in a background thread, so
    tests can use plain synchronous gRPC stubs against the real aio server."""

    def __init__(self, entry: Any, overrides: dict[str, Any]) -> None:
        self.entry = entry
        self.overrides = overrides
        self.service: Any = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="service-loop", daemon=True)

    def start(self, timeout: float = 120.0) -> ServiceThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("service did not start")
        if self.error is not None:
            raise self.error
        return self

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        from libs.runtime.server import start_service

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with start_service(self.entry, overrides=self.overrides) as service:
                self.service = service
                self._ready.set()
                await self._stop.wait()
        except BaseException as error:
            self.error = error
            self._ready.set()

    def call(self, coro_fn: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Run a coroutine on the service's loop (e.g. a readiness check)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro_fn(), self._loop).result(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
