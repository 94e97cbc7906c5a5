"""bytebot.tasks.v1.TaskService over the task store."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from bytebot.tasks.v1 import tasks_pb2, tasks_pb2_grpc
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from libs.observability.correlation import get_correlation_id
from libs.observability.logging import get_logger
from libs.observability.tracing import inject_context
from libs.runtime.supervised_loop import safe_error_text
from libs.security import list_owner_filter, owner_for_create, require_owner_or_admin
from libs.status.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    OutOfRange,
    Unavailable,
)
from services.tasks.convert import (
    event_to_proto,
    snapshot_to_proto,
    status_name,
    task_to_proto,
    type_name,
)
from services.tasks.db import Database
from services.tasks.metrics import TaskMetrics
from services.tasks.notifications import EventHub
from services.tasks.records import Priority, Status, StepInput, TaskRecord, utcnow
from services.tasks.store import (
    InvalidPageTokenError,
    RequestIdReusedError,
    TaskFinishedError,
    TaskNotFoundError,
    TaskStore,
)
from services.tasks.validation import (
    validate_cancel,
    validate_create,
    validate_list,
    validate_task_id,
)

log = get_logger(__name__)
T = TypeVar("T")


class TaskServicer(tasks_pb2_grpc.TaskServiceServicer):
    def __init__(
        self,
        db: Database,
        store: TaskStore,
        hub: EventHub,
        metrics: TaskMetrics,
        *,
        default_max_attempts: int = 3,
        watch_poll_seconds: float = 0.5,
    ) -> None:
        self.db = db
        self.store = store
        self.hub = hub
        self.metrics = metrics
        self.default_max_attempts = default_max_attempts
        self.watch_poll_seconds = watch_poll_seconds

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call; a database that cannot be reached is UNAVAILABLE (retryable),
        not an internal error."""
        try:
            return await self.db.run(fn, *args, **kwargs)
        except (OperationalError, PoolTimeoutError) as exc:
            log.warning(
                "database unavailable", errorType=type(exc).__name__, error=safe_error_text(exc)
            )
            raise Unavailable("the task database is unavailable; retry later") from None
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise Unavailable("the task database connection was lost; retry later") from None
            raise

    async def CreateTask(
        self, request: tasks_pb2.CreateTaskRequest, context: Any
    ) -> tasks_pb2.CreateTaskResponse:
        now = utcnow()
        validate_create(request, now)
        created_by = owner_for_create(request.created_by)  # the caller, when auth is on
        steps = [
            StepInput(kind=step.WhichOneof("action") or "", action=step.SerializeToString())
            for step in request.steps
        ]
        task_type = type_name(request.type)
        # The digest tells a retry (same request) from a reused key (another request).
        request_hash = (hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
                        if request.request_id else None)
        try:
            task = await self._db(
                self.store.create_task,
                description=request.description,
                type=task_type,
                priority=request.priority or Priority.MEDIUM,
                created_by=created_by,
                scheduled_for=(
                    request.scheduled_for.ToDatetime(tzinfo=now.tzinfo)
                    if request.HasField("scheduled_for")
                    else None
                ),
                steps=steps,
                correlation_id=get_correlation_id() or "",
                trace_context=inject_context(),
                max_attempts=request.max_attempts or self.default_max_attempts,
                now=now,
                request_id=request.request_id,
                request_hash=request_hash,
            )
        except RequestIdReusedError as exc:
            raise InvalidArgument("invalid CreateTask request: request_id",
                                  [FieldViolation("request_id", str(exc))]) from None
        if task.created_at != now:  # an earlier call with this request_id created it
            log.info("task create replayed", taskId=task.id, requestId=request.request_id)
            return tasks_pb2.CreateTaskResponse(task=task_to_proto(task))
        log.info(
            "task created",
            taskId=task.id,
            taskType=task.type,
            priority=Priority.NAMES[task.priority],
            steps=task.step_count,
        )
        return tasks_pb2.CreateTaskResponse(task=task_to_proto(task))

    async def GetTask(
        self, request: tasks_pb2.GetTaskRequest, context: Any
    ) -> tasks_pb2.GetTaskResponse:
        task = await self._get(validate_task_id(request.id, "GetTask"))
        require_owner_or_admin(task.created_by)
        return tasks_pb2.GetTaskResponse(task=task_to_proto(task))

    async def _get(self, task_id: str) -> TaskRecord:
        task = await self._db(self.store.get_task, task_id)
        if task is None:
            raise NotFound(f"task {task_id} not found")
        return task

    async def ListTasks(
        self, request: tasks_pb2.ListTasksRequest, context: Any
    ) -> tasks_pb2.ListTasksResponse:
        page_size = validate_list(request)
        try:
            page = await self._db(
                self.store.list_tasks,
                statuses=[status_name(request.status)] if request.status else [],
                priorities=[request.priority] if request.priority else [],
                created_by=list_owner_filter(request.created_by),
                page_size=page_size,
                page_token=request.page_token,
            )
        except InvalidPageTokenError as exc:
            raise InvalidArgument(
                "invalid ListTasks request: page_token", [FieldViolation("page_token", str(exc))]
            ) from None
        return tasks_pb2.ListTasksResponse(
            tasks=[task_to_proto(t) for t in page.tasks], next_page_token=page.next_page_token
        )

    async def CancelTask(
        self, request: tasks_pb2.CancelTaskRequest, context: Any
    ) -> tasks_pb2.CancelTaskResponse:
        task_id = validate_cancel(request)
        require_owner_or_admin((await self._get(task_id)).created_by)
        try:
            outcome = await self._db(self.store.cancel_task, task_id, reason=request.reason)
        except TaskNotFoundError:
            raise NotFound(f"task {task_id} not found") from None
        except TaskFinishedError as exc:
            raise FailedPrecondition(
                f"task {task_id} is already {exc.status.lower()}: only pending or running "
                "tasks can be cancelled"
            ) from None
        if outcome.cancelled_now:
            self.metrics.record_outcome(outcome.task)
        log.info(
            "task cancelled" if outcome.cancelled_now else "task cancel requested",
            taskId=task_id,
        )
        return tasks_pb2.CancelTaskResponse(task=task_to_proto(outcome.task))

    async def WatchTask(
        self, request: tasks_pb2.WatchTaskRequest, context: Any
    ) -> AsyncIterator[tasks_pb2.WatchTaskResponse]:
        """SNAPSHOT, then every later event in order, until a terminal status.

        We subscribe before reading the snapshot, so a change committed in between wakes us;
        events are always read from the table after the snapshot's sequence number, so
        wake-ups only decide *when* we look, never *what* we send."""
        task_id = validate_task_id(request.id, "WatchTask")
        resume_after = request.after_event_sequence
        async with self.hub.subscribe(task_id) as subscription:
            task = await self._get(task_id)
            require_owner_or_admin(task.created_by)
            if resume_after:
                if not 0 < resume_after <= task.last_event_seq:
                    raise OutOfRange(
                        f"after_event_sequence {resume_after} is not an event of task "
                        f"{task_id} (its events are 1..{task.last_event_seq})")
                if task.terminal and resume_after == task.last_event_seq:
                    return  # the caller saw the end already
                stream_sequence, last_seen = 0, resume_after
            else:
                yield snapshot_to_proto(task)
                if task.terminal:
                    return
                stream_sequence, last_seen = 1, task.last_event_seq
            while True:
                events = await self._db(self.store.events_after, task_id, last_seen)
                if not events:
                    await subscription.wait(self.watch_poll_seconds)
                    continue
                latest = await self._get(task_id)
                for event in events:
                    stream_sequence += 1
                    last_seen = event.sequence
                    yield event_to_proto(event, latest, stream_sequence)
                    if event.status in Status.TERMINAL:
                        return
