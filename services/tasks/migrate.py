"""Alembic migrations, run from code (no alembic.ini): the `database_migrations` start-up
step of both tasks services and `bytebot db upgrade` call `upgrade()`.

Several replicas may start at once: on PostgreSQL the upgrade holds a transaction-scoped
advisory lock, on SQLite the BEGIN IMMEDIATE write lock, so exactly one runs the DDL and the
others then find the schema at head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from services.tasks.db import Database

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
    cfg = alembic_config(db)
    with db.write() as conn:
        if db.is_postgresql:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        return MigrationContext.configure(conn).get_current_revision() or "base"


def downgrade(db: Database, revision: str) -> str:
    cfg = alembic_config(db)
    with db.write() as conn:
        if db.is_postgresql:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        return MigrationContext.configure(conn).get_current_revision() or "base"
