"""Worker processes over a real database queue: exactly-once under a race, re-run after a
SIGKILL, steps executed by the real computer service on Xvfb, cancel between steps."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import action_pb2, computer_pb2
from sqlalchemy import func, select

from services.tasks import migrate
from services.tasks.db import Database
from services.tasks.records import AttemptOutcome, EventType, Status, StepStatus
from services.tasks.schema import task_attempts, tasks
from services.tasks.store import TaskStore
from services.tasks.testing.processes import ServiceProcess, stop_all
from services.tasks.testing.steps import step, wait_ms

pytestmark = pytest.mark.slow


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def migrated(database_url: str) -> Iterator[tuple[Database, TaskStore]]:
    db = Database(database_url)
    migrate.upgrade(db)
    yield db, TaskStore(db)
    db.close()


def worker(database_url: str, **settings: Any) -> ServiceProcess:
    base = {
        "database_url": database_url,
        "worker_dependencies": "database",
        "worker_concurrency": 4,
        "poll_interval_seconds": 0.05,
        "queue_length_refresh_seconds": 60,
        "health_check_interval_seconds": 1,
    }
    return ServiceProcess("tasks-worker", {**base, **settings})


def test_two_worker_processes_run_each_of_500_tasks_exactly_once(
    database_url: str, migrated: tuple[Database, TaskStore]
) -> None:
    db, store = migrated
    workers = [worker(database_url, worker_id=f"w-race-{i}") for i in range(2)]
    for w in workers:
        w.start()
    try:
        # Both workers are already polling: they race for every task.
        for i in range(500):
            store.create_task(description=f"race {i}")

        def completed() -> bool:
            with db.read() as conn:
                done = conn.execute(
                    select(func.count()).where(tasks.c.status == Status.COMPLETED)
                ).scalar_one()
            return done == 500

        wait_until(completed, 120, "500 completed tasks")
    finally:
        codes = stop_all(workers)
    assert codes == [0, 0]  # SIGTERM: drained and exited cleanly

    with db.read() as conn:
        per_task = conn.execute(
            select(task_attempts.c.task_id, func.count())
            .group_by(task_attempts.c.task_id)
            .having(func.count() != 1)
        ).all()
        outcomes = dict(
            conn.execute(
                select(task_attempts.c.outcome, func.count()).group_by(task_attempts.c.outcome)
            ).all()
        )
        by_worker = dict(
            conn.execute(
                select(task_attempts.c.worker_id, func.count()).group_by(task_attempts.c.worker_id)
            ).all()
        )
        attempts = conn.execute(select(func.max(tasks.c.attempts))).scalar_one()
    assert per_task == []  # no task was claimed twice
    assert outcomes == {AttemptOutcome.COMPLETED: 500}
    assert attempts == 1
    assert set(by_worker) == {"w-race-0", "w-race-1"}, by_worker  # they really raced


# ---- with the real computer service -------------------------------------------------------


@pytest.mark.xvfb
def test_sigkilled_worker_task_is_rerun_by_another_and_completes(
    database_url: str, migrated: tuple[Database, TaskStore], computer: ServiceProcess
) -> None:
    db, store = migrated
    lease = {
        "computer_address": computer.grpc_target,
        "worker_dependencies": "database,computer",
        "lease_seconds": 1.5,
        "heartbeat_interval_seconds": 0.3,
        "reap_interval_seconds": 0.3,
        "retry_backoff_seconds": 0,
    }
    task = store.create_task(description="survives a crash", steps=[wait_ms(1500)])
    doomed = worker(database_url, worker_id="w-doomed", **lease).start()
    try:
        wait_until(
            lambda: any(e.type == EventType.STEP_STARTED for e in store.events_after(task.id, 0)),
            30,
            "the first worker to start the step",
        )
        doomed.kill()  # SIGKILL mid-step: no release, no goodbye
    finally:
        doomed.stop()
    running = store.get_task(task.id)
    assert running is not None and running.status == Status.RUNNING

    rescuer = worker(database_url, worker_id="w-rescuer", **lease).start()
    try:
        final = wait_until(
            lambda: (t := store.get_task(task.id)) and t.terminal and t,
            30,
            "the task to finish on the second worker",
        )
    finally:
        rescuer.stop()
    assert final.status == Status.COMPLETED, final.error
    assert final.attempts == 2
    assert [s.status for s in final.steps] == [StepStatus.SUCCEEDED]
    events = store.events_after(task.id, 0)
    retrying = [e for e in events if e.type == EventType.RETRYING]
    assert len(retrying) == 1 and "w-doomed" in retrying[0].message
    with db.read() as conn:
        rows = conn.execute(
            select(task_attempts.c.attempt, task_attempts.c.worker_id, task_attempts.c.outcome)
            .where(task_attempts.c.task_id == task.id)
            .order_by(task_attempts.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "w-doomed", AttemptOutcome.EXPIRED),
        (2, "w-rescuer", AttemptOutcome.COMPLETED),
    ]


@pytest.mark.xvfb
def test_steps_run_on_the_computer_service(
    database_url: str, migrated: tuple[Database, TaskStore], computer: ServiceProcess
) -> None:
    _db, store = migrated
    ok = store.create_task(
        description="look around",
        correlation_id="corr-worker-1",
        created_by="carol",
        steps=[
            step(
                action_pb2.Action(
                    move_mouse=computer_pb2.MoveMouseRequest(
                        coordinates=common_pb2.Point(x=40, y=30)
                    )
                )
            ),
            step(action_pb2.Action(cursor_position=computer_pb2.CursorPositionRequest())),
            wait_ms(0),
            step(action_pb2.Action(screenshot=computer_pb2.ScreenshotRequest())),
        ],
    )
    off_screen = store.create_task(
        description="click off the screen",
        steps=[
            wait_ms(0),
            step(
                action_pb2.Action(
                    move_mouse=computer_pb2.MoveMouseRequest(
                        coordinates=common_pb2.Point(x=50_000, y=10)
                    )
                )
            ),
            wait_ms(0),
        ],
    )
    to_cancel = store.create_task(description="cancel me", steps=[wait_ms(800), wait_ms(800)])
    proc = worker(
        database_url,
        computer_address=computer.grpc_target,
        worker_dependencies="database,computer",
    ).start()
    try:
        wait_until(
            lambda: any(
                e.type == EventType.STEP_STARTED for e in store.events_after(to_cancel.id, 0)
            ),
            30,
            "the long task to start",
        )
        assert not store.cancel_task(to_cancel.id, reason="no longer needed").cancelled_now
        ids = (ok.id, off_screen.id, to_cancel.id)
        finals = wait_until(
            lambda: (
                all((t := store.get_task(i)) and t.terminal for i in ids)
                and [store.get_task(i) for i in ids]
            ),
            30,
            "all three tasks to finish",
        )
        metrics = urllib.request.urlopen(proc.http_url + "/metrics", timeout=10).read().decode()
    finally:
        proc.stop()
    done, failed, cancelled = finals

    assert done.status == Status.COMPLETED, done.error
    assert [s.status for s in done.steps] == [StepStatus.SUCCEEDED] * 4
    assert done.steps[1].result == {"point": {"x": 40, "y": 30}}
    digest = done.steps[3].result["screenshot"]
    assert int(digest["sizeBytes"]) > 1000 and len(digest["sha256"]) == 64
    assert (digest["width"], digest["height"]) == (1280, 960)

    assert failed.status == Status.FAILED
    assert failed.error.startswith("step 2 (move_mouse): INVALID_ARGUMENT"), failed.error
    assert [s.status for s in failed.steps] == [
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.SKIPPED,
    ]

    assert cancelled.status == Status.CANCELLED
    assert [s.status for s in cancelled.steps] == [StepStatus.SUCCEEDED, StepStatus.CANCELLED]
    last = store.events_after(cancelled.id, 0)[-1]
    assert last.type == EventType.CANCELLED and "no longer needed" in last.message

    # One terminal outcome each, counted by the worker that produced it.
    for status, user in (
        ("completed", "carol"),
        ("failed", "anonymous"),
        ("cancelled", "anonymous"),
    ):
        line = f'bytebot_tasks_total{{status="{status}",type="immediate",user_id="{user}"}} 1.0'
        assert line in metrics, status
    assert 'bytebot_task_duration_seconds_count{status="completed",type="immediate"} 1.0' in metrics
    assert 'bytebot_task_queue_length{priority="urgent"}' in metrics
    # The worker's own SQL statements are timed (claims and step progress are updates).
    updates = re.search(
        r'^bytebot_database_query_duration_seconds_count\{operation="update"\} (\S+)$',
        metrics,
        re.M,
    )
    assert updates is not None and float(updates.group(1)) >= 10

    # The worker's logs for a task carry the creating request's correlation id and user.
    started = proc.wait_for_log("task started", 5, taskId=ok.id)
    assert started["correlationId"] == "corr-worker-1"
    assert started["userId"] == "carol"


@pytest.mark.xvfb
def test_sigterm_releases_a_running_task_to_the_queue(
    database_url: str, migrated: tuple[Database, TaskStore], computer: ServiceProcess
) -> None:
    _db, store = migrated
    task = store.create_task(description="long", steps=[wait_ms(5000)])
    proc = worker(
        database_url,
        worker_id="w-leaving",
        computer_address=computer.grpc_target,
        worker_dependencies="database,computer",
        drain_seconds=0.5,
    ).start()
    try:
        wait_until(
            lambda: any(e.type == EventType.STEP_STARTED for e in store.events_after(task.id, 0)),
            30,
            "the step to start",
        )
    finally:
        code = proc.stop()
    assert code == 0
    released = store.get_task(task.id)
    assert released is not None
    assert released.status == Status.PENDING and released.attempts == 0
    assert released.worker_id is None
    last = store.events_after(task.id, 0)[-1]
    assert last.type == EventType.RETRYING and "released by worker w-leaving" in last.message


@pytest.mark.xvfb
def test_click_text_that_is_not_on_screen_fails_the_task_saying_so(
    tmp_path: Any, computer: ServiceProcess
) -> None:
    """Screenshot (computer) → FindText (inference, real Tesseract) on the empty Xvfb
    screen: nothing matches, nothing is clicked, and the task says which step and why."""
    url = f"sqlite:///{tmp_path / 'ocr.db'}"
    db = Database(url)
    migrate.upgrade(db)
    store = TaskStore(db)
    inference = ServiceProcess(
        "inference",
        {"backend": "cpu", "ocr_use_rapidocr": "false", "find_thorough_on_miss": "false"},
    ).start(120)
    click = action_pb2.Action(click_text=action_pb2.ClickTextAction(text="Submit"))
    task = store.create_task(description="press submit", steps=[wait_ms(0), step(click)])
    proc = worker(
        url,
        computer_address=computer.grpc_target,
        inference_address=inference.grpc_target,
        worker_dependencies="database,computer,inference",
    ).start()
    try:
        final = wait_until(
            lambda: (t := store.get_task(task.id)) and t.terminal and t, 60, "the task to fail"
        )
    finally:
        stop_all([proc, inference])
        db.close()
    assert final.status == Status.FAILED
    assert final.error == "step 2 (click_text): text 'Submit' not found on screen"
    assert [s.status for s in final.steps] == [StepStatus.SUCCEEDED, StepStatus.FAILED]
