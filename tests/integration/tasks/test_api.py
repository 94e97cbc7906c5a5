"""TaskService through a real gRPC server (in-process runtime) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import action_pb2, computer_pb2
from bytebot.tasks.v1 import tasks_pb2

from services.tasks.db import Database
from services.tasks.queue import TaskQueue
from services.tasks.store import TaskStore
from tests.integration.tasks.api_client import run_api, violations_of, wait_step

T = tasks_pb2


def test_create_get_list_and_cancel(database_url: str) -> None:
    async def test(stub: Any, svc: Any) -> None:
        metadata = (("x-correlation-id", "corr-create-1"), ("x-user-id", "alice"))
        created = (
            await stub.CreateTask(
                T.CreateTaskRequest(
                    description="open the report",
                    priority=T.TASK_PRIORITY_HIGH,
                    steps=[
                        wait_step(10),
                        action_pb2.Action(
                            type_text=computer_pb2.TypeTextRequest(text="hunter2", sensitive=True)
                        ),
                    ],
                ),
                metadata=metadata,
            )
        ).task
        assert created.status == T.TASK_STATUS_PENDING
        assert created.priority == T.TASK_PRIORITY_HIGH
        assert created.type == T.TASK_TYPE_IMMEDIATE
        assert created.created_by == "alice"
        assert created.correlation_id == "corr-create-1"
        assert created.max_attempts == 3 and created.attempts == 0
        assert len(created.steps) == 2 and created.steps[0].wait.duration.nanos == 10_000_000
        assert "hunter2" not in str(created)  # sensitive text never comes back
        assert [r.status for r in created.step_results] == [T.STEP_STATUS_PENDING] * 2

        got = (await stub.GetTask(T.GetTaskRequest(id=created.id))).task
        assert got == created

        listed = await stub.ListTasks(T.ListTasksRequest(created_by="alice"))
        assert [t.id for t in listed.tasks] == [created.id]
        assert (await stub.ListTasks(T.ListTasksRequest(created_by="bob"))).tasks == []

        cancelled = (
            await stub.CancelTask(T.CancelTaskRequest(id=created.id, reason="changed my mind"))
        ).task
        assert cancelled.status == T.TASK_STATUS_CANCELLED
        assert cancelled.HasField("completed_at")
        assert [r.status for r in cancelled.step_results] == [T.STEP_STATUS_CANCELLED] * 2

        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CancelTask(T.CancelTaskRequest(id=created.id))
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "already cancelled" in (info.value.details() or "")

        missing = "4b0c0f5e-3c1e-4b8e-9a57-000000000000"
        for call in (
            stub.GetTask(T.GetTaskRequest(id=missing)),
            stub.CancelTask(T.CancelTaskRequest(id=missing)),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            assert missing in (info.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.WatchTask(T.WatchTaskRequest(id=missing)).read()
        assert info.value.code() == grpc.StatusCode.NOT_FOUND

        code, bad = await violations_of(stub.GetTask(T.GetTaskRequest(id="not-a-uuid")))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "id" in bad

        metrics = urllib.request.urlopen(svc.http_url + "/metrics").read().decode()
        assert (
            'bytebot_tasks_total{status="cancelled",type="immediate",user_id="alice"} 1.0'
            in metrics
        )
        assert "bytebot_database_connections_active" in metrics
        # Every statement of the calls above was timed, by verb (a bounded label set).
        counts = {
            m.group(1): float(m.group(2))
            for m in re.finditer(
                r'^bytebot_database_query_duration_seconds_count\{operation="(\w+)"\} (\S+)$',
                metrics,
                re.M,
            )
        }
        assert set(counts) == {"select", "insert", "update", "delete", "other"}
        assert counts["insert"] >= 3 and counts["select"] >= 5 and counts["update"] >= 1
        assert 'bytebot_database_query_duration_seconds_bucket{le="0.05",operation="select"}' in (
            metrics
        )
        for priority in ("low", "medium", "high", "urgent"):
            assert f'bytebot_task_queue_length{{priority="{priority}"}}' in metrics

    run_api(database_url, test)


def test_list_pagination_filters_and_bad_tokens(database_url: str) -> None:
    async def test(stub: Any, _svc: Any) -> None:
        ids = []
        for i in range(5):
            prio = T.TASK_PRIORITY_URGENT if i % 2 else T.TASK_PRIORITY_LOW
            ids.append(
                (
                    await stub.CreateTask(T.CreateTaskRequest(description=f"t{i}", priority=prio))
                ).task.id
            )
        pages, token = [], ""
        for _ in range(5):
            page = await stub.ListTasks(T.ListTasksRequest(page_size=2, page_token=token))
            pages.append([t.id for t in page.tasks])
            token = page.next_page_token
            if not token:
                break
        assert pages == [ids[4:2:-1], ids[2:0:-1], ids[0:1]]
        urgent = await stub.ListTasks(T.ListTasksRequest(priority=T.TASK_PRIORITY_URGENT))
        assert [t.id for t in urgent.tasks] == [ids[3], ids[1]]
        pending = await stub.ListTasks(T.ListTasksRequest(status=T.TASK_STATUS_PENDING))
        assert len(pending.tasks) == 5

        code, bad = await violations_of(stub.ListTasks(T.ListTasksRequest(page_token="xyz%%")))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and set(bad) == {"page_token"}
        code, bad = await violations_of(
            stub.ListTasks(T.ListTasksRequest(status=42, priority=9, page_size=501))
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert set(bad) == {"status", "priority", "page_size"}

    run_api(database_url, test)


def test_watch_sends_snapshot_then_events_until_terminal(database_url: str) -> None:
    """Events written by a worker (here: the queue in this process, as another process
    would) reach the watcher in order, each with the status it produced."""

    async def test(stub: Any, _svc: Any) -> None:
        task = (
            await stub.CreateTask(T.CreateTaskRequest(description="w", steps=[wait_step()]))
        ).task
        db = Database(database_url)
        queue = TaskQueue(TaskStore(db))
        received: list[Any] = []

        async def watch() -> None:
            async for event in stub.WatchTask(T.WatchTaskRequest(id=task.id)):
                received.append(event)

        watcher = asyncio.create_task(watch())
        while not received:
            await asyncio.sleep(0.01)
        claim = await asyncio.to_thread(queue.claim, "w-test")
        assert claim is not None
        await asyncio.to_thread(queue.start_step, claim, 0, "wait")
        await asyncio.to_thread(queue.finish_step, claim, 0, "wait", result={})
        await asyncio.to_thread(queue.complete, claim, {"summary": "1 step completed"})
        await asyncio.wait_for(watcher, 10)
        db.close()

        assert [e.sequence for e in received] == [1, 2, 3, 4, 5]
        assert [e.type for e in received] == [
            T.TASK_EVENT_TYPE_SNAPSHOT,
            T.TASK_EVENT_TYPE_STARTED,
            T.TASK_EVENT_TYPE_STEP_STARTED,
            T.TASK_EVENT_TYPE_STEP_FINISHED,
            T.TASK_EVENT_TYPE_COMPLETED,
        ]
        assert [e.task.status for e in received] == [
            T.TASK_STATUS_PENDING,
            T.TASK_STATUS_RUNNING,
            T.TASK_STATUS_RUNNING,
            T.TASK_STATUS_RUNNING,
            T.TASK_STATUS_COMPLETED,
        ]
        assert [e.step_index for e in received] == [-1, -1, 0, 0, -1]
        assert received[-1].task.result == "1 step completed"

        # Watching a finished task: just the snapshot, then the stream ends.
        again = [e async for e in stub.WatchTask(T.WatchTaskRequest(id=task.id))]
        assert [e.type for e in again] == [T.TASK_EVENT_TYPE_SNAPSHOT]

    run_api(database_url, test, watch_poll_seconds=0.1)


def test_invalid_create_requests_name_every_bad_field(tmp_path: Any) -> None:
    async def test(stub: Any, _svc: Any) -> None:
        async def bad(request: Any) -> dict[str, str]:
            code, violations = await violations_of(stub.CreateTask(request))
            assert code == grpc.StatusCode.INVALID_ARGUMENT
            return violations

        assert set(await bad(T.CreateTaskRequest())) == {"description", "steps"}

        click = action_pb2.Action(
            click_mouse=computer_pb2.ClickMouseRequest(
                coordinates=common_pb2.Point(x=-5, y=10), click_count=11
            )
        )
        keys = action_pb2.Action(type_keys=computer_pb2.TypeKeysRequest(keys=["ctrl", "Hyperr"]))
        past = datetime.now(UTC) - timedelta(minutes=5)
        request = T.CreateTaskRequest(
            description="x" * 10_001,
            type=T.TASK_TYPE_SCHEDULED,
            priority=17,
            steps=[wait_step(), click, keys],
        )
        request.scheduled_for.FromDatetime(past)
        violations = await bad(request)
        assert {
            "description",
            "priority",
            "scheduled_for",
            "steps[1].click_mouse.coordinates",
            "steps[1].click_mouse.click_count",
            "steps[2].type_keys.keys[1]",
        } <= set(violations), violations
        assert "Hyperr" in violations["steps[2].type_keys.keys[1]"]
        assert "future" in violations["scheduled_for"]

        assert set(await bad(T.CreateTaskRequest(description="d", type=5))) == {"type"}
        assert set(await bad(T.CreateTaskRequest(description="d", type=T.TASK_TYPE_SCHEDULED))) == {
            "scheduled_for"
        }
        too_many = T.CreateTaskRequest(description="d", steps=[wait_step()] * 101)
        assert set(await bad(too_many)) == {"steps"}
        assert set(await bad(T.CreateTaskRequest(description="d", max_attempts=11))) == {
            "max_attempts"
        }
        assert set(await bad(T.CreateTaskRequest(steps=[action_pb2.Action()]))) == {
            "steps[0].action"
        }

        future = T.CreateTaskRequest(description="later", type=T.TASK_TYPE_SCHEDULED)
        future.scheduled_for.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
        task = (await stub.CreateTask(future)).task
        assert task.type == T.TASK_TYPE_SCHEDULED and task.HasField("scheduled_for")
        assert not task.HasField("queued_at")  # not in the queue until it is due

    run_api(f"sqlite:///{tmp_path / 'v.db'}", test)
