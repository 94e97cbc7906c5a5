"""The inference service in-process (start_service on a background event loop), called
through real gRPC with synchronous stubs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from bytebot.inference.v1 import inference_pb2_grpc

MAX_MESSAGE = 64 * 1024 * 1024


class ServiceThread:
    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        self.service: Any = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()),
                                        name="inference-loop", daemon=True)

    def start(self, timeout: float = 120.0) -> ServiceThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("inference service did not start")
        if self.error is not None:
            raise self.error
        return self

    async def _serve(self) -> None:
        from libs.runtime.server import start_service
        from services.inference.main import ENTRY

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with start_service(ENTRY, overrides=self.overrides) as service:
                self.service = service
                self._ready.set()
                await self._stop.wait()
        except BaseException as error:
            self.error = error
            self._ready.set()

    def call(self, coro_fn: Any, timeout: float = 30.0) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro_fn(), self._loop).result(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)


@pytest.fixture(scope="session")
def service() -> Iterator[ServiceThread]:
    runner = ServiceThread({"log_level": "warning", "backend": "auto",
                            "max_image_bytes": 4 * 1024 * 1024}).start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture(scope="session")
def stub(service: ServiceThread) -> Iterator[Any]:
    with grpc.insecure_channel(
        service.service.grpc_target,
        options=[("grpc.max_send_message_length", MAX_MESSAGE),
                 ("grpc.max_receive_message_length", MAX_MESSAGE)],
    ) as channel:
        yield inference_pb2_grpc.InferenceServiceStub(channel)
