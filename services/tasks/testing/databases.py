"""Throw-away databases for the task tests and benchmarks.

SQLite: a file in a temporary directory. PostgreSQL: a uniquely named schema in the server of
`BYTEBOT_TEST_POSTGRES_URL` (default the local `test` database), selected through the
connection's `search_path` and dropped afterwards, so concurrent runs never see each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> URL:
    return make_url(os.environ.get("BYTEBOT_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL))


def libpq_conninfo(url: URL) -> str:
    """A SQLAlchemy URL as a libpq URI psycopg accepts (driver suffix removed)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_unavailable_reason() -> str | None:
    try:
        with psycopg.connect(libpq_conninfo(postgres_base_url()), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {postgres_base_url().render_as_string()} unreachable: {exc}"


@contextmanager
def temporary_postgres_schema(prefix: str = "bt_tasks") -> Iterator[str]:
    """Yields a database URL whose connections use a fresh schema; drops it on exit."""
    base = postgres_base_url()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = libpq_conninfo(base)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'bytebot-tasks.db'}"
