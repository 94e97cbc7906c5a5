"""`bytebot db …` and `bytebot task …` (registered in libs/runtime/cli.py SUBCOMMANDS).

    bytebot db upgrade [--database-url URL]      # run the migrations (what start-up does)
    bytebot db current                           # the schema revision of the database
    bytebot db downgrade REVISION                # e.g. base (drops the task tables)

    bytebot task create --description "…" [--step '{"wait": {"duration": "1s"}}' …]
                        [--priority urgent] [--scheduled-for 2030-01-01T00:00:00Z]
    bytebot task list [--status running] [--priority high] [--created-by alice] [--limit 50]
    bytebot task get ID          # the task as a readable block, with a table of its steps
    bytebot task watch ID        # one line per event until the task finishes
    bytebot task cancel ID [--reason …]

Every `task` command takes --target HOST:PORT (alias --address; else $BYTEBOT_TASKS_ADDRESS,
else 127.0.0.1:50051) and --json (machine output: the API's messages as JSON, one object
per line for `watch`), before or after the command name. Exit codes: 0 success (`watch`:
the task COMPLETED); 1 the task FAILED or was CANCELLED (`watch`), or the API refused
(NOT_FOUND, FAILED_PRECONDITION, …); 2 invalid input; 3 the API cannot be reached.

The database URL of `db` defaults like the services' (BYTEBOT_DATABASE_URL, else the SQLite
file).
"""

from __future__ import annotations

import argparse
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


def register_task(subparsers: Any) -> None:
    from services.tasks import task_cli

    task_cli.register(subparsers)
