"""The inference service in-process (start_service on a background event loop), called
through real gRPC with synchronous stubs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from bytebot.inference.v1 import inference_pb2_grpc

from tests.support.service_thread import ServiceThread

MAX_MESSAGE = 64 * 1024 * 1024


@pytest.fixture(scope="session")
def service() -> Iterator[ServiceThread]:
    from services.inference.main import ENTRY

    runner = ServiceThread(ENTRY, {"log_level": "warning", "backend": "auto",
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
