"""RPC attempts per step during a computer outage, by retry configuration (issue 17 item 3).

A real grpc.aio ComputerService (services/tasks/testing/flaky_computer.py) answers every
CursorPosition with UNAVAILABLE; the step executor runs N cursor_position steps, C in
flight; the server counts every RPC attempt that reaches it. Configurations:

  stacked    the old layering: channel service-config retries (4 attempts) under the
             executor's 3 attempts, no budget            -> up to 12 RPCs per step
  executor   the executor alone (channel retries off), 3 attempts, no budget
  budget     what the worker runs now: executor alone + RetryBudget(10 %, 1/s, 10 tokens)

Then the server comes back and the same steps run once more (all must take 1 attempt).

    .venv/bin/python bench/retry_budget.py [--steps 1000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parents[1] / "protos"),
]

from bytebot.computer.v1 import computer_pb2_grpc  # noqa: E402
from bytebot.inference.v1 import inference_pb2_grpc  # noqa: E402

from libs.runtime.client import create_channel  # noqa: E402
from libs.runtime.retry import RetryBudget  # noqa: E402
from services.tasks.executor import RetryPolicy, StepExecutor  # noqa: E402
from services.tasks.testing.flaky_computer import (  # noqa: E402
    DOWN,
    UP,
    FlakyComputer,
    run_steps,
)

UNLIMITED = {"ratio": 1.0, "max_tokens": 1e12}


async def measure(name: str, steps: int, concurrency: int, *, channel_retries: bool,
                  budget: RetryBudget) -> None:
    async with FlakyComputer() as computer:
        channel = create_channel(computer.target, retries=channel_retries)
        stub = computer_pb2_grpc.ComputerServiceStub(channel)
        executor = StepExecutor(
            stub, inference_pb2_grpc.InferenceServiceStub(channel), budget=budget,
            # the worker's defaults, scaled down 10x so the bench takes seconds
            retry=RetryPolicy(max_attempts=3, initial_backoff_seconds=0.05,
                              max_backoff_seconds=0.5),
        )
        await run_steps(executor, 5, 5)  # connected before the outage
        computer.reset()
        computer.mode = DOWN
        loop = asyncio.get_running_loop()
        started = loop.time()
        per_step = await run_steps(executor, steps, concurrency)
        elapsed = loop.time() - started
        rpcs = computer.attempts
        computer.mode = UP
        computer.reset()
        after = await run_steps(executor, steps, concurrency)
        await channel.close()
    histogram = dict(sorted(Counter(per_step).items()))
    print(f"{name:<9} outage: {rpcs:>6} RPC attempts for {steps} steps = "
          f"{rpcs / steps:5.2f}/step in {elapsed:5.2f}s; executor attempts histogram "
          f"{histogram}; after recovery: {sum(after) / steps:.2f} attempts/step "
          f"({computer.attempts} RPCs)")


async def main(steps: int, concurrency: int) -> None:
    print(f"{steps} cursor_position steps, {concurrency} in flight, server UNAVAILABLE")
    await measure("stacked", steps, concurrency, channel_retries=True,
                  budget=RetryBudget(**UNLIMITED))  # type: ignore[arg-type]
    await measure("executor", steps, concurrency, channel_retries=False,
                  budget=RetryBudget(**UNLIMITED))  # type: ignore[arg-type]
    await measure("budget", steps, concurrency, channel_retries=False,
                  budget=RetryBudget(0.1, min_per_second=1.0, max_tokens=10))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.concurrency))
