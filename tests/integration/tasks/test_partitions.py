"""Network partitions between hosts (issue 17 item 2), in network namespaces this test makes:
tasks-api x2, tasks-worker x3 and the computer service each on its own host, PostgreSQL
reachable from all through a forwarder on the test's bridge (services/tasks/testing/netns.py).

1. One worker is cut off (its link down: packets vanish) in the middle of its tasks for
   longer than the lease, then reconnected. Every task completes exactly once, by the holder
   of its latest fencing token; no write of the cut-off worker lands after its lease was
   taken (checked in the database's event log); the worker, never restarted, runs tasks again.
2. One API is partitioned from the database (a blackhole route to it on that host only):
   its clients get UNAVAILABLE, its readiness turns NOT_SERVING, the other API keeps
   serving; after the heal it serves again.

PostgreSQL only (a SQLite file cannot be shared between hosts). Skips only where namespaces
cannot be made (not root, no `ip`/`socat`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import grpc
import pytest
from bytebot.tasks.v1 import tasks_pb2 as T
from bytebot.tasks.v1 import tasks_pb2_grpc
from sqlalchemy import select

from services.tasks.records import AttemptOutcome, Status
from services.tasks.schema import task_attempts, tasks
from services.tasks.store import TaskStore
from services.tasks.testing.fixtures import require_postgres
from services.tasks.testing.netns import netns_unavailable_reason
from services.tasks.testing.partition_cluster import (
    NOT_SERVING,
    SERVING,
    Cluster,
    Network,
    check_exactly_once,
    create_tasks,
    dump,
    open_network,
    readiness,
    rows,
    stale_writes,
    start_cluster,
    wait_until,
)
from services.tasks.testing.processes import REPO, subprocess_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE_SECONDS = 3.0
STEP_MS = 400  # each task: two waits of this long on the computer


@pytest.fixture
def network() -> Iterator[Network]:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(f"cannot make network namespaces here: {reason}")
    require_postgres()
    with open_network("bt_partition") as net:
        yield net


@pytest.fixture
def cluster(network: Network) -> Iterator[Cluster]:
    with start_cluster(network, LEASE_SECONDS) as running:
        yield running


def _create(target: str, n: int, tag: str) -> list[str]:
    return create_tasks(target, n, tag, STEP_MS)


def test_a_worker_cut_off_mid_task_and_an_api_cut_off_from_the_database(
    cluster: Cluster,
) -> None:
    try:
        _scenario(cluster)
    except BaseException:
        dump(cluster)
        raise


def _scenario(cluster: Cluster) -> None:
    lab, db = cluster.lab, cluster.db
    api1, api2 = cluster.apis
    w1 = cluster.workers[0]
    started = time.monotonic()

    # ---- 1. a worker cut off mid-task for longer than its lease -------------------------
    ids = _create(api1.grpc_target, 12, "before") + _create(api2.grpc_target, 12, "before-2")

    def w1_in_a_step() -> list[str]:
        return [r.id for r in rows(db, ids).values()
                if r.status == Status.RUNNING and r.worker_id == "w-1" and r.last_event_seq > 2]

    wait_until(w1_in_a_step, 30, "worker 1 to be in the middle of a task")
    lab.cut(cluster.hosts["w1"])
    cut_at = time.monotonic()
    lost = [r.id for r in rows(db, ids).values()
            if r.status == Status.RUNNING and r.worker_id == "w-1"]
    assert lost, "worker 1 finished its tasks before the cut"
    # The others take over w-1's tasks once its lease expired, and complete them.
    wait_until(lambda: all(r.status == Status.COMPLETED for r in rows(db, lost).values()),
               40, "the other workers to complete worker 1's tasks")
    assert time.monotonic() - cut_at > LEASE_SECONDS
    assert {r.worker_id for r in rows(db, lost).values()} <= {"w-2", "w-3"}
    lab.heal(cluster.hosts["w1"])
    healed_at = time.monotonic()
    # The cut-off worker comes back by itself (same process) and runs tasks again.
    wait_until(lambda: readiness(w1.grpc_target) == SERVING, 30, "worker 1 to be ready again")
    w1_ready_after = time.monotonic() - healed_at
    wait_until(lambda: all(r.status in Status.TERMINAL for r in rows(db, ids).values()), 60,
               "every task to finish")
    assert w1.proc is not None and w1.proc.poll() is None
    after = _create(api2.grpc_target, 12, "after")
    wait_until(lambda: all(r.status in Status.TERMINAL for r in rows(db, after).values()), 60,
               "the tasks created after the heal to finish")
    check_exactly_once(db, ids + after)
    by_w1 = [r.id for r in rows(db, after).values() if r.worker_id == "w-1"]
    assert by_w1, "worker 1 ran none of the tasks created after it was reconnected"
    stale = stale_writes(w1)
    # w-1 stopped each of those tasks without writing: it cancelled the step in flight when
    # it found its lease gone (by its own clock: no renewal reached the database), or it had
    # already given the task up because a write between two steps failed ("task aborted").
    stopped = {r.get("taskId") for r in w1.logs("lease lost; cancelling the running step")}
    aborted = {r.get("taskId") for r in w1.logs("task aborted")}
    assert set(lost) <= stopped | aborted, (lost, stopped, aborted)
    for lost_id in lost:  # w-1's attempt ended by the reaper, not by a write of w-1
        with db.read() as conn:
            outcomes = conn.execute(select(task_attempts.c.outcome).where(
                task_attempts.c.task_id == lost_id, task_attempts.c.worker_id == "w-1")).all()
        assert AttemptOutcome.EXPIRED in {o for (o,) in outcomes}
    print(f"\nworker partition: {len(lost)} task(s) taken over from w-1; link down "
          f"{healed_at - cut_at:.1f}s; w-1 ready {w1_ready_after:.1f}s after the heal; w-1 "
          f"refused stale writes: {stale:g}; w-1 ran {len(by_w1)} of {len(after)} tasks after")

    # ---- 2. an API partitioned from the database ------------------------------------------
    assert readiness(api1.grpc_target) == SERVING
    lab.blackhole(cluster.hosts["api1"], lab.database_address)
    cut_at = time.monotonic()
    wait_until(lambda: readiness(api1.grpc_target) == NOT_SERVING, 20,
               "api1's readiness to turn NOT_SERVING")
    not_serving_after = time.monotonic() - cut_at
    with grpc.insecure_channel(api1.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            tasks_pb2_grpc.TaskServiceStub(channel).CreateTask(
                T.CreateTaskRequest(description="during", request_id="during-1"), timeout=15)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value
    assert "retry later" in (refused.value.details() or "")
    assert readiness(api2.grpc_target) == SERVING
    served = _create(api2.grpc_target, 1, "during-2")  # the other API keeps serving
    lab.unblackhole(cluster.hosts["api1"], lab.database_address)
    healed_at = time.monotonic()
    wait_until(lambda: readiness(api1.grpc_target) == SERVING, 20,
               "api1's readiness to recover")
    serving_after = time.monotonic() - healed_at
    healed = _create(api1.grpc_target, 2, "healed")
    wait_until(lambda: all(r.status in Status.TERMINAL for r in rows(db, served + healed)
                           .values()), 30, "the tasks created around the API partition")
    check_exactly_once(db, served + healed)
    print(f"api partition: NOT_SERVING {not_serving_after:.1f}s after the cut; UNAVAILABLE "
          f"({refused.value.details()}); SERVING {serving_after:.1f}s after the heal; total "
          f"{time.monotonic() - started:.1f}s")


LOCK_AND_HOLD = """
import sys, time
from sqlalchemy import select
from services.tasks.db import Database
from services.tasks.schema import tasks
db = Database(sys.argv[1], tcp_user_timeout_seconds=2)
with db.write() as conn:
    conn.execute(select(tasks.c.id).where(tasks.c.id == sys.argv[2]).with_for_update())
    print("locked", flush=True)
    time.sleep(120)  # cut off here, between a statement and its COMMIT
"""


def test_a_client_cut_off_inside_a_transaction_does_not_keep_its_row_locks(
    network: Network,
) -> None:
    """Without the session's idle-in-transaction timeout the server would hold the row lock
    of a silent client for as long as the partition lasts (claims and the reaper skip
    locked rows): with tcp_user_timeout_seconds=0 in the client (no timeout set) this test
    fails, the row still locked 8 s after the cut."""
    task = TaskStore(network.db).create_task(description="locked by a cut-off client")
    host = network.lab.add_host("c1", 41)
    holder = subprocess.Popen(host.wrap([sys.executable, "-c", LOCK_AND_HOLD,
                                         network.remote_url, task.id]),
                              cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"

        def lockable() -> bool:
            with network.db.write() as conn:
                return conn.execute(select(tasks.c.id).where(tasks.c.id == task.id)
                                    .with_for_update(skip_locked=True)).first() is not None

        assert not lockable()  # held while the client is there
        network.lab.cut(host)
        # The server ends the silent client's transaction (2 s idle) and frees the row.
        wait_until(lockable, 30, "the cut-off client's row lock to be released")
    finally:
        holder.kill()
        holder.wait(10)
