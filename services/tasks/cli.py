"""`bytebot db …` and `bytebot task …` (registered in libs/runtime/cli.py SUBCOMMANDS).

    bytebot db upgrade [--database-url URL]      # run the migrations (what start-up does)
    bytebot db current                           # the schema revision of the database
    bytebot db downgrade REVISION                # e.g. base (drops the task tables)

    bytebot task create --description "…" [--step '{"wait": {"duration": "1s"}}' …]
                        [--priority urgent] [--scheduled-for 2030-01-01T00:00:00Z]
    bytebot task get ID | list [--status running] | cancel ID [--reason …] | watch ID

The database URL defaults like the services' (BYTEBOT_DATABASE_URL, else the SQLite file);
the API address is --address, else BYTEBOT_TASKS_ADDRESS, else 127.0.0.1:50051. Output is
JSON (one object per line for `watch`).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from typing import Any

from libs.runtime.config import load_settings


def _database(args: argparse.Namespace) -> Any:
    from services.tasks.config import TasksSettings
    from services.tasks.db import Database

    overrides = {"database_url": args.database_url} if args.database_url else {}
    settings = load_settings(TasksSettings, overrides)
    return Database(settings.database_url, pool_size=1, max_overflow=0)


def _db_upgrade(args: argparse.Namespace) -> int:
    from services.tasks import migrate
    from services.tasks.db import describe_url

    db = _database(args)
    try:
        revision = migrate.upgrade(db, args.revision)
        print(f"database {describe_url(db.url)} at revision {revision}")
    finally:
        db.close()
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from services.tasks import migrate
    from services.tasks.db import describe_url

    db = _database(args)
    try:
        revision = migrate.downgrade(db, args.revision)
        print(f"database {describe_url(db.url)} at revision {revision}")
    finally:
        db.close()
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from services.tasks import migrate
    from services.tasks.db import describe_url

    db = _database(args)
    try:
        current = migrate.current_revision(db) or "base (empty)"
        head = migrate.head_revision(db)
        state = "up to date" if current == head else f"head is {head}: run `bytebot db upgrade`"
        print(f"database {describe_url(db.url)} at revision {current} ({state})")
    finally:
        db.close()
    return 0 if current == head else 1


def register_db(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="task database: migrations")
    commands = parser.add_subparsers(dest="db_command", metavar="COMMAND")
    commands.required = True
    for name, func, help_text in (
        ("upgrade", _db_upgrade, "migrate the schema to the newest revision (or --revision)"),
        ("downgrade", _db_downgrade, "migrate the schema down to REVISION (base = empty)"),
        ("current", _db_current, "show the schema revision; exit 1 if not the newest"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--database-url", help="SQLAlchemy URL (default: BYTEBOT_DATABASE_URL)")
        if name == "upgrade":
            sub.add_argument("--revision", default="head")
        elif name == "downgrade":
            sub.add_argument("revision")
        sub.set_defaults(func=func)


# --- bytebot task ---------------------------------------------------------------------------


def _stub(args: argparse.Namespace) -> Any:
    import grpc
    from bytebot.tasks.v1 import tasks_pb2_grpc

    address = args.address or os.environ.get("BYTEBOT_TASKS_ADDRESS", "127.0.0.1:50051")
    return tasks_pb2_grpc.TaskServiceStub(grpc.insecure_channel(address))


def _print(message: Any) -> None:
    from google.protobuf import json_format

    print(json_format.MessageToJson(message, indent=None), flush=True)


def _call(args: argparse.Namespace, fn: Any) -> int:
    import grpc

    from libs.observability.errors import field_violations

    try:
        return fn(_stub(args)) or 0
    except grpc.RpcError as err:
        print(f"bytebot: {err.code().name}: {err.details()}", file=sys.stderr)
        for violation in field_violations(err):
            print(f"  {violation.field}: {violation.description}", file=sys.stderr)
        return 1


def _enum(enum_type: Any, prefix: str, word: str | None) -> int:
    if not word:
        return 0
    try:
        return int(enum_type.Value(prefix + word.upper()))
    except ValueError:
        names = [n.removeprefix(prefix).lower() for n in enum_type.keys()][1:]
        raise SystemExit(f"bytebot: error: {word!r} is not one of {', '.join(names)}") from None


def _task_create(args: argparse.Namespace) -> int:
    from bytebot.computer.v1 import action_pb2
    from bytebot.tasks.v1 import tasks_pb2
    from google.protobuf import json_format

    request = tasks_pb2.CreateTaskRequest(
        description=args.description or "",
        priority=_enum(tasks_pb2.TaskPriority, "TASK_PRIORITY_", args.priority),
        created_by=args.created_by or "",
        max_attempts=args.max_attempts or 0,
    )
    for step in args.step or []:
        try:
            request.steps.append(json_format.Parse(step, action_pb2.Action()))
        except json_format.ParseError as exc:
            raise SystemExit(f"bytebot: error: --step {step!r}: {exc}") from None
    if args.scheduled_for:
        when = datetime.fromisoformat(args.scheduled_for.replace("Z", "+00:00"))
        request.type = tasks_pb2.TASK_TYPE_SCHEDULED
        request.scheduled_for.FromDatetime(when)
    return _call(args, lambda stub: _print(stub.CreateTask(request).task))


def _task_get(args: argparse.Namespace) -> int:
    from bytebot.tasks.v1 import tasks_pb2

    return _call(args, lambda stub: _print(stub.GetTask(tasks_pb2.GetTaskRequest(id=args.id)).task))


def _task_list(args: argparse.Namespace) -> int:
    from bytebot.tasks.v1 import tasks_pb2

    request = tasks_pb2.ListTasksRequest(
        status=_enum(tasks_pb2.TaskStatus, "TASK_STATUS_", args.status),
        priority=_enum(tasks_pb2.TaskPriority, "TASK_PRIORITY_", args.priority),
        created_by=args.created_by or "",
        page_size=args.page_size,
        page_token=args.page_token or "",
    )
    return _call(args, lambda stub: _print(stub.ListTasks(request)))


def _task_cancel(args: argparse.Namespace) -> int:
    from bytebot.tasks.v1 import tasks_pb2

    request = tasks_pb2.CancelTaskRequest(id=args.id, reason=args.reason or "")
    return _call(args, lambda stub: _print(stub.CancelTask(request).task))


def _task_watch(args: argparse.Namespace) -> int:
    from bytebot.tasks.v1 import tasks_pb2

    def watch(stub: Any) -> int:
        for event in stub.WatchTask(tasks_pb2.WatchTaskRequest(id=args.id)):
            _print(event)
        return 0

    return _call(args, watch)


def register_task(subparsers: Any) -> None:
    parser = subparsers.add_parser("task", help="create, get, list, cancel and watch tasks")
    parser.add_argument("--address", help="TaskService address (default 127.0.0.1:50051)")
    commands = parser.add_subparsers(dest="task_command", metavar="COMMAND")
    commands.required = True

    create = commands.add_parser("create", help="create a task")
    create.add_argument("--description")
    create.add_argument("--step", action="append", help="an Action as JSON (repeatable)")
    create.add_argument("--priority", help="low, medium, high, urgent")
    create.add_argument("--scheduled-for", help="ISO 8601 time: makes the task SCHEDULED")
    create.add_argument("--created-by")
    create.add_argument("--max-attempts", type=int)
    create.set_defaults(func=_task_create)

    for name, func in (("get", _task_get), ("cancel", _task_cancel), ("watch", _task_watch)):
        sub = commands.add_parser(name, help=f"{name} a task")
        sub.add_argument("id")
        if name == "cancel":
            sub.add_argument("--reason")
        sub.set_defaults(func=func)

    listing = commands.add_parser("list", help="list tasks, newest first")
    listing.add_argument("--status")
    listing.add_argument("--priority")
    listing.add_argument("--created-by")
    listing.add_argument("--page-size", type=int, default=0)
    listing.add_argument("--page-token")
    listing.set_defaults(func=_task_list)
