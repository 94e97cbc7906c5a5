"""Fixtures: a migrated task database on SQLite and on PostgreSQL (parametrized)."""

from services.tasks.testing.fixtures import (  # noqa: F401 - pytest fixtures
    database_url,
    db,
    postgres_url,
    queue,
    store,
)
