"""Executes one task step by calling the computer and inference services.

Each desktop action is the request of the ComputerService RPC of the same name. The OCR
steps chain calls: `find_text` = Screenshot → InferenceService.FindText; `click_text` =
Screenshot → FindText → ClickMouse at the centre of the best match. A step's result is
compact: a screenshot is kept as its size and SHA-256, a file as its size, never the bytes.

Retries (issue 17, "one retry budget"): THIS is the one place that decides them for a step's
calls; the worker's channels to computer and inference have gRPC retries switched off
(`create_channel(retries=False)`, see services/tasks/main.py). Why here and not in the
channel's service config: a step is one logical call that may chain several RPCs
(`click_text` = Screenshot → FindText → ClickMouse), and only the executor knows the step's
total time, can retry DEADLINE_EXCEEDED/RESOURCE_EXHAUSTED as well as UNAVAILABLE, and can
count what it does; stacking both made one step up to 4 x 3 = 12 RPC attempts, in lock-step
across workers. So a transient failure (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED)
re-runs the step when all of these allow it:
- attempts < `RetryPolicy.max_attempts`;
- the process's `RetryBudget` (libs/runtime/retry.py: retries <= 10 % of steps + 1/s) has a
  token, so an outage costs ~1.1 attempts per step instead of 3 or 12;
- the backoff — exponential with full jitter (a uniform draw in [0, cap]), so a fleet
  spreads out instead of retrying in lock-step — still fits in the step's time.
Deadline propagation: the step's total time (`rpc_timeout_seconds` plus what a wait/typing
delay asks for) is fixed when the step starts; every RPC of every attempt gets the time
that remains of it as its deadline, never a fresh one. Any other error fails the step at
once with the service's own message. Decisions are counted in
`bytebot_rpc_retries_total{target,outcome}` and attempts per step in
`bytebot_task_step_attempts`.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from bytebot.computer.v1 import action_pb2, computer_pb2, computer_pb2_grpc
from bytebot.inference.v1 import inference_pb2, inference_pb2_grpc
from bytebot.tasks.v1 import tasks_pb2
from prometheus_client import CollectorRegistry

from libs.observability.logging import get_logger
from libs.runtime.backoff import full_jitter
from libs.runtime.retry import (
    ATTEMPTS_EXHAUSTED,
    BUDGET_EXHAUSTED,
    DEADLINE,
    RETRIED,
    RetryBudget,
    RetryMetrics,
)

log = get_logger(__name__)

TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)

# Bytebot action name → ComputerService method.
DESKTOP_RPCS: dict[str, str] = {
    "move_mouse": "MoveMouse",
    "trace_mouse": "TraceMouse",
    "click_mouse": "ClickMouse",
    "press_mouse": "PressMouse",
    "drag_mouse": "DragMouse",
    "scroll": "Scroll",
    "type_keys": "TypeKeys",
    "press_keys": "PressKeys",
    "type_text": "TypeText",
    "paste_text": "PasteText",
    "wait": "Wait",
    "screenshot": "Screenshot",
    "cursor_position": "CursorPosition",
    "application": "Application",
    "write_file": "WriteFile",
    "read_file": "ReadFile",
}
MAX_MATCHES_KEPT = 5


class StepFailedError(Exception):
    """The step failed; `str()` is the reason recorded with the step and the task."""

    def __init__(self, reason: str, attempts: int = 1) -> None:
        super().__init__(reason)
        self.attempts = attempts


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    initial_backoff_seconds: float = 0.2
    max_backoff_seconds: float = 5.0
    multiplier: float = 2.0

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Delay after failed attempt `attempt` (1-based): full jitter under the cap."""
        return full_jitter(
            attempt,
            self.initial_backoff_seconds,
            self.max_backoff_seconds,
            multiplier=self.multiplier,
            rng=rng,
        )


TARGETS = ("computer", "inference")


class _AttemptFailed(Exception):
    """An RPC of one attempt failed; which service it was (the metric's target)."""

    def __init__(self, target: str, error: grpc.aio.AioRpcError) -> None:
        super().__init__(target)
        self.target = target
        self.error = error


@dataclass(frozen=True)
class StepOutcome:
    output: tasks_pb2.StepOutput
    attempts: int


class StepExecutor:
    def __init__(
        self,
        computer: computer_pb2_grpc.ComputerServiceStub,
        inference: inference_pb2_grpc.InferenceServiceStub,
        *,
        rpc_timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        budget: RetryBudget | None = None,
        registry: CollectorRegistry | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.computer = computer
        self.inference = inference
        self.rpc_timeout_seconds = rpc_timeout_seconds
        self.retry = retry or RetryPolicy()
        # one per process (the worker builds one executor): shared by all its steps
        self.budget = budget or RetryBudget()
        self.metrics = (
            RetryMetrics(
                registry,
                TARGETS,
                attempts_metric="bytebot_task_step_attempts",
                attempts_help="Attempts per executed step (1 = no retry).",
            )
            if registry is not None
            else None
        )
        self._rng = rng

    def _count(self, target: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.retries.labels(target=target, outcome=outcome).inc()

    def _observe(self, attempts: int) -> None:
        if self.metrics is not None:
            self.metrics.attempts.observe(attempts)

    async def execute(self, action: action_pb2.Action) -> StepOutcome:
        kind = action.WhichOneof("action")
        if kind is None:
            raise StepFailedError("the step has no action")
        request = getattr(action, kind)
        loop = asyncio.get_running_loop()
        step_seconds = self._timeout_for(kind, request)
        deadline = loop.time() + step_seconds  # bounds every attempt of this step
        self.budget.deposit()
        attempt = 1
        while True:
            try:
                output = await self._run_once(kind, request, deadline)
                self._observe(attempt)
                return StepOutcome(output=output, attempts=attempt)
            except StepFailedError as err:
                err.attempts = attempt
                self._observe(attempt)
                raise
            except _AttemptFailed as failed:
                code, details, target = failed.error.code(), failed.error.details(), failed.target
            reason = self._no_retry_reason(code, attempt, deadline, loop.time(), step_seconds)
            delay = 0.0
            if reason is None:
                delay = self.retry.backoff(attempt, self._rng)
                if loop.time() + delay >= deadline:
                    reason = (DEADLINE, f"the step's {step_seconds:g}s ran out")
                elif not self.budget.try_withdraw():
                    reason = (BUDGET_EXHAUSTED, "the retry budget is exhausted")
            if reason is not None:
                self._give_up(reason, target, code, details, attempt)
            self._count(target, RETRIED)
            log.warning(
                "step failed transiently; retrying",
                action=kind,
                target=target,
                grpc_code=code.name,
                attempt=attempt,
                retry_in_s=round(delay, 4),
            )
            await asyncio.sleep(delay)
            if loop.time() >= deadline:
                # The sleep overran the deadline (a busy event loop): no next attempt is
                # made, so none is counted.
                ran_out = (DEADLINE, f"the step's {step_seconds:g}s ran out")
                self._give_up(ran_out, target, code, details, attempt)
            attempt += 1

    def _give_up(self, reason: tuple[str, str], target: str, code: grpc.StatusCode,
                 details: str | None, attempt: int) -> NoReturn:
        """End the step with the last attempt's error, counted under `reason`'s outcome."""
        outcome, why = reason
        if outcome:
            self._count(target, outcome)
        self._observe(attempt)
        suffix = f" after {attempt} attempts ({why})" if outcome else ""
        raise StepFailedError(f"{code.name}{suffix}: {details}", attempt) from None

    def _no_retry_reason(
        self, code: grpc.StatusCode, attempt: int, deadline: float, now: float, step: float
    ) -> tuple[str, str] | None:
        """Why this failure is final ('' outcome: not a retryable code at all)."""
        if code not in TRANSIENT_CODES:
            return ("", "")
        if attempt >= self.retry.max_attempts:
            return (ATTEMPTS_EXHAUSTED, f"max {self.retry.max_attempts}")
        if now >= deadline:
            return (DEADLINE, f"the step's {step:g}s ran out")
        return None

    async def _call(self, target: str, method: Any, request: Any, deadline: float) -> Any:
        """One RPC with the time that remains of the step as its deadline."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise _AttemptFailed(target, _deadline_error())
        try:
            return await method(request, timeout=remaining)
        except grpc.aio.AioRpcError as err:
            raise _AttemptFailed(target, err) from None

    async def _run_once(self, kind: str, request: Any, deadline: float) -> tasks_pb2.StepOutput:
        if kind == "find_text":
            output, _ = await self._find(request, deadline)
            return output
        if kind == "click_text":
            return await self._click_text(request, deadline)
        method = getattr(self.computer, DESKTOP_RPCS[kind])
        response = await self._call("computer", method, request, deadline)
        return desktop_output(kind, response)

    def _timeout_for(self, kind: str, request: Any) -> float:
        """The step's total time: room for the time the action itself asks for."""
        extra = 0.0
        if kind == "wait" and request.HasField("duration"):
            extra = request.duration.ToTimedelta().total_seconds()
        elif kind == "type_keys" and request.HasField("delay"):
            extra = request.delay.ToTimedelta().total_seconds()
        elif kind == "type_text" and request.HasField("delay"):
            extra = request.delay.ToTimedelta().total_seconds() * len(request.text)
        return self.rpc_timeout_seconds + extra

    async def _find(
        self, request: action_pb2.FindTextAction | action_pb2.ClickTextAction, deadline: float
    ) -> tuple[tasks_pb2.StepOutput, inference_pb2.TextMatch]:
        shot = await self._call(
            "computer", self.computer.Screenshot, computer_pb2.ScreenshotRequest(), deadline
        )
        find = inference_pb2.FindTextRequest(image=shot.image, query=request.text)
        if request.HasField("options"):
            find.options.CopyFrom(request.options)
        if request.HasField("region"):
            find.region.CopyFrom(request.region)
        found = await self._call("inference", self.inference.FindText, find, deadline)
        if not found.matches:
            raise StepFailedError(f"text '{request.text}' not found on screen")
        best = found.matches[0]
        output = tasks_pb2.StepOutput(screenshot=screenshot_digest(shot))
        output.matches.extend(found.matches[:MAX_MATCHES_KEPT])
        output.point.CopyFrom(best.center)
        return output, best

    async def _click_text(
        self, request: action_pb2.ClickTextAction, deadline: float
    ) -> tasks_pb2.StepOutput:
        output, best = await self._find(request, deadline)
        click = computer_pb2.ClickMouseRequest(
            coordinates=best.center,
            button=request.button,
            click_count=request.click_count or 1,
        )
        await self._call("computer", self.computer.ClickMouse, click, deadline)
        return output


def _deadline_error() -> grpc.aio.AioRpcError:
    """The step's time ran out between two RPCs of one attempt: what the RPC would say."""
    return grpc.aio.AioRpcError(
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(),
        details="the step's deadline passed before the call",
    )


def screenshot_digest(response: computer_pb2.ScreenshotResponse) -> tasks_pb2.ScreenshotDigest:
    image = response.image
    return tasks_pb2.ScreenshotDigest(
        size_bytes=len(image.data),
        sha256=hashlib.sha256(image.data).hexdigest(),
        format=image.format,
        width=image.width,
        height=image.height,
    )


def desktop_output(kind: str, response: Any) -> tasks_pb2.StepOutput:
    """The compact result of a desktop action (never file contents or image bytes)."""
    output = tasks_pb2.StepOutput()
    if kind == "screenshot":
        output.screenshot.CopyFrom(screenshot_digest(response))
    elif kind == "cursor_position":
        output.point.CopyFrom(response.position)
    elif kind == "application":
        output.text = response.application
    elif kind == "write_file":
        output.bytes = response.size
        output.text = response.path
    elif kind == "read_file":
        output.bytes = response.size
        output.text = response.name
    elif kind != "wait" and response.HasField("cursor"):
        output.point.CopyFrom(response.cursor)
    return output
