"""Executes one task step by calling the computer and inference services.

Each desktop action is the request of the ComputerService RPC of the same name. The OCR
steps chain calls: `find_text` = Screenshot → InferenceService.FindText; `click_text` =
Screenshot → FindText → ClickMouse at the centre of the best match. A step's result is
compact: a screenshot is kept as its size and SHA-256, a file as its size, never the bytes.

Transient failures (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) re-run the step
with exponential backoff, up to `RetryPolicy.max_attempts`; any other error fails the step
at once with the service's own message.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

import grpc
from bytebot.computer.v1 import action_pb2, computer_pb2, computer_pb2_grpc
from bytebot.inference.v1 import inference_pb2, inference_pb2_grpc
from bytebot.tasks.v1 import tasks_pb2

from libs.observability.logging import get_logger

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

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt `attempt` (1-based)."""
        return min(
            self.max_backoff_seconds,
            self.initial_backoff_seconds * self.multiplier ** (attempt - 1),
        )


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
    ) -> None:
        self.computer = computer
        self.inference = inference
        self.rpc_timeout_seconds = rpc_timeout_seconds
        self.retry = retry or RetryPolicy()

    async def execute(self, action: action_pb2.Action) -> StepOutcome:
        kind = action.WhichOneof("action")
        if kind is None:
            raise StepFailedError("the step has no action")
        attempt = 1
        while True:
            try:
                output = await self._run_once(kind, getattr(action, kind))
                return StepOutcome(output=output, attempts=attempt)
            except StepFailedError as err:
                err.attempts = attempt
                raise
            except grpc.aio.AioRpcError as err:
                code = err.code()
                if code not in TRANSIENT_CODES:
                    raise StepFailedError(f"{code.name}: {err.details()}", attempt) from None
                if attempt >= self.retry.max_attempts:
                    raise StepFailedError(
                        f"{code.name} after {attempt} attempts: {err.details()}", attempt
                    ) from None
                delay = self.retry.backoff(attempt)
                log.warning(
                    "step failed transiently; retrying",
                    action=kind,
                    grpc_code=code.name,
                    attempt=attempt,
                    retry_in_s=delay,
                )
                await asyncio.sleep(delay)
                attempt += 1

    async def _run_once(self, kind: str, request: Any) -> tasks_pb2.StepOutput:
        if kind == "find_text":
            output, _ = await self._find(request)
            return output
        if kind == "click_text":
            return await self._click_text(request)
        method = getattr(self.computer, DESKTOP_RPCS[kind])
        response = await method(request, timeout=self._timeout_for(kind, request))
        return desktop_output(kind, response)

    def _timeout_for(self, kind: str, request: Any) -> float:
        """An RPC deadline that leaves room for the time the action itself asks for."""
        extra = 0.0
        if kind == "wait" and request.HasField("duration"):
            extra = request.duration.ToTimedelta().total_seconds()
        elif kind == "type_keys" and request.HasField("delay"):
            extra = request.delay.ToTimedelta().total_seconds()
        elif kind == "type_text" and request.HasField("delay"):
            extra = request.delay.ToTimedelta().total_seconds() * len(request.text)
        return self.rpc_timeout_seconds + extra

    async def _find(
        self, request: action_pb2.FindTextAction | action_pb2.ClickTextAction
    ) -> tuple[tasks_pb2.StepOutput, inference_pb2.TextMatch]:
        shot = await self.computer.Screenshot(
            computer_pb2.ScreenshotRequest(), timeout=self.rpc_timeout_seconds
        )
        find = inference_pb2.FindTextRequest(image=shot.image, query=request.text)
        if request.HasField("options"):
            find.options.CopyFrom(request.options)
        if request.HasField("region"):
            find.region.CopyFrom(request.region)
        found = await self.inference.FindText(find, timeout=self.rpc_timeout_seconds)
        if not found.matches:
            raise StepFailedError(f"text '{request.text}' not found on screen")
        best = found.matches[0]
        output = tasks_pb2.StepOutput(screenshot=screenshot_digest(shot))
        output.matches.extend(found.matches[:MAX_MATCHES_KEPT])
        output.point.CopyFrom(best.center)
        return output, best

    async def _click_text(self, request: action_pb2.ClickTextAction) -> tasks_pb2.StepOutput:
        output, best = await self._find(request)
        click = computer_pb2.ClickMouseRequest(
            coordinates=best.center,
            button=request.button,
            click_count=request.click_count or 1,
        )
        await self.computer.ClickMouse(click, timeout=self.rpc_timeout_seconds)
        return output


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
