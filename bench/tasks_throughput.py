"""Task API and queue throughput on SQLite and PostgreSQL, side by side in one run.

    .venv/bin/python bench/tasks_throughput.py [--backends sqlite,postgresql]
        [--pairs-per-client 20] [--clients 1,16,64] [--queue-tasks 300] [--workers 1,4]

1. API: a `bytebot serve tasks-api` process per backend; N concurrent asyncio clients each
   run CreateTask followed by GetTask of the created task. Prints pairs/s and the p50/p95/p99
   latency of each RPC (the source document's target: API p95 < 200 ms).
2. Queue: `bytebot serve tasks-worker` processes (concurrency 4 each) over a shared queue.
   Tasks with one `wait 0` step (executed by a real `bytebot serve computer` on its own Xvfb;
   without Xvfb, tasks with no steps) are created as SCHEDULED for one instant T0 after the
   workers are idle-polling, so creation cost is not measured; throughput = tasks /
   (last completed_at - T0).

PostgreSQL: BYTEBOT_TEST_POSTGRES_URL (default the local `test` database), a throw-away schema.
The machine's load affects absolute numbers: compare rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parents[1] / "protos"),
]

import grpc  # noqa: E402
from bytebot.computer.v1 import action_pb2, computer_pb2  # noqa: E402
from bytebot.tasks.v1 import tasks_pb2, tasks_pb2_grpc  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from services.tasks import migrate  # noqa: E402
from services.tasks.db import Database  # noqa: E402
from services.tasks.records import Status, StepInput, TaskType  # noqa: E402
from services.tasks.schema import tasks  # noqa: E402
from services.tasks.store import TaskStore  # noqa: E402
from services.tasks.testing.databases import (  # noqa: E402
    postgres_unavailable_reason,
    temporary_postgres_schema,
)
from services.tasks.testing.processes import ServiceProcess  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
    else:
        with temporary_postgres_schema("bt_bench") as url:
            yield url


async def api_round(target: str, clients: int, pairs_per_client: int) -> dict[str, float]:
    create_ms: list[float] = []
    get_ms: list[float] = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = tasks_pb2_grpc.TaskServiceStub(channel)
        await stub.ListTasks(tasks_pb2.ListTasksRequest(page_size=1))  # connect first
        request = tasks_pb2.CreateTaskRequest(
            description="bench",
            steps=[action_pb2.Action(wait=computer_pb2.WaitRequest())],
            # Far in the future: nothing claims them, the API alone is measured.
            type=tasks_pb2.TASK_TYPE_SCHEDULED,
        )
        request.scheduled_for.FromDatetime(datetime.now(UTC) + timedelta(days=365))

        async def client() -> None:
            for _ in range(pairs_per_client):
                t0 = time.perf_counter()
                created = await stub.CreateTask(request)
                t1 = time.perf_counter()
                await stub.GetTask(tasks_pb2.GetTaskRequest(id=created.task.id))
                t2 = time.perf_counter()
                create_ms.append((t1 - t0) * 1000)
                get_ms.append((t2 - t1) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "pairs_s": len(create_ms) / elapsed,
        "create_p50": percentile(create_ms, 50),
        "create_p95": percentile(create_ms, 95),
        "create_p99": percentile(create_ms, 99),
        "get_p50": percentile(get_ms, 50),
        "get_p95": percentile(get_ms, 95),
        "get_p99": percentile(get_ms, 99),
    }


def bench_api(backend: str, url: str, clients: list[int], pairs: int) -> list[tuple]:
    api = ServiceProcess("tasks-api", {"database_url": url}).start()
    rows = []
    try:
        for n in clients:
            r = asyncio.run(api_round(api.grpc_target, n, pairs))
            rows.append((backend, n, r))
    finally:
        api.stop()
    return rows


def bench_queue(
    backend: str, url: str, workers: int, count: int, computer: ServiceProcess | None
) -> float:
    db = Database(url)
    migrate.upgrade(db)
    store = TaskStore(db)
    settings = {
        "database_url": url,
        "worker_concurrency": 4,
        "poll_interval_seconds": 0.05,
        "queue_length_refresh_seconds": 60,
    }
    if computer is not None:
        settings |= {
            "computer_address": computer.grpc_target,
            "worker_dependencies": "database,computer",
        }
    else:
        settings |= {"worker_dependencies": "database"}
    procs = [ServiceProcess("tasks-worker", settings).launch() for _ in range(workers)]
    try:
        for p in procs:
            p.wait_started(60)
        wait = action_pb2.Action(wait=computer_pb2.WaitRequest())
        steps = [StepInput("wait", wait.SerializeToString())] if computer else []
        t0 = datetime.now(UTC) + timedelta(seconds=3 + count * 0.02)
        for _ in range(count):
            store.create_task(
                description="queue bench", type=TaskType.SCHEDULED, scheduled_for=t0, steps=steps
            )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with db.read() as conn:
                done, last = conn.execute(
                    select(func.count(), func.max(tasks.c.completed_at)).where(
                        tasks.c.status == Status.COMPLETED
                    )
                ).one()
            if done == count:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{backend}: only {done}/{count} tasks completed")
    finally:
        for p in procs:
            p.stop()
        db.close()
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return count / max(1e-6, (last - t0).total_seconds())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", default="1,16,64")
    parser.add_argument("--pairs-per-client", type=int, default=20)
    parser.add_argument("--queue-tasks", type=int, default=300)
    parser.add_argument("--workers", default="1,4")
    args = parser.parse_args()
    backends = args.backends.split(",")
    if "postgresql" in backends and (reason := postgres_unavailable_reason()):
        print(f"skipping postgresql: {reason}")
        backends.remove("postgresql")
    clients = [int(c) for c in args.clients.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",")]

    api_rows: list[tuple] = []
    queue_rows: list[tuple[str, int, float]] = []
    computer = None
    if shutil.which("Xvfb"):
        computer = ServiceProcess("computer", {})
        computer.env.pop("DISPLAY", None)
        computer.start(60)
    try:
        for backend in backends:
            with database(backend) as url:
                api_rows += bench_api(backend, url, clients, args.pairs_per_client)
            for workers in worker_counts:
                with database(backend) as url:
                    rate = bench_queue(backend, url, workers, args.queue_tasks, computer)
                queue_rows.append((backend, workers, rate))
    finally:
        if computer is not None:
            computer.stop()

    print("\nCreateTask + GetTask (latency in ms)")
    print(
        f"{'backend':11} {'clients':>7} {'pairs/s':>8} {'create p50':>10} {'p95':>7} {'p99':>7}"
        f" {'get p50':>8} {'p95':>7} {'p99':>7}"
    )
    for backend, n, r in api_rows:
        print(
            f"{backend:11} {n:>7} {r['pairs_s']:>8.1f} {r['create_p50']:>10.1f}"
            f" {r['create_p95']:>7.1f} {r['create_p99']:>7.1f} {r['get_p50']:>8.1f}"
            f" {r['get_p95']:>7.1f} {r['get_p99']:>7.1f}"
        )
    step = "one `wait 0` step via the computer service" if computer else "no steps (no Xvfb)"
    print(f"\nQueue: tasks claimed + completed per second ({step}; 4 tasks in flight/worker)")
    print(f"{'backend':11} {'workers':>7} {'tasks/s':>8}")
    for backend, workers, rate in queue_rows:
        print(f"{backend:11} {workers:>7} {rate:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
