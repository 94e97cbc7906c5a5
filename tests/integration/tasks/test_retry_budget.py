"""Issue 17 item 3, one retry budget: the step executor is the only retry layer of a step,
against a real grpc.aio ComputerService that answers UNAVAILABLE (FlakyComputer):

- after an outage, RPC attempts per step stay within the budget (~1.1 per step, not 3 or
  12), printed as the attempt histogram;
- the worker's channel really does not retry (with the old stacked channel retries the
  same steps made 12 attempts each);
- retries are spread by full jitter, not in lock-step;
- the step's deadline bounds every attempt: each attempt's deadline is what remains of it.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from collections import Counter

import grpc
from bytebot.computer.v1 import computer_pb2_grpc
from bytebot.inference.v1 import inference_pb2_grpc
from prometheus_client import CollectorRegistry

from libs.observability import logging as obs_logging
from libs.runtime.client import create_channel
from libs.runtime.retry import RetryBudget
from services.tasks.executor import RetryPolicy, StepExecutor, StepFailedError
from services.tasks.testing.flaky_computer import DOWN, HUNG, STEP, UP, FlakyComputer, run_steps

ATTEMPTS = "bytebot_task_step_attempts"
RETRIES = "bytebot_rpc_retries_total"
SLACK = 0.05  # the deadline on the wire is rounded up (grpc-timeout units)


def _executor(channel: grpc.aio.Channel, registry: CollectorRegistry | None = None,
              **kwargs: object) -> StepExecutor:
    stub = computer_pb2_grpc.ComputerServiceStub(channel)
    return StepExecutor(stub, inference_pb2_grpc.InferenceServiceStub(channel),
                        registry=registry, **kwargs)  # type: ignore[arg-type]


def _histogram(registry: CollectorRegistry) -> dict[str, float]:
    out = {}
    for le in ("1.0", "2.0", "3.0", "+Inf"):
        out[le] = registry.get_sample_value(f"{ATTEMPTS}_bucket", {"le": le}) or 0.0
    return out


def test_attempts_per_step_stay_within_the_budget_after_an_outage() -> None:
    steps = 300

    async def scenario() -> None:
        async with FlakyComputer() as computer:
            registry = CollectorRegistry()
            channel = create_channel(computer.target, retries=False)
            budget = RetryBudget(0.1, min_per_second=1.0, max_tokens=10)
            executor = _executor(
                channel, registry, budget=budget,
                retry=RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01,
                                  max_backoff_seconds=0.05),
            )
            loop = asyncio.get_running_loop()
            # warm-up while up: the channel is connected, the budget full
            assert await run_steps(executor, 20, 10) == [1] * 20
            computer.reset()
            computer.mode = DOWN
            started = loop.time()
            per_step = await run_steps(executor, steps, 30)
            elapsed = loop.time() - started
            attempts = computer.attempts
            histogram = Counter(per_step)
            print(f"\noutage, {steps} steps, 30 in flight, {elapsed:.2f}s: {attempts} RPC "
                  f"attempts = {attempts / steps:.3f} per step; attempts histogram "
                  f"{dict(sorted(histogram.items()))}; budget refused {budget.refused}")
            print(f"bytebot_task_step_attempts buckets: {_histogram(registry)}")
            assert sum(per_step) == attempts  # each attempt is exactly one RPC (no hidden ones)
            # tokens: the 10 of the cap, 0.1 per step, 1 a second
            bound = steps + 10 + 0.1 * (steps + 20) + 1.0 * elapsed
            assert attempts <= bound, (attempts, bound)
            refused = registry.get_sample_value(
                RETRIES, {"target": "computer", "outcome": "budget_exhausted"})
            assert refused and refused >= steps * 0.5  # most steps were not retried
            computer.mode = UP
            computer.reset()
            assert await run_steps(executor, 20, 10) == [1] * 20  # and it recovers at once
            await channel.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_the_worker_channel_does_not_retry_but_the_old_stack_did() -> None:
    steps = 10

    async def scenario() -> None:
        async with FlakyComputer() as computer:
            computer.mode = DOWN
            policy = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01,
                                 max_backoff_seconds=0.02)
            unlimited = RetryBudget(1.0, max_tokens=1e9)  # isolate the layering
            stacked = create_channel(computer.target)  # default: gRPC retries UNAVAILABLE x4
            await run_steps(_executor(stacked, retry=policy, budget=unlimited), steps, steps)
            old = computer.attempts
            computer.reset()
            single = create_channel(computer.target, retries=False)
            await run_steps(_executor(single, retry=policy, budget=unlimited), steps, steps)
            new = computer.attempts
            print(f"\nRPC attempts per step during an outage: stacked channel+executor "
                  f"{old / steps:.1f}, executor only {new / steps:.1f}")
            assert old == steps * 12
            assert new == steps * 3
            await stacked.close()
            await single.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_full_jitter_spreads_the_retries() -> None:
    stream = io.StringIO()
    obs_logging.configure("test-retry", stream=stream)

    async def scenario() -> None:
        async with FlakyComputer() as computer:
            computer.mode = DOWN
            channel = create_channel(computer.target, retries=False)
            executor = _executor(
                channel, budget=RetryBudget(1.0, max_tokens=1e9),
                retry=RetryPolicy(max_attempts=2, initial_backoff_seconds=0.2),
            )
            await run_steps(executor, 60, 60)  # 60 steps failing at the same moment
            await channel.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        obs_logging.reset()
    delays = [
        record["retry_in_s"]
        for record in map(json.loads, stream.getvalue().splitlines())
        if record["message"] == "step failed transiently; retrying"
    ]
    assert len(delays) == 60
    print(f"\nfirst-retry delays of 60 simultaneous failures: min {min(delays):.3f}s "
          f"max {max(delays):.3f}s, {len(set(delays))} distinct")
    assert all(0 <= d <= 0.2 for d in delays)  # full jitter: uniform in [0, cap]
    assert len(set(delays)) >= 50  # not lock-step
    assert max(delays) - min(delays) >= 0.1  # spread over at least half the cap


def test_the_step_deadline_bounds_every_attempt() -> None:
    async def scenario() -> None:
        async with FlakyComputer() as computer:
            channel = create_channel(computer.target, retries=False)
            registry = CollectorRegistry()
            executor = _executor(
                channel, registry, rpc_timeout_seconds=1.0,
                budget=RetryBudget(1.0, max_tokens=1e9),
                retry=RetryPolicy(max_attempts=1000, initial_backoff_seconds=0.02,
                                  max_backoff_seconds=0.05),
            )
            # 1. Down, each answer taking 0.1 s: attempts until the step's 1 s is spent.
            computer.mode, computer.delay_seconds = DOWN, 0.1
            try:
                await executor.execute(STEP)
                raise AssertionError("the step should fail")
            except StepFailedError as err:
                failed = err
            remaining = [r for r in computer.remaining if r is not None]
            print(f"\nstep of 1 s against a down server: {failed.attempts} attempts, each "
                  f"attempt's deadline {[round(r, 2) for r in remaining]}; error {failed}")
            assert failed.attempts == computer.attempts == len(remaining) >= 2
            # (+ the grpc-timeout header's rounding up, a few ms)
            assert all(r <= 1.0 + SLACK for r in remaining)
            # the deadline is shared, not renewed: each attempt has less time than the last
            assert all(b < a for a, b in itertools.pairwise(remaining))
            assert "ran out" in str(failed)
            assert registry.get_sample_value(
                RETRIES, {"target": "computer", "outcome": "deadline"}) == 1.0
            # 2. Hung: the first attempt gets the whole step's time and no retry follows.
            computer.reset()
            computer.mode, computer.delay_seconds = HUNG, 0.0
            try:
                await executor.execute(STEP)
                raise AssertionError("the step should fail")
            except StepFailedError as err:
                hung = err
            assert hung.attempts == 1 and computer.attempts == 1
            assert str(hung).startswith("DEADLINE_EXCEEDED")
            assert computer.remaining[0] is not None and computer.remaining[0] <= 1.0 + SLACK
            await channel.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
