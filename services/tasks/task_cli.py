"""`bytebot task create|get|list|watch|cancel`: the TaskService for people (aligned tables,
a readable task block, `watch` step by step) and for scripts (`--json`).

See services/tasks/cli.py for the synopsis and exit codes. The formatting functions take
protobuf messages and return text, so tests can check them without a server.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import grpc
from bytebot.computer.v1 import action_pb2
from bytebot.tasks.v1 import tasks_pb2, tasks_pb2_grpc
from google.protobuf import json_format, timestamp_pb2

from libs.console import table
from libs.runtime import registry

# from the tasks API's registration (libs.runtime.registry), not written again here
_API = registry.definition("tasks-api")
DEFAULT_TARGET = _API.grpc_target()
TARGET_ENV = _API.address_variable
# How long `task watch` keeps trying to resume a stream the API broke.
WATCH_RESUME_SECONDS = 60.0
ERROR_WIDTH = 60  # `list` cuts longer errors (`get` shows them whole)

T = tasks_pb2
TERMINAL = frozenset({T.TASK_STATUS_COMPLETED, T.TASK_STATUS_FAILED, T.TASK_STATUS_CANCELLED})
LIST_COLUMNS = ("id", "status", "priority", "type", "created_by", "created", "steps", "error")


# ---- formatting ---------------------------------------------------------------------------


def enum_word(enum_type: Any, value: int, prefix: str) -> str:
    """TASK_STATUS_RUNNING → RUNNING (an unknown number stays visible as such)."""
    try:
        return str(enum_type.Name(value)).removeprefix(prefix)
    except ValueError:
        return str(value)


def status_word(value: int) -> str:
    return enum_word(T.TaskStatus, value, "TASK_STATUS_")


def when(ts: timestamp_pb2.Timestamp, *, seconds_only: bool = True) -> str:
    """A timestamp in UTC, '' when unset."""
    if not ts.seconds and not ts.nanos:
        return ""
    moment = ts.ToDatetime(tzinfo=UTC)
    if seconds_only:
        return moment.strftime("%Y-%m-%d %H:%M:%SZ")
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def clock(ts: timestamp_pb2.Timestamp) -> str:
    """HH:MM:SS.mmm (UTC) of an event."""
    moment = ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else datetime.now(UTC)
    return moment.strftime("%H:%M:%S.%f")[:-3]


def seconds_between(start: timestamp_pb2.Timestamp, end: timestamp_pb2.Timestamp) -> float | None:
    if not (start.seconds or start.nanos) or not (end.seconds or end.nanos):
        return None
    return max(0.0, (end.ToNanoseconds() - start.ToNanoseconds()) / 1e9)


def action_label(action: action_pb2.Action) -> str:
    """The step's action name, with its label when it has one: `click_text "Submit"`."""
    kind = action.WhichOneof("action") or "?"
    return f'{kind} "{action.name}"' if action.name else kind


def steps_done(task: tasks_pb2.Task) -> str:
    finished = sum(
        1 for r in task.step_results if r.status == T.STEP_STATUS_SUCCEEDED
    )
    return f"{finished}/{len(task.steps)}"


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def list_rows(tasks: Iterable[tasks_pb2.Task]) -> list[dict[str, str]]:
    return [
        {
            "id": task.id,
            "status": status_word(task.status),
            "priority": enum_word(T.TaskPriority, task.priority, "TASK_PRIORITY_"),
            "type": enum_word(T.TaskType, task.type, "TASK_TYPE_"),
            "created_by": task.created_by or "-",
            "created": when(task.created_at),
            "steps": steps_done(task),
            "error": one_line(task.error, ERROR_WIDTH),
        }
        for task in tasks
    ]


def render_list(response: tasks_pb2.ListTasksResponse) -> str:
    if not response.tasks:
        return "no tasks"
    text = table.render(list_rows(response.tasks), LIST_COLUMNS)
    if response.next_page_token:
        text += f"\nmore: --page-token {response.next_page_token}"
    return text


def render_task(task: tasks_pb2.Task) -> str:
    """`task get`: the task's fields as aligned `key  value` lines, then its steps."""
    status = status_word(task.status)
    if task.attempts:
        status += f" (attempt {task.attempts} of {task.max_attempts})"
    if task.cancel_requested and task.status not in TERMINAL:
        status += ", cancel requested"
    took = seconds_between(task.executed_at, task.completed_at)
    fields = [
        ("task", task.id),
        ("description", task.description),
        ("status", status),
        ("priority", enum_word(T.TaskPriority, task.priority, "TASK_PRIORITY_")),
        ("type", enum_word(T.TaskType, task.type, "TASK_TYPE_")),
        ("created", " by ".join(x for x in (when(task.created_at), task.created_by) if x)),
        ("scheduled for", when(task.scheduled_for)),
        ("queued", when(task.queued_at)),
        ("started", when(task.executed_at)),
        ("finished", when(task.completed_at) + (f" ({table.duration(took)})" if took else "")),
        ("correlation id", task.correlation_id),
        ("error", task.error),
        ("result", task.result),
    ]
    shown = [(k, v) for k, v in fields if v]
    width = max(len(k) for k, _ in shown)
    lines = [f"{k.ljust(width)}  {v}" for k, v in shown]
    if task.steps:
        lines += ["", f"steps ({steps_done(task)} succeeded):"]
        rows = []
        for i, action in enumerate(task.steps):
            result = task.step_results[i] if i < len(task.step_results) else T.StepResult()
            took = seconds_between(result.started_at, result.finished_at)
            rows.append(
                {
                    "#": str(i + 1),
                    "action": action_label(action),
                    "status": enum_word(T.StepStatus, result.status, "STEP_STATUS_"),
                    "attempts": str(result.attempts or ""),
                    "duration": table.duration(took) if took is not None else "",
                    "detail": result.error or step_detail(result),
                }
            )
        columns = ("#", "action", "status", "attempts", "duration", "detail")
        lines += ["  " + line for line in table.render(rows, columns).splitlines()]
    return "\n".join(lines)


def step_detail(result: tasks_pb2.StepResult) -> str:
    """What a step produced, briefly (the point it found or clicked, a screenshot's size)."""
    if not result.HasField("output"):
        return ""
    out = result.output
    parts = []
    if out.HasField("point"):
        parts.append(f"at ({out.point.x}, {out.point.y})")
    if out.HasField("screenshot"):
        shot = out.screenshot
        parts.append(f"screenshot {shot.width}x{shot.height}, {shot.size_bytes} bytes")
    if out.text:
        parts.append(one_line(out.text, 40))
    return "; ".join(parts)


def event_line(event: tasks_pb2.WatchTaskResponse) -> str:
    """`task watch`: time, event type, step i/n + action, task status, message."""
    task = event.task
    kind = enum_word(T.TaskEventType, event.type, "TASK_EVENT_TYPE_")
    step = "-"
    if 0 <= event.step_index < len(task.steps):
        action = action_label(task.steps[event.step_index])
        step = f"step {event.step_index + 1}/{len(task.steps)} {action}"
    message = event.message
    if event.type == T.TASK_EVENT_TYPE_SNAPSHOT:
        message = message or f"{steps_done(task)} steps done"
    columns = [clock(event.time), kind.ljust(16), step.ljust(28), status_word(task.status).ljust(9)]
    return "  ".join([*columns, one_line(message, 200)]).rstrip()


def to_json(message: Any) -> str:
    return json_format.MessageToJson(message, indent=None)


# ---- commands ------------------------------------------------------------------------------


def target(args: argparse.Namespace) -> str:
    return getattr(args, "target", None) or os.environ.get(TARGET_ENV) or DEFAULT_TARGET


def _stub(args: argparse.Namespace, *, streaming: bool = False) -> Any:
    from libs.runtime.client import create_sync_channel
    from libs.stack.client import cli_security

    timeout = None if streaming else getattr(args, "timeout", 10.0)
    # BYTEBOT_CLIENT_TOKEN_FILE / TLS settings (libs.security, issue 9)
    channel = create_sync_channel(target(args), default_timeout=timeout, security=cli_security())
    return tasks_pb2_grpc.TaskServiceStub(channel)


def _enum(enum_type: Any, prefix: str, word: str | None) -> int:
    if not word:
        return 0
    try:
        return int(enum_type.Value(prefix + word.upper()))
    except ValueError:
        names = [n.removeprefix(prefix).lower() for n in enum_type.keys()][1:]
        raise SystemExit(f"bytebot: error: {word!r} is not one of {', '.join(names)}") from None


def _failed(args: argparse.Namespace, err: grpc.RpcError) -> int:
    from libs.status.errors import field_violations

    code = err.code()
    print(f"bytebot: tasks API at {target(args)}: {code.name}: {err.details()}", file=sys.stderr)
    for violation in field_violations(err):
        print(f"  {violation.field}: {violation.description}", file=sys.stderr)
    if code == grpc.StatusCode.UNAVAILABLE:
        print("  (is the tasks API running? `bytebot up`, or set --target)", file=sys.stderr)
        return 3
    return 2 if code == grpc.StatusCode.INVALID_ARGUMENT else 1


def _out(text: str) -> None:
    print(text, flush=True)


def _create(args: argparse.Namespace) -> int:
    request = T.CreateTaskRequest(
        description=args.description or "",
        priority=_enum(T.TaskPriority, "TASK_PRIORITY_", args.priority),
        created_by=args.created_by or "",
        max_attempts=args.max_attempts or 0,
        # Always a key: the channel retries UNAVAILABLE, and a retry must not make a second
        # task if the first attempt was written.
        request_id=args.request_id or str(uuid.uuid4()),
    )
    for step in args.step or []:
        try:
            request.steps.append(json_format.Parse(step, action_pb2.Action()))
        except json_format.ParseError as exc:
            raise SystemExit(f"bytebot: error: --step {step!r}: {exc}") from None
    if args.scheduled_for:
        try:
            moment = datetime.fromisoformat(args.scheduled_for.replace("Z", "+00:00"))
        except ValueError:
            raise SystemExit(
                f"bytebot: error: --scheduled-for {args.scheduled_for!r}: expected ISO 8601, "
                "e.g. 2030-01-01T09:00:00Z"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        request.type = T.TASK_TYPE_SCHEDULED
        request.scheduled_for.FromDatetime(moment)
    task = _stub(args).CreateTask(request).task
    _out(to_json(task) if args.json else render_task(task))
    return 0


def _get(args: argparse.Namespace) -> int:
    task = _stub(args).GetTask(T.GetTaskRequest(id=args.id)).task
    _out(to_json(task) if args.json else render_task(task))
    return 0


def _list(args: argparse.Namespace) -> int:
    request = T.ListTasksRequest(
        status=_enum(T.TaskStatus, "TASK_STATUS_", args.status),
        priority=_enum(T.TaskPriority, "TASK_PRIORITY_", args.priority),
        created_by=args.created_by or "",
        page_size=args.limit,
        page_token=args.page_token or "",
    )
    response = _stub(args).ListTasks(request)
    _out(to_json(response) if args.json else render_list(response))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    task = _stub(args).CancelTask(T.CancelTaskRequest(id=args.id, reason=args.reason or "")).task
    if args.json:
        _out(to_json(task))
    else:
        if task.status == T.TASK_STATUS_CANCELLED:
            _out(f"task {task.id} cancelled")
        else:
            _out(f"task {task.id}: cancel requested; its worker stops before the next step")
        _out(render_task(task))
    return 0


def _watch(args: argparse.Namespace) -> int:
    stub = _stub(args, streaming=True)
    last: tasks_pb2.Task | None = None
    after = 0  # the task's last event shown: where a broken stream resumes
    broken_since: float | None = None
    delay = 0.2
    while True:
        try:
            for event in stub.WatchTask(T.WatchTaskRequest(id=args.id,
                                                           after_event_sequence=after)):
                last, after, broken_since, delay = event.task, event.event_sequence, None, 0.2
                _out(to_json(event) if args.json else event_line(event))
            break
        except grpc.RpcError as err:
            # The API went away mid-watch (a restart, a rolling update): resume after the
            # last event shown, so nothing is missed or shown twice, for up to a while.
            if err.code() != grpc.StatusCode.UNAVAILABLE or not after:
                raise
            broken_since = broken_since or time.monotonic()
            if time.monotonic() - broken_since > WATCH_RESUME_SECONDS:
                raise
            print(f"bytebot: watch interrupted ({err.details()}); resuming after event {after}",
                  file=sys.stderr, flush=True)
            time.sleep(delay)
            delay = min(2.0, delay * 2)
    if last is None or last.status not in TERMINAL:
        print("bytebot: the watch ended before the task finished", file=sys.stderr)
        return 3
    if not args.json and last.error:
        _out(f"error: {last.error}")
    return 0 if last.status == T.TASK_STATUS_COMPLETED else 1


def _run(func: Any) -> Any:
    def command(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except grpc.RpcError as err:
            return _failed(args, err)

    return command


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--target/--json/--timeout, accepted before and after the command name (below the
    command they default to SUPPRESS, so they never undo what was given before it)."""
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--target",
        "--address",
        dest="target",
        default=default,
        help=f"TaskService HOST:PORT (default ${TARGET_ENV}, else {DEFAULT_TARGET})",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="machine output: the API's messages as JSON (watch: one per line)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0 if top else argparse.SUPPRESS,
        help="seconds to wait for an answer (not for `watch`) (default 10)",
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("task", help="create, get, list, cancel and watch tasks")
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="task_command", metavar="COMMAND")
    commands.required = True

    create = commands.add_parser("create", help="create a task")
    create.add_argument("--description")
    create.add_argument("--step", action="append", help="an Action as JSON (repeatable)")
    create.add_argument("--priority", help="low, medium, high, urgent")
    create.add_argument("--scheduled-for", help="ISO 8601 time: makes the task SCHEDULED")
    create.add_argument("--created-by")
    create.add_argument("--max-attempts", type=int)
    create.add_argument("--request-id", help="idempotency key (default: a new UUID); the same "
                        "key again returns the task it created")
    create.set_defaults(func=_run(_create))

    for name, func, help_text in (
        ("get", _get, "show a task and its steps"),
        ("cancel", _cancel, "cancel a pending or running task"),
        ("watch", _watch, "follow a task event by event until it finishes"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("id")
        if name == "cancel":
            sub.add_argument("--reason")
        sub.set_defaults(func=_run(func))

    listing = commands.add_parser("list", help="list tasks, newest first")
    listing.add_argument("--status", help="pending, running, completed, failed, cancelled, …")
    listing.add_argument("--priority", help="low, medium, high, urgent")
    listing.add_argument("--created-by")
    listing.add_argument(
        "--limit", "--page-size", dest="limit", type=int, default=0,
        help="tasks per page (default 50)",
    )
    listing.add_argument("--page-token", help="the token printed after the previous page")
    listing.set_defaults(func=_run(_list))

    for sub in commands.choices.values():
        _common(sub, top=False)
