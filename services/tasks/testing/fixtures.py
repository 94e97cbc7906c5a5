"""pytest fixtures shared by the task tests: a migrated database on SQLite and on PostgreSQL
(parametrized), the store and the queue over it. Import them into a conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.tasks import migrate
from services.tasks.db import Database
from services.tasks.queue import TaskQueue
from services.tasks.store import TaskStore
from services.tasks.testing.databases import (
    postgres_unavailable_reason,
    sqlite_url,
    temporary_postgres_schema,
)


def require_postgres() -> None:
    """Skip when the test PostgreSQL is unreachable; fail instead when it must be there:
    BYTEBOT_TEST_POSTGRES_REQUIRED=1 (tools/dev.sh sets it in CI), or CI=true itself, so a
    CI run never passes with the PostgreSQL half silently skipped."""
    reason = postgres_unavailable_reason()
    if reason:
        required = os.environ.get("BYTEBOT_TEST_POSTGRES_REQUIRED")
        if required == "1" or (required != "0" and os.environ.get("CI") == "true"):
            pytest.fail(f"{reason} (PostgreSQL is required here: CI / "
                        "BYTEBOT_TEST_POSTGRES_REQUIRED=1)")
        pytest.skip(reason)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    require_postgres()
    with temporary_postgres_schema() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    require_postgres()
    with temporary_postgres_schema() as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database)
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> TaskStore:
    return TaskStore(db)


@pytest.fixture
def queue(store: TaskStore) -> TaskQueue:
    return TaskQueue(store, lease_seconds=30, retry_backoff_seconds=0)
