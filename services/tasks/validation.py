"""Request validation for TaskService: every violation of a request is reported at once, each
naming its field (`description`, `steps[3].click_mouse.click_count`, `type`…). Step bounds
and key names come from libs/actions, shared with the computer service."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from bytebot.tasks.v1 import tasks_pb2
from google.protobuf.message import Message

from libs.actions.validation import validate_action
from libs.status.errors import FieldViolation, InvalidArgument

MAX_DESCRIPTION_CHARS = 10_000
MAX_STEPS = 100
MAX_CREATED_BY_CHARS = 256
MAX_ATTEMPTS = 10
MAX_CANCEL_REASON_CHARS = 1_000
MAX_REQUEST_ID_CHARS = 64
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]+")
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
# Timestamp's own valid range (0001-01-01 .. 9999-12-31).
_MIN_TS_SECONDS = -62_135_596_800
_MAX_TS_SECONDS = 253_402_300_799


def _enum(msg: Message, field: str, out: list[FieldViolation]) -> None:
    value = getattr(msg, field)
    enum_type = msg.DESCRIPTOR.fields_by_name[field].enum_type
    if value not in enum_type.values_by_number:
        names = ", ".join(v.name for v in enum_type.values)
        out.append(FieldViolation(field, f"unknown {enum_type.name} value {value}; one of {names}"))


def raise_if(violations: list[FieldViolation], what: str) -> None:
    if violations:
        fields = ", ".join(v.field for v in violations)
        raise InvalidArgument(f"invalid {what} request: {fields}", violations)


def validate_create(request: tasks_pb2.CreateTaskRequest, now: datetime) -> None:
    v: list[FieldViolation] = []
    if not request.description.strip() and not request.steps:
        v.append(FieldViolation("description", "a task needs a description or at least one step"))
        v.append(FieldViolation("steps", "a task needs a description or at least one step"))
    if len(request.description) > MAX_DESCRIPTION_CHARS:
        v.append(
            FieldViolation(
                "description",
                f"must have at most {MAX_DESCRIPTION_CHARS} characters, "
                f"got {len(request.description)}",
            )
        )
    if len(request.steps) > MAX_STEPS:
        v.append(FieldViolation("steps", f"at most {MAX_STEPS} steps, got {len(request.steps)}"))
    else:
        for i, step in enumerate(request.steps):
            v.extend(validate_action(step, f"steps[{i}]"))
    _enum(request, "type", v)
    _enum(request, "priority", v)
    if len(request.created_by) > MAX_CREATED_BY_CHARS:
        v.append(
            FieldViolation("created_by", f"must have at most {MAX_CREATED_BY_CHARS} characters")
        )
    if not 0 <= request.max_attempts <= MAX_ATTEMPTS:
        v.append(
            FieldViolation(
                "max_attempts",
                f"must be between 0 and {MAX_ATTEMPTS} (0 means 3), got {request.max_attempts}",
            )
        )
    if request.request_id and (len(request.request_id) > MAX_REQUEST_ID_CHARS
                               or not _REQUEST_ID.fullmatch(request.request_id)):
        v.append(FieldViolation(
            "request_id",
            f"must be 1-{MAX_REQUEST_ID_CHARS} characters of A-Z a-z 0-9 . _ : - (or empty)"))
    scheduled = request.type == tasks_pb2.TASK_TYPE_SCHEDULED
    if request.HasField("scheduled_for"):
        when = timestamp_violation(request.scheduled_for, "scheduled_for", v)
        if not scheduled and request.type in tasks_pb2.TaskType.values():
            v.append(FieldViolation("scheduled_for", "must be unset unless type is SCHEDULED"))
        elif when is not None and when <= now:
            v.append(
                FieldViolation(
                    "scheduled_for",
                    f"must be in the future, got {when.isoformat()} (now {now.isoformat()})",
                )
            )
    elif scheduled:
        v.append(FieldViolation("scheduled_for", "is required for a SCHEDULED task"))
    raise_if(v, "CreateTask")


def timestamp_violation(ts: Any, field: str, out: list[FieldViolation]) -> datetime | None:
    seconds, nanos = ts.seconds, ts.nanos
    if not 0 <= nanos <= 999_999_999:
        out.append(
            FieldViolation(f"{field}.nanos", f"must be between 0 and 999999999, got {nanos}")
        )
        return None
    if not _MIN_TS_SECONDS <= seconds <= _MAX_TS_SECONDS:
        out.append(FieldViolation(f"{field}.seconds", f"out of the timestamp range: {seconds}"))
        return None
    return ts.ToDatetime(tzinfo=UTC)


def validate_task_id(task_id: str, what: str, field: str = "id") -> str:
    """A canonical task id (lowercase UUID) or INVALID_ARGUMENT."""
    try:
        parsed = uuid.UUID(task_id)
    except ValueError:
        shown = task_id if len(task_id) <= 64 else task_id[:64] + "…"
        raise InvalidArgument(
            f"invalid {what} request: {field}",
            [FieldViolation(field, f"must be a task id (a UUID), got {shown!r}")],
        ) from None
    return str(parsed)


def validate_list(request: tasks_pb2.ListTasksRequest) -> int:
    """Returns the effective page size."""
    v: list[FieldViolation] = []
    _enum(request, "status", v)
    _enum(request, "priority", v)
    if not 0 <= request.page_size <= MAX_PAGE_SIZE:
        v.append(
            FieldViolation(
                "page_size",
                f"must be between 0 and {MAX_PAGE_SIZE} (0 means {DEFAULT_PAGE_SIZE}), "
                f"got {request.page_size}",
            )
        )
    if len(request.created_by) > MAX_CREATED_BY_CHARS:
        v.append(
            FieldViolation("created_by", f"must have at most {MAX_CREATED_BY_CHARS} characters")
        )
    raise_if(v, "ListTasks")
    return request.page_size or DEFAULT_PAGE_SIZE


def validate_cancel(request: tasks_pb2.CancelTaskRequest) -> str:
    task_id = validate_task_id(request.id, "CancelTask")
    if len(request.reason) > MAX_CANCEL_REASON_CHARS:
        raise_if(
            [FieldViolation("reason", f"must have at most {MAX_CANCEL_REASON_CHARS} characters")],
            "CancelTask",
        )
    return task_id
