"""Database handle and migrations: schema, pragmas, pool gauge, concurrent upgrades."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from services.tasks import migrate
from services.tasks.db import Database, default_sqlite_path, resolve_database_url
from services.tasks.schema import metadata


def test_migrated_schema_matches_the_code(db: Database) -> None:
    with db.read() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []
    assert migrate.current_revision(db) == migrate.head_revision(db)


def test_downgrade_and_upgrade_round_trip(db: Database) -> None:
    assert migrate.downgrade(db, "base") == "base"
    with db.read() as conn:
        assert "tasks" not in inspect(conn).get_table_names()
    assert migrate.upgrade(db) == migrate.head_revision(db)
    assert migrate.upgrade(db) == migrate.head_revision(db)  # idempotent


def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(3)]
    errors: list[BaseException] = []

    def run(d: Database) -> None:
        try:
            migrate.upgrade(d)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in databases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert migrate.current_revision(databases[0]) == migrate.head_revision(databases[0])
    for d in databases:
        d.close()


def test_ping_is_a_real_query_and_the_gauge_counts_open_connections(
    db: Database, database_url: str
) -> None:
    fresh = Database(database_url)
    assert fresh.open_connections() == 0  # nothing connected yet
    fresh.ping()
    assert fresh.open_connections() == 1  # one connection, idle in the pool
    fresh.close()
    assert fresh.open_connections() == 0
    assert db.ping() >= 0
    assert db.open_connections() >= 1
    with db.engine.connect() as _a, db.engine.connect() as _b:
        assert db.open_connections() >= 2


def test_unreachable_database_reads_zero_connections() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/none", connect_timeout_seconds=1)
    with pytest.raises(Exception, match=r"(?i)connect"):
        db.ping()
    assert db.open_connections() == 0
    db.close()


def test_schema_missing_fails_the_ping(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(Exception, match="no such table"):
        db.ping()
    db.close()


def test_sqlite_file_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    db.close()


def test_default_database_is_a_sqlite_file_under_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_sqlite_path() == tmp_path / "bytebot" / "bytebot.db"
    url = resolve_database_url(None)
    assert url.get_backend_name() == "sqlite" and url.database == str(default_sqlite_path())
    assert (tmp_path / "bytebot").is_dir()


def test_urls_are_normalised_and_memory_sqlite_refused() -> None:
    assert resolve_database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ValueError, match="in-memory"):
        resolve_database_url("sqlite://")
    with pytest.raises(ValueError, match="unsupported"):
        Database("mysql://u@h/db")
