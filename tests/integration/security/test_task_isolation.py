"""Per-user isolation on the real tasks API with token auth (issue 9, item 2): users see,
watch and cancel only their own tasks; an admin sees all; `created_by` is the caller's
identity, never what the client claims."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from bytebot.tasks.v1 import tasks_pb2 as T
from bytebot.tasks.v1 import tasks_pb2_grpc

from libs.runtime.server import start_service
from services.tasks.main import API_ENTRY
from tests.integration.security.material import bearer, write_tokens_file

DENIED = grpc.StatusCode.PERMISSION_DENIED


async def code_of(call: Any) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def token_auth_api(tmp_path: Any) -> dict[str, Any]:
    """Settings of a tasks API on its own SQLite file with the test tokens."""
    return {
        "database_url": f"sqlite:///{tmp_path / 'tasks.db'}",
        "auth_mode": "token",
        "tokens_file": str(write_tokens_file(tmp_path / "tokens")),
    }


def test_users_only_reach_their_own_tasks_and_admins_reach_all(tmp_path) -> None:
    settings = token_auth_api(tmp_path)

    async def scenario() -> None:
        async with start_service(API_ENTRY, settings) as api:
            stub = tasks_pb2_grpc.TaskServiceStub(api.channel())
            alice, bob, root = bearer("alice"), bearer("bob"), bearer("root")

            assert await code_of(stub.GetTask(T.GetTaskRequest(id="x"))) == (
                grpc.StatusCode.UNAUTHENTICATED)
            # the identity sets created_by; claiming another user is refused
            mine = (await stub.CreateTask(
                T.CreateTaskRequest(description="alice's"), metadata=alice)).task
            assert mine.created_by == "alice"
            assert await code_of(stub.CreateTask(
                T.CreateTaskRequest(description="forged", created_by="bob"),
                metadata=alice)) == DENIED
            bobs = (await stub.CreateTask(
                T.CreateTaskRequest(description="bob's"), metadata=bob)).task

            # get / watch / cancel: owner yes, other user no, admin yes
            assert (await stub.GetTask(T.GetTaskRequest(id=mine.id), metadata=alice)).task.id
            assert await code_of(stub.GetTask(T.GetTaskRequest(id=mine.id), metadata=bob)) == DENIED
            assert (await stub.GetTask(T.GetTaskRequest(id=mine.id), metadata=root)).task.id
            watch = stub.WatchTask(T.WatchTaskRequest(id=mine.id), metadata=bob)
            assert await code_of(watch.read()) == DENIED
            assert await code_of(stub.CancelTask(
                T.CancelTaskRequest(id=mine.id), metadata=bob)) == DENIED
            still = (await stub.GetTask(T.GetTaskRequest(id=mine.id), metadata=alice)).task
            assert still.status == T.TASK_STATUS_PENDING  # bob's cancel changed nothing

            # list: each user sees only their own; asking for another's is refused
            listed = (await stub.ListTasks(T.ListTasksRequest(), metadata=alice)).tasks
            assert [t.id for t in listed] == [mine.id]
            assert await code_of(stub.ListTasks(
                T.ListTasksRequest(created_by="bob"), metadata=alice)) == DENIED
            everyone = (await stub.ListTasks(T.ListTasksRequest(), metadata=root)).tasks
            assert {t.id for t in everyone} == {mine.id, bobs.id}

            cancelled = (await stub.CancelTask(
                T.CancelTaskRequest(id=mine.id), metadata=alice)).task
            assert cancelled.status == T.TASK_STATUS_CANCELLED

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_claimed_x_user_id_does_not_change_the_owner(tmp_path) -> None:
    settings = token_auth_api(tmp_path)

    async def scenario() -> None:
        async with start_service(API_ENTRY, settings) as api:
            stub = tasks_pb2_grpc.TaskServiceStub(api.channel())
            task = (await stub.CreateTask(
                T.CreateTaskRequest(description="claims"),
                metadata=(*bearer("alice"), ("x-user-id", "root")))).task
            assert task.created_by == "alice"

    asyncio.run(asyncio.wait_for(scenario(), 60))
