"""Helpers of the TaskService API tests: the API on a database in-process, the field
violations of a failed call, a `wait` step."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from bytebot.computer.v1 import action_pb2, computer_pb2
from bytebot.tasks.v1 import tasks_pb2_grpc
from google.protobuf import duration_pb2

from libs.runtime.server import start_service
from libs.status.errors import field_violations
from services.tasks.main import API_ENTRY


def run_api(
    database_url: str, test: Callable[[Any, Any], Awaitable[None]], **settings: Any
) -> None:
    async def main() -> None:
        async with start_service(API_ENTRY, {"database_url": database_url, **settings}) as svc:
            await test(tasks_pb2_grpc.TaskServiceStub(svc.channel()), svc)

    asyncio.run(main())


async def violations_of(call: Awaitable[Any]) -> tuple[grpc.StatusCode, dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code(), {v.field: v.description for v in field_violations(info.value)}


def wait_step(ms: int = 0) -> action_pb2.Action:
    return action_pb2.Action(
        wait=computer_pb2.WaitRequest(duration=duration_pb2.Duration(nanos=ms * 1_000_000))
    )
