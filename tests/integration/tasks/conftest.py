"""Fixtures: a migrated task database on SQLite and on PostgreSQL (parametrized), and one
real computer service (on its own Xvfb) shared by every test of the session that needs it."""

import shutil
from collections.abc import Iterator

import pytest

from services.tasks.testing.fixtures import (  # noqa: F401 - pytest fixtures
    database_url,
    db,
    postgres_url,
    queue,
    store,
)
from services.tasks.testing.processes import ServiceProcess


@pytest.fixture(scope="session")
def computer() -> Iterator[ServiceProcess]:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    proc = ServiceProcess("computer", {}, env={"DISPLAY": ""})
    proc.env.pop("DISPLAY", None)
    proc.start(timeout=60)
    yield proc
    proc.stop()
