"""bytebot_database_query_duration_seconds: every SQL statement the store runs is timed,
labelled by its verb (a bounded set), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.tasks.db import Database
from services.tasks.metrics import QUERY_OPERATIONS, instrument_queries, query_operation
from services.tasks.queue import TaskQueue
from services.tasks.store import TaskStore

METRIC = "bytebot_database_query_duration_seconds"


def count(registry: CollectorRegistry, operation: str) -> float:
    return registry.get_sample_value(f"{METRIC}_count", {"operation": operation}) or 0.0


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("SELECT 1", "select"),
        ("  select tasks.id FROM tasks", "select"),
        ("INSERT INTO tasks …", "insert"),
        ("\nUPDATE tasks SET …", "update"),
        ("DELETE FROM tasks", "delete"),
        ("BEGIN IMMEDIATE", "other"),
        ("PRAGMA foreign_keys = ON", "other"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "other"),
        ("", "other"),
        ("selected", "other"),
    ],
)
def test_operation_label_is_the_statement_verb(statement: str, operation: str) -> None:
    assert query_operation(statement) == operation


def test_store_and_queue_statements_are_timed_by_operation(db: Database) -> None:
    registry = CollectorRegistry()
    instrument_queries(registry, db.engine)
    # Every label value exists from the start (a dashboard sees 0, not "no data").
    assert {op: count(registry, op) for op in QUERY_OPERATIONS} == dict.fromkeys(
        QUERY_OPERATIONS, 0.0
    )
    store = TaskStore(db)
    queue = TaskQueue(store, retry_backoff_seconds=0)

    task = store.create_task(description="timed")
    assert count(registry, "insert") == 2  # the task row and its CREATED event
    selects = count(registry, "select")
    assert store.get_task(task.id) is not None
    assert count(registry, "select") == selects + 2  # the task, then its steps
    claim = queue.claim("w-metrics")
    assert claim is not None
    queue.complete(claim)
    assert count(registry, "update") >= 3  # claim, attempt close, completion
    if db.is_sqlite:
        assert count(registry, "other") > 0  # our explicit BEGIN IMMEDIATE / DEFERRED

    total = sum(count(registry, op) for op in QUERY_OPERATIONS)
    seconds = sum(
        registry.get_sample_value(f"{METRIC}_sum", {"operation": op}) or 0.0
        for op in QUERY_OPERATIONS
    )
    assert 0 < seconds < total * 5  # real, positive durations (none absurd)
    label_sets = {
        tuple(sorted(s.labels.items()))
        for metric in registry.collect()
        for s in metric.samples
        if s.name == f"{METRIC}_count"
    }
    assert label_sets == {(("operation", op),) for op in QUERY_OPERATIONS}


def test_a_failing_statement_is_timed_too(db: Database) -> None:
    registry = CollectorRegistry()
    instrument_queries(registry, db.engine)
    with pytest.raises(DBAPIError), db.read() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert count(registry, "select") == 1
