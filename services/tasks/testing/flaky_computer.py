"""A tiny real grpc.aio ComputerService whose CursorPosition can be "down" (UNAVAILABLE),
slow or hung, counting every attempt that reaches it: the retry-budget tests and
bench/retry_budget.py measure RPC attempts per step against it.

    async with FlakyComputer() as computer:
        computer.mode = DOWN
        ... computer.attempts, computer.remaining  (time_remaining() of each attempt)
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import action_pb2, computer_pb2, computer_pb2_grpc

UP, DOWN, HUNG = "up", "down", "hung"


class _Servicer(computer_pb2_grpc.ComputerServiceServicer):
    def __init__(self, owner: FlakyComputer) -> None:
        self.owner = owner

    async def CursorPosition(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        owner = self.owner
        owner.attempts += 1
        owner.arrivals.append(time.monotonic())
        owner.remaining.append(context.time_remaining())
        if owner.delay_seconds:
            await asyncio.sleep(owner.delay_seconds)
        if owner.mode == HUNG:
            await asyncio.sleep(3600)
        if owner.mode == DOWN:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "computer is down (test outage)")
        return computer_pb2.CursorPositionResponse(position=common_pb2.Point(x=1, y=2))


class FlakyComputer:
    def __init__(self) -> None:
        self.mode = UP
        self.delay_seconds = 0.0
        self.attempts = 0
        self.arrivals: list[float] = []
        self.remaining: list[float | None] = []
        self.server: grpc.aio.Server | None = None
        self.target = ""

    def reset(self) -> None:
        self.attempts = 0
        self.arrivals.clear()
        self.remaining.clear()

    async def __aenter__(self) -> FlakyComputer:
        self.server = grpc.aio.server()
        computer_pb2_grpc.add_ComputerServiceServicer_to_server(_Servicer(self), self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        self.target = f"127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.server is not None:
            await self.server.stop(0.001)  # never 0: see libs/runtime/server.py


# The step the retry tests and bench run: one cheap RPC, so attempts are what is measured.
STEP = action_pb2.Action(cursor_position=computer_pb2.CursorPositionRequest())


async def run_steps(executor: Any, steps: int, concurrency: int) -> list[int]:
    """Attempts per step of `steps` STEPs through `executor` (a StepExecutor), `concurrency`
    at a time; a failed step counts its attempts too."""
    from services.tasks.executor import StepFailedError  # the executor imports the runtime

    gate = asyncio.Semaphore(concurrency)

    async def one() -> int:
        async with gate:
            try:
                return (await executor.execute(STEP)).attempts
            except StepFailedError as err:
                return err.attempts

    return list(await asyncio.gather(*(one() for _ in range(steps))))
