"""Step builders shared by the task tests and benches (a module of its own, so that Bazel's
one-target-per-test-file runs can import it: a test file never imports another test file)."""

from __future__ import annotations

from bytebot.computer.v1 import action_pb2, computer_pb2
from google.protobuf import duration_pb2

from services.tasks.records import StepInput


def wait_action(ms: int) -> action_pb2.Action:
    """A `wait` desktop action of `ms` milliseconds."""
    duration = duration_pb2.Duration()
    duration.FromMilliseconds(ms)
    return action_pb2.Action(wait=computer_pb2.WaitRequest(duration=duration))


def step(action: action_pb2.Action) -> StepInput:
    """The store's form of one step."""
    kind = action.WhichOneof("action")
    assert kind is not None
    return StepInput(kind=kind, action=action.SerializeToString())


def wait_ms(ms: int) -> StepInput:
    return step(wait_action(ms))
