"""Store records ↔ protobuf messages of bytebot.tasks.v1."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bytebot.computer.v1 import action_pb2
from bytebot.tasks.v1 import tasks_pb2
from google.protobuf import json_format, timestamp_pb2

from services.tasks.records import (
    EventRecord,
    EventType,
    Status,
    StepRecord,
    TaskRecord,
    utcnow,
)

SENSITIVE_MASK = "********"

_EVENT_TYPES = {
    EventType.CREATED: tasks_pb2.TASK_EVENT_TYPE_CREATED,
    EventType.STARTED: tasks_pb2.TASK_EVENT_TYPE_STARTED,
    EventType.STEP_STARTED: tasks_pb2.TASK_EVENT_TYPE_STEP_STARTED,
    EventType.STEP_FINISHED: tasks_pb2.TASK_EVENT_TYPE_STEP_FINISHED,
    EventType.RETRYING: tasks_pb2.TASK_EVENT_TYPE_RETRYING,
    EventType.CANCEL_REQUESTED: tasks_pb2.TASK_EVENT_TYPE_CANCEL_REQUESTED,
    EventType.COMPLETED: tasks_pb2.TASK_EVENT_TYPE_COMPLETED,
    EventType.FAILED: tasks_pb2.TASK_EVENT_TYPE_FAILED,
    EventType.CANCELLED: tasks_pb2.TASK_EVENT_TYPE_CANCELLED,
}


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def status_name(value: int) -> str:
    """TASK_STATUS_PENDING → PENDING."""
    return tasks_pb2.TaskStatus.Name(value).removeprefix("TASK_STATUS_")


def type_name(value: int) -> str:
    if value == tasks_pb2.TASK_TYPE_UNSPECIFIED:
        value = tasks_pb2.TASK_TYPE_IMMEDIATE
    return tasks_pb2.TaskType.Name(value).removeprefix("TASK_TYPE_")


def masked_action(raw: bytes) -> action_pb2.Action:
    """A stored step as the API shows it: secret text replaced by a mask."""
    action = action_pb2.Action.FromString(raw)
    kind = action.WhichOneof("action")
    if kind in ("type_text", "paste_text"):
        inner = getattr(action, kind)
        if inner.sensitive:
            inner.text = SENSITIVE_MASK
    return action


def step_output_dict(output: tasks_pb2.StepOutput) -> dict[str, Any]:
    """The compact JSON stored in task_steps.result."""
    return json_format.MessageToDict(output)


def _step_result(step: StepRecord) -> tasks_pb2.StepResult:
    result = tasks_pb2.StepResult(
        index=step.index,
        status=tasks_pb2.StepStatus.Value(f"STEP_STATUS_{step.status}"),
        attempts=step.attempts,
        error=step.error or "",
    )
    if step.started_at:
        result.started_at.CopyFrom(timestamp(step.started_at))
    if step.completed_at:
        result.finished_at.CopyFrom(timestamp(step.completed_at))
    if step.result:
        json_format.ParseDict(step.result, result.output, ignore_unknown_fields=True)
    return result


def task_to_proto(task: TaskRecord, *, status: str | None = None) -> tasks_pb2.Task:
    status = status or task.status
    msg = tasks_pb2.Task(
        id=task.id,
        description=task.description,
        type=tasks_pb2.TaskType.Value(f"TASK_TYPE_{task.type}"),
        status=tasks_pb2.TaskStatus.Value(f"TASK_STATUS_{status}"),
        priority=task.priority,  # the stored rank is the enum number (LOW=1 … URGENT=4)
        control=tasks_pb2.TASK_CONTROL_ASSISTANT,
        created_by=task.created_by,
        error=(task.error or "") if status == Status.FAILED else "",
        result=str((task.result or {}).get("summary", "")) if status == Status.COMPLETED else "",
        correlation_id=task.correlation_id,
        attempts=task.attempts,
        max_attempts=task.max_attempts,
        cancel_requested=task.cancel_requested,
    )
    msg.created_at.CopyFrom(timestamp(task.created_at))
    msg.updated_at.CopyFrom(timestamp(task.updated_at))
    if task.scheduled_for:
        msg.scheduled_for.CopyFrom(timestamp(task.scheduled_for))
    # A SCHEDULED task is in the queue only once it is due.
    if status != Status.PENDING or task.queued_at <= utcnow():
        msg.queued_at.CopyFrom(timestamp(task.queued_at))
    if task.executed_at:
        msg.executed_at.CopyFrom(timestamp(task.executed_at))
    if task.completed_at and status in Status.TERMINAL:
        msg.completed_at.CopyFrom(timestamp(task.completed_at))
    msg.steps.extend(masked_action(s.action) for s in task.steps)
    msg.step_results.extend(_step_result(s) for s in task.steps)
    return msg


def event_to_proto(
    event: EventRecord, task: TaskRecord, stream_sequence: int
) -> tasks_pb2.WatchTaskResponse:
    """One WatchTask message. `task` is the latest state read after the event; its status is
    the one recorded with the event, so each message shows the status the event produced."""
    data = event.data or {}
    return tasks_pb2.WatchTaskResponse(
        sequence=stream_sequence,
        type=_EVENT_TYPES.get(event.type, tasks_pb2.TASK_EVENT_TYPE_UNSPECIFIED),
        time=timestamp(event.created_at),
        task=task_to_proto(task, status=event.status),
        step_index=int(data.get("step", -1)),
        message=event.message,
        event_sequence=event.sequence,
    )


def snapshot_to_proto(task: TaskRecord) -> tasks_pb2.WatchTaskResponse:
    return tasks_pb2.WatchTaskResponse(
        sequence=1,
        type=tasks_pb2.TASK_EVENT_TYPE_SNAPSHOT,
        time=timestamp(task.updated_at),
        task=task_to_proto(task),
        step_index=-1,
        event_sequence=task.last_event_seq,
    )
