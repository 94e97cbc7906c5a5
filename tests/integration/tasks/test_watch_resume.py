"""WatchTask resumption: a client whose stream broke passes the last `event_sequence` it got
and receives exactly the events it missed, then the live ones (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from bytebot.tasks.v1 import tasks_pb2

from services.tasks.db import Database
from services.tasks.queue import TaskQueue
from services.tasks.store import TaskStore
from tests.integration.tasks.api_client import run_api, wait_step

T = tasks_pb2


def test_a_resumed_watch_gets_the_missed_events_then_the_live_ones(database_url: str) -> None:
    async def test(stub: Any, _svc: Any) -> None:
        task = (await stub.CreateTask(
            T.CreateTaskRequest(description="resume", steps=[wait_step(), wait_step()]))).task
        db = Database(database_url)
        queue = TaskQueue(TaskStore(db))
        try:
            # First stream: the snapshot, then STARTED; then the client goes away.
            first = stub.WatchTask(T.WatchTaskRequest(id=task.id))
            snapshot = await first.read()
            assert snapshot.type == T.TASK_EVENT_TYPE_SNAPSHOT
            assert snapshot.event_sequence == 1  # CREATED
            claim = await asyncio.to_thread(queue.claim, "w-resume")
            assert claim is not None
            started = await first.read()
            assert (started.type, started.event_sequence) == (T.TASK_EVENT_TYPE_STARTED, 2)
            first.cancel()

            # While nobody watches, step 0 runs.
            await asyncio.to_thread(queue.start_step, claim, 0, "wait")
            await asyncio.to_thread(queue.finish_step, claim, 0, "wait", result={})

            # Resume after STARTED: the two missed events, no snapshot, then live ones.
            received: list[Any] = []

            async def watch() -> None:
                request = T.WatchTaskRequest(id=task.id, after_event_sequence=2)
                async for event in stub.WatchTask(request):
                    received.append(event)

            watcher = asyncio.create_task(watch())
            while len(received) < 2:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(queue.start_step, claim, 1, "wait")
            await asyncio.to_thread(queue.finish_step, claim, 1, "wait", result={})
            await asyncio.to_thread(queue.complete, claim, {"summary": "2 steps completed"})
            await asyncio.wait_for(watcher, 10)

            assert [(e.type, e.step_index) for e in received] == [
                (T.TASK_EVENT_TYPE_STEP_STARTED, 0),
                (T.TASK_EVENT_TYPE_STEP_FINISHED, 0),
                (T.TASK_EVENT_TYPE_STEP_STARTED, 1),
                (T.TASK_EVENT_TYPE_STEP_FINISHED, 1),
                (T.TASK_EVENT_TYPE_COMPLETED, -1),
            ]
            assert [e.event_sequence for e in received] == [3, 4, 5, 6, 7]
            assert [e.sequence for e in received] == [1, 2, 3, 4, 5]

            # Resuming after the last event of a finished task: the stream ends at once;
            # resuming earlier replays the rest of it.
            done = [e async for e in stub.WatchTask(
                T.WatchTaskRequest(id=task.id, after_event_sequence=7))]
            assert done == []
            tail = [e.type async for e in stub.WatchTask(
                T.WatchTaskRequest(id=task.id, after_event_sequence=5))]
            assert tail == [T.TASK_EVENT_TYPE_STEP_FINISHED, T.TASK_EVENT_TYPE_COMPLETED]
            # A plain watch of the finished task: its snapshot reflects event 7.
            (snap,) = [e async for e in stub.WatchTask(T.WatchTaskRequest(id=task.id))]
            assert (snap.type, snap.event_sequence) == (T.TASK_EVENT_TYPE_SNAPSHOT, 7)
        finally:
            db.close()

    run_api(database_url, test, watch_poll_seconds=0.1)


@pytest.mark.parametrize("after", [-1, 2])
def test_resuming_after_an_event_that_does_not_exist_is_out_of_range(
    tmp_path: Any, after: int
) -> None:
    async def test(stub: Any, _svc: Any) -> None:
        task = (await stub.CreateTask(T.CreateTaskRequest(description="fresh"))).task
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in stub.WatchTask(T.WatchTaskRequest(id=task.id,
                                                             after_event_sequence=after)):
                pass
        assert info.value.code() == grpc.StatusCode.OUT_OF_RANGE
        assert "1..1" in info.value.details()

    run_api(f"sqlite:///{tmp_path}/tasks.db", test)
