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
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from bytebot.tasks.v1 import tasks_pb2 as T
from bytebot.tasks.v1 import tasks_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import select
from sqlalchemy.engine import make_url

from services.tasks import migrate
from services.tasks.db import Database
from services.tasks.records import AttemptOutcome, EventType, Status
from services.tasks.schema import task_attempts, task_events, tasks
from services.tasks.store import TaskStore
from services.tasks.testing.databases import temporary_postgres_schema
from services.tasks.testing.fixtures import require_postgres
from services.tasks.testing.netns import Host, Lab, netns_unavailable_reason
from services.tasks.testing.processes import REPO, ServiceProcess, stop_all, subprocess_env
from tests.integration.tasks.api_client import wait_step

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE_SECONDS = 3.0
STEP_MS = 400  # each task: two waits of this long on the computer
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)
    return value


@dataclass
class Cluster:
    lab: Lab
    db: Database  # the test's own view of the database (from the root namespace)
    apis: list[ServiceProcess]
    workers: list[ServiceProcess]
    hosts: dict[str, Host]


def _in(host: Host, service: str, settings: dict[str, Any],
        env: dict[str, str] | None = None) -> ServiceProcess:
    proc = ServiceProcess(service, {
        "grpc_host": host.address,
        "http_host": host.address,
        # Only the test's own namespaces can reach these addresses.
        "insecure_allow_open": "true",
        "health_check_interval_seconds": 0.5,
        **settings,
    }, env=env)
    proc.args = host.wrap(proc.args)
    return proc


@dataclass
class Network:
    lab: Lab
    db: Database  # migrated, seen from the root namespace
    remote_url: str  # the same database as the hosts reach it (through the forwarder)


@pytest.fixture
def network() -> Iterator[Network]:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(f"cannot make network namespaces here: {reason}")
    require_postgres()
    lab = Lab()
    with temporary_postgres_schema("bt_partition") as url:
        db = Database(url)
        try:
            lab.open()
            host, port = lab.forward_database().split(":")
            remote = make_url(url).set(host=host, port=int(port))
            migrate.upgrade(db)
            yield Network(lab, db, remote.render_as_string(hide_password=False))
        finally:
            lab.close()
            db.close()


@pytest.fixture
def cluster(network: Network) -> Iterator[Cluster]:
    lab, db, remote_url = network.lab, network.db, network.remote_url
    procs: list[ServiceProcess] = []
    try:
        hosts = {role: lab.add_host(role, octet) for role, octet in [
            ("api1", 11), ("api2", 12), ("w1", 21), ("w2", 22), ("w3", 23), ("desk", 31)]}
        computer = _in(hosts["desk"], "computer", {}, env={"DISPLAY": ""})
        computer.env.pop("DISPLAY", None)  # the computer starts its own Xvfb
        procs.append(computer.start(timeout=60))
        common = {
            "database_url": remote_url,
            "database_tcp_user_timeout_seconds": 2,
            "database_connect_timeout_seconds": 2,
            "queue_length_refresh_seconds": 60,
        }
        apis = [_in(hosts[h], "tasks-api", common) for h in ("api1", "api2")]
        workers = [
            _in(hosts[f"w{i}"], "tasks-worker", {
                **common,
                "worker_id": f"w-{i}",
                "worker_concurrency": 2,
                "worker_dependencies": "database,computer",
                "computer_address": computer.grpc_target,
                "lease_seconds": LEASE_SECONDS,
                "heartbeat_interval_seconds": 0.5,
                "reap_interval_seconds": 0.5,
                "retry_backoff_seconds": 0.2,
                "poll_interval_seconds": 0.1,
                "step_timeout_seconds": 5,
            })
            for i in (1, 2, 3)
        ]
        procs += [p.launch() for p in [*apis, *workers]]
        for p in [*apis, *workers]:
            p.wait_started(90)
        yield Cluster(lab=lab, db=db, apis=apis, workers=workers, hosts=hosts)
    finally:
        stop_all(procs)


def _create(target: str, n: int, tag: str) -> list[str]:
    with grpc.insecure_channel(target) as channel:
        stub = tasks_pb2_grpc.TaskServiceStub(channel)
        return [
            stub.CreateTask(T.CreateTaskRequest(
                description=f"{tag} {i}", request_id=f"{tag}-{i}",
                steps=[wait_step(STEP_MS), wait_step(STEP_MS)]), timeout=15).task.id
            for i in range(n)
        ]


def _readiness(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="readiness"), timeout=3).status
        except grpc.RpcError:
            return -1


def _rows(db: Database, ids: list[str]) -> dict[str, Any]:
    with db.read() as conn:
        return {r.id: r for r in conn.execute(select(tasks).where(tasks.c.id.in_(ids)))}


def _stale_writes(worker: ServiceProcess) -> float:
    text = urllib.request.urlopen(worker.http_url + "/metrics", timeout=10).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("bytebot_task_stale_writes_total{"))


def _check_exactly_once(db: Database, ids: list[str]) -> None:
    """Per task: COMPLETED, one completed attempt (the latest token's holder), and an event
    log in which nothing was written by a worker after its lease was taken: no event between
    a RETRYING and the next STARTED, and after the last STARTED exactly the steps and one
    COMPLETED."""
    with db.read() as conn:
        rows = {r.id: r for r in conn.execute(select(tasks).where(tasks.c.id.in_(ids)))}
        events: dict[str, list[str]] = {}
        for e in conn.execute(select(task_events.c.task_id, task_events.c.type)
                              .where(task_events.c.task_id.in_(ids))
                              .order_by(task_events.c.task_id, task_events.c.sequence)):
            events.setdefault(e.task_id, []).append(e.type)
        attempts: dict[str, list[tuple[str, str]]] = {}
        for a in conn.execute(select(task_attempts).where(task_attempts.c.task_id.in_(ids))
                              .order_by(task_attempts.c.id)):
            attempts.setdefault(a.task_id, []).append((a.worker_id, a.outcome))
    for task_id in ids:
        row, log = rows[task_id], events[task_id]
        assert row.status == Status.COMPLETED, (task_id, row.status, row.error)
        assert log.count(EventType.STARTED) == row.fence, (task_id, log)
        completed = [w for w, outcome in attempts[task_id] if outcome == AttemptOutcome.COMPLETED]
        assert completed == [row.worker_id], (task_id, attempts[task_id])
        last_start = len(log) - 1 - log[::-1].index(EventType.STARTED)
        assert log[last_start + 1:] == [EventType.STEP_STARTED, EventType.STEP_FINISHED] * 2 + [
            EventType.COMPLETED], (task_id, log)
        for i, kind in enumerate(log):
            if kind == EventType.RETRYING:
                assert log[i + 1] == EventType.STARTED, (task_id, log)


def _dump(cluster: Cluster) -> None:
    """On failure: the warnings and errors each process logged."""
    for proc in [*cluster.apis, *cluster.workers]:
        for record in proc.records:
            if record.get("level") in ("warn", "warning", "error"):
                print(proc.args[3], proc.service, {k: v for k, v in record.items() if k not in (
                    "service", "version", "environment", "userId", "timestamp")})


def test_a_worker_cut_off_mid_task_and_an_api_cut_off_from_the_database(
    cluster: Cluster,
) -> None:
    try:
        _scenario(cluster)
    except BaseException:
        _dump(cluster)
        raise


def _scenario(cluster: Cluster) -> None:
    lab, db = cluster.lab, cluster.db
    api1, api2 = cluster.apis
    w1 = cluster.workers[0]
    started = time.monotonic()

    # ---- 1. a worker cut off mid-task for longer than its lease -------------------------
    ids = _create(api1.grpc_target, 12, "before") + _create(api2.grpc_target, 12, "before-2")

    def w1_in_a_step() -> list[str]:
        return [r.id for r in _rows(db, ids).values()
                if r.status == Status.RUNNING and r.worker_id == "w-1" and r.last_event_seq > 2]

    wait_until(w1_in_a_step, 30, "worker 1 to be in the middle of a task")
    lab.cut(cluster.hosts["w1"])
    cut_at = time.monotonic()
    lost = [r.id for r in _rows(db, ids).values()
            if r.status == Status.RUNNING and r.worker_id == "w-1"]
    assert lost, "worker 1 finished its tasks before the cut"
    # The others take over w-1's tasks once its lease expired, and complete them.
    wait_until(lambda: all(r.status == Status.COMPLETED for r in _rows(db, lost).values()),
               40, "the other workers to complete worker 1's tasks")
    assert time.monotonic() - cut_at > LEASE_SECONDS
    assert {r.worker_id for r in _rows(db, lost).values()} <= {"w-2", "w-3"}
    lab.heal(cluster.hosts["w1"])
    healed_at = time.monotonic()
    # The cut-off worker comes back by itself (same process) and runs tasks again.
    wait_until(lambda: _readiness(w1.grpc_target) == SERVING, 30, "worker 1 to be ready again")
    w1_ready_after = time.monotonic() - healed_at
    wait_until(lambda: all(r.status in Status.TERMINAL for r in _rows(db, ids).values()), 60,
               "every task to finish")
    assert w1.proc is not None and w1.proc.poll() is None
    after = _create(api2.grpc_target, 12, "after")
    wait_until(lambda: all(r.status in Status.TERMINAL for r in _rows(db, after).values()), 60,
               "the tasks created after the heal to finish")
    _check_exactly_once(db, ids + after)
    by_w1 = [r.id for r in _rows(db, after).values() if r.worker_id == "w-1"]
    assert by_w1, "worker 1 ran none of the tasks created after it was reconnected"
    stale = _stale_writes(w1)
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
    assert _readiness(api1.grpc_target) == SERVING
    lab.blackhole(cluster.hosts["api1"], lab.database_address)
    cut_at = time.monotonic()
    wait_until(lambda: _readiness(api1.grpc_target) == NOT_SERVING, 20,
               "api1's readiness to turn NOT_SERVING")
    not_serving_after = time.monotonic() - cut_at
    with grpc.insecure_channel(api1.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            tasks_pb2_grpc.TaskServiceStub(channel).CreateTask(
                T.CreateTaskRequest(description="during", request_id="during-1"), timeout=15)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value
    assert "retry later" in (refused.value.details() or "")
    assert _readiness(api2.grpc_target) == SERVING
    served = _create(api2.grpc_target, 1, "during-2")  # the other API keeps serving
    lab.unblackhole(cluster.hosts["api1"], lab.database_address)
    healed_at = time.monotonic()
    wait_until(lambda: _readiness(api1.grpc_target) == SERVING, 20,
               "api1's readiness to recover")
    serving_after = time.monotonic() - healed_at
    healed = _create(api1.grpc_target, 2, "healed")
    wait_until(lambda: all(r.status in Status.TERMINAL for r in _rows(db, served + healed)
                           .values()), 30, "the tasks created around the API partition")
    _check_exactly_once(db, served + healed)
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
