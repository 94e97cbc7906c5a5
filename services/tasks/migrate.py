"""Alembic migrations, run from code (no alembic.ini): the `database_migrations` start-up
step of both tasks services and `bytebot db upgrade` call `upgrade()`.

Several replicas may start at once: on PostgreSQL the upgrade holds a transaction-scoped
advisory lock, on SQLite the BEGIN IMMEDIATE write lock, so exactly one runs the DDL and the
others then find the schema at head.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from libs.observability.logging import get_logger
from services.tasks.db import Database

log = get_logger(__name__)
_SQLITE_LOCK_RETRIES = 5

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Arbitrary but fixed: "bytebot tasks migrations" for pg_advisory_xact_lock.
_ADVISORY_LOCK_KEY = 0x6279_7465_626F_7401 & 0x7FFF_FFFF_FFFF_FFFF


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Only used when alembic itself opens a connection (offline SQL rendering); `%` escaped
    # because Config values are interpolated.
    url = db.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision(db: Database) -> str:
    script = ScriptDirectory.from_config(alembic_config(db))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> str:
    """Bring the schema to `revision`; returns the revision the database is at."""
    return _run(db, command.upgrade, revision)


def downgrade(db: Database, revision: str) -> str:
    return _run(db, command.downgrade, revision)


def _run(db: Database, alembic_command: Callable[[Config, str], None], revision: str) -> str:
    for attempt in range(_SQLITE_LOCK_RETRIES):
        try:
            return _run_once(db, alembic_command, revision)
        except OperationalError as exc:
            # SQLite answers some lock conflicts at once, without its busy handler (a WAL
            # database being created or recovered by another connection: SQLITE_BUSY_RECOVERY);
            # replicas starting together can meet one. The lock is gone a moment later.
            if not (db.is_sqlite and "locked" in str(exc)):
                raise
            log.warning("migration met a locked SQLite database; retrying", attempt=attempt + 1)
            time.sleep(0.05 * 2**attempt)
    return _run_once(db, alembic_command, revision)  # the last try: its error is the caller's


def _run_once(db: Database, alembic_command: Callable[[Config, str], None], revision: str) -> str:
    cfg = alembic_config(db)
    with db.write() as conn:
        if db.is_postgresql:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        cfg.attributes["connection"] = conn
        alembic_command(cfg, revision)
        return MigrationContext.configure(conn).get_current_revision() or "base"
