"""CreateTask's `request_id`: a retried create returns the first call's task, on SQLite and
PostgreSQL, through the gRPC API (and through the store, for callers racing on one key)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from bytebot.tasks.v1 import tasks_pb2
from sqlalchemy import func, select

from services.tasks.schema import tasks
from services.tasks.store import RequestIdReusedError, TaskStore
from tests.integration.tasks.api_client import run_api, violations_of, wait_step

T = tasks_pb2


def _count(store: TaskStore) -> int:
    with store.db.read() as conn:
        return conn.execute(select(func.count()).select_from(tasks)).scalar_one()


def test_a_retried_create_returns_the_first_task(database_url: str) -> None:
    async def test(stub: Any, svc: Any) -> None:
        alice = (("x-user-id", "alice"),)
        request = T.CreateTaskRequest(description="send the report", steps=[wait_step(1)],
                                      request_id="3b0c2f9e-retry-1")
        first = (await stub.CreateTask(request, metadata=alice)).task
        again = (await stub.CreateTask(request, metadata=alice)).task
        assert again.id == first.id
        assert again.created_at == first.created_at
        listed = (await stub.ListTasks(T.ListTasksRequest(), metadata=alice)).tasks
        assert [t.id for t in listed] == [first.id]

        # The same key from another user is that user's own key: a second task.
        bob = (await stub.CreateTask(request, metadata=(("x-user-id", "bob"),))).task
        assert bob.id != first.id

        # No key: every call creates a task.
        plain = T.CreateTaskRequest(description="send the report")
        a = (await stub.CreateTask(plain, metadata=alice)).task
        b = (await stub.CreateTask(plain, metadata=alice)).task
        assert a.id != b.id

    run_api(database_url, test)


def test_a_key_reused_for_another_request_is_invalid_argument(database_url: str) -> None:
    async def test(stub: Any, svc: Any) -> None:
        alice = (("x-user-id", "alice"),)
        first = (await stub.CreateTask(
            T.CreateTaskRequest(description="one", request_id="k-1"), metadata=alice)).task
        code, fields = await violations_of(stub.CreateTask(
            T.CreateTaskRequest(description="two", request_id="k-1"), metadata=alice))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert first.id in fields["request_id"] and "different request" in fields["request_id"]

    run_api(database_url, test)


@pytest.mark.parametrize("request_id", ["has space", "x" * 65, "semi;colon", "ünïcode"])
def test_malformed_keys_are_invalid_argument(tmp_path: Any, request_id: str) -> None:
    async def test(stub: Any, svc: Any) -> None:
        code, fields = await violations_of(stub.CreateTask(
            T.CreateTaskRequest(description="d", request_id=request_id)))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "request_id" in fields

    run_api(f"sqlite:///{tmp_path}/tasks.db", test)


def test_concurrent_creates_with_one_key_make_one_task(store: TaskStore) -> None:
    """Eight callers race on one key (on PostgreSQL the unique index decides; on SQLite the
    write lock): all get the same task, and one row exists."""

    def create(_: int) -> str:
        return store.create_task(description="race", created_by="alice",
                                 request_id="race-key", request_hash="h1").id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(create, range(8)))
    assert len(ids) == 1
    assert _count(store) == 1
    with pytest.raises(RequestIdReusedError):
        store.create_task(description="race", created_by="alice", request_id="race-key",
                          request_hash="h2")
