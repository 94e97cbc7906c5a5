"""A tasks cluster on network-namespace hosts (netns.py) and the exactly-once audit, shared by
tests/integration/tasks/test_partitions.py and bench/partition_soak.py.

`open_network` makes the lab (bridge, database forwarder) and a migrated private schema;
`start_cluster` starts tasks-api x2, tasks-worker x3 and the computer, one host each.
`audit` reads the database's view of a set of tasks (status, attempts, event log) and
returns, per task, what broke exactly-once; `check_exactly_once` asserts there is nothing.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from bytebot.tasks.v1 import tasks_pb2 as T
from bytebot.tasks.v1 import tasks_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.engine import make_url

from services.tasks import migrate
from services.tasks.db import Database
from services.tasks.records import AttemptOutcome, EventType, Status
from services.tasks.schema import task_attempts, task_events, tasks
from services.tasks.testing.databases import temporary_postgres_schema
from services.tasks.testing.netns import Host, Lab
from services.tasks.testing.processes import ServiceProcess, stop_all
from services.tasks.testing.steps import wait_action

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
class Network:
    lab: Lab
    db: Database  # migrated, seen from the root namespace
    remote_url: str  # the same database as the hosts reach it (through the forwarder)


@contextmanager
def open_network(prefix: str = "bt_partition") -> Iterator[Network]:
    """The lab and a private, migrated PostgreSQL schema; both removed on exit."""
    lab = Lab()
    with temporary_postgres_schema(prefix) as url:
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


@dataclass
class Cluster:
    lab: Lab
    db: Database  # the caller's own view of the database (from the root namespace)
    apis: list[ServiceProcess]
    workers: list[ServiceProcess]
    hosts: dict[str, Host]
    procs: list[ServiceProcess] = field(default_factory=list)  # every process started


def in_host(host: Host, service: str, settings: dict[str, Any],
            env: dict[str, str] | None = None) -> ServiceProcess:
    proc = ServiceProcess(service, {
        "grpc_host": host.address,
        "http_host": host.address,
        # Only the lab's own namespaces can reach these addresses.
        "insecure_allow_open": "true",
        "health_check_interval_seconds": 0.5,
        **settings,
    }, env=env)
    proc.args = host.wrap(proc.args)
    return proc


def worker_settings(lease_seconds: float, concurrency: int = 2) -> dict[str, Any]:
    """Short intervals so a lost lease is noticed and taken over within seconds."""
    return {
        "worker_concurrency": concurrency,
        "worker_dependencies": "database,computer",
        "lease_seconds": lease_seconds,
        "heartbeat_interval_seconds": 0.5,
        "reap_interval_seconds": 0.5,
        "retry_backoff_seconds": 0.2,
        "poll_interval_seconds": 0.1,
        "step_timeout_seconds": 5,
    }


@contextmanager
def start_cluster(network: Network, lease_seconds: float,
                  concurrency: int = 2) -> Iterator[Cluster]:
    lab, remote_url = network.lab, network.remote_url
    cluster = Cluster(lab=lab, db=network.db, apis=[], workers=[], hosts={})
    try:
        cluster.hosts = {role: lab.add_host(role, octet) for role, octet in [
            ("api1", 11), ("api2", 12), ("w1", 21), ("w2", 22), ("w3", 23), ("desk", 31)]}
        computer = in_host(cluster.hosts["desk"], "computer", {}, env={"DISPLAY": ""})
        computer.env.pop("DISPLAY", None)  # the computer starts its own Xvfb
        cluster.procs.append(computer.start(timeout=60))
        common = {
            "database_url": remote_url,
            "database_tcp_user_timeout_seconds": 2,
            "database_connect_timeout_seconds": 2,
            "queue_length_refresh_seconds": 60,
        }
        cluster.apis = [in_host(cluster.hosts[h], "tasks-api", common) for h in ("api1", "api2")]
        cluster.workers = [
            in_host(cluster.hosts[f"w{i}"], "tasks-worker", {
                **common, **worker_settings(lease_seconds, concurrency),
                "worker_id": f"w-{i}", "computer_address": computer.grpc_target,
            })
            for i in (1, 2, 3)
        ]
        cluster.procs += [p.launch() for p in [*cluster.apis, *cluster.workers]]
        for p in [*cluster.apis, *cluster.workers]:
            p.wait_started(90)
        yield cluster
    finally:
        stop_all(cluster.procs)


def restart(cluster: Cluster, index: int, timeout: float = 90) -> ServiceProcess:
    """A fresh process with the same command line for worker `index` (after a kill)."""
    old = cluster.workers[index]
    new = ServiceProcess(old.service, {})
    new.args, new.env = list(old.args), dict(old.env)
    cluster.procs.append(new.launch())
    cluster.workers[index] = new
    return new.wait_started(timeout)


def create_tasks(target: str, n: int, tag: str, step_ms: int, steps: int = 2) -> list[str]:
    with grpc.insecure_channel(target) as channel:
        stub = tasks_pb2_grpc.TaskServiceStub(channel)
        return [
            stub.CreateTask(T.CreateTaskRequest(
                description=f"{tag} {i}", request_id=f"{tag}-{i}",
                steps=[wait_action(step_ms) for _ in range(steps)]), timeout=15).task.id
            for i in range(n)
        ]


def readiness(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="readiness"), timeout=3).status
        except grpc.RpcError:
            return -1


def rows(db: Database, ids: list[str]) -> dict[str, Any]:
    with db.read() as conn:
        return {r.id: r for r in conn.execute(select(tasks).where(tasks.c.id.in_(ids)))}


def stale_writes_by_operation(worker: ServiceProcess, timeout: float = 10) -> dict[str, float]:
    """bytebot_task_stale_writes_total{operation} of one worker process."""
    text = urllib.request.urlopen(worker.http_url + "/metrics", timeout=timeout).read().decode()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "bytebot_task_stale_writes_total":
                operation = sample.labels.get("operation", "")
                found[operation] = found.get(operation, 0.0) + sample.value
    return found


def stale_writes(worker: ServiceProcess, timeout: float = 10) -> float:
    """bytebot_task_stale_writes_total of one worker process (all operations)."""
    return sum(stale_writes_by_operation(worker, timeout).values())


@dataclass
class Audit:
    problems: dict[str, list[str]]  # task id -> what broke exactly-once
    lost: list[str]  # not COMPLETED (missing or another status)
    double: list[str]  # more than one completed attempt, or a write after lease loss
    takeovers: int  # claims after the first one (sum of fence - 1)
    attempts_by_outcome: dict[str, int]


def audit(db: Database, ids: list[str], steps: int = 2) -> Audit:
    """Per task: COMPLETED, one completed attempt (the latest token's holder), and an event
    log in which nothing was written by a worker after its lease was taken: no event between
    a RETRYING and the next STARTED, and after the last STARTED exactly the steps and one
    COMPLETED."""
    with db.read() as conn:
        found = {r.id: r for r in conn.execute(select(tasks).where(tasks.c.id.in_(ids)))}
        events: dict[str, list[str]] = {}
        for e in conn.execute(select(task_events.c.task_id, task_events.c.type)
                              .where(task_events.c.task_id.in_(ids))
                              .order_by(task_events.c.task_id, task_events.c.sequence)):
            events.setdefault(e.task_id, []).append(e.type)
        attempts: dict[str, list[tuple[str, str]]] = {}
        for a in conn.execute(select(task_attempts).where(task_attempts.c.task_id.in_(ids))
                              .order_by(task_attempts.c.id)):
            attempts.setdefault(a.task_id, []).append((a.worker_id, a.outcome))
    result = Audit(problems={}, lost=[], double=[], takeovers=0, attempts_by_outcome={})
    tail = [EventType.STEP_STARTED, EventType.STEP_FINISHED] * steps + [EventType.COMPLETED]
    for task_id in ids:
        for _, outcome in attempts.get(task_id, []):
            result.attempts_by_outcome[outcome] = result.attempts_by_outcome.get(outcome, 0) + 1
        row, log = found.get(task_id), events.get(task_id, [])
        broken: list[str] = []
        if row is None or row.status != Status.COMPLETED:
            broken.append(f"status {row.status if row else 'missing'} "
                          f"({row.error if row else ''})")
            result.lost.append(task_id)
        if row is None:
            result.problems[task_id] = broken
            continue
        result.takeovers += max(row.fence - 1, 0)
        doubled = False
        if log.count(EventType.STARTED) != row.fence:
            broken.append(f"{log.count(EventType.STARTED)} STARTED for fence {row.fence}: {log}")
            doubled = True
        completed = [w for w, o in attempts.get(task_id, []) if o == AttemptOutcome.COMPLETED]
        if row.status == Status.COMPLETED and completed != [row.worker_id]:
            broken.append(f"completed attempts {completed}, holder {row.worker_id}")
            doubled = True
        if EventType.STARTED in log and row.status == Status.COMPLETED:
            last_start = len(log) - 1 - log[::-1].index(EventType.STARTED)
            if log[last_start + 1:] != tail:
                broken.append(f"after the last STARTED: {log[last_start + 1:]}")
                doubled = True
        for i, kind in enumerate(log):
            if kind == EventType.RETRYING and log[i + 1:i + 2] != [EventType.STARTED]:
                broken.append(f"a write after lease loss at event {i}: {log}")
                doubled = True
                break
        if doubled:
            result.double.append(task_id)
        if broken:
            result.problems[task_id] = broken
    return result


def check_exactly_once(db: Database, ids: list[str], steps: int = 2) -> None:
    problems = audit(db, ids, steps).problems
    assert not problems, dict(list(problems.items())[:5])


def dump(cluster: Cluster) -> None:
    """On failure: the warnings and errors each process logged."""
    for proc in cluster.procs:
        for record in proc.records:
            if record.get("level") in ("warn", "warning", "error"):
                print(proc.args[3], proc.service, {k: v for k, v in record.items() if k not in (
                    "service", "version", "environment", "userId", "timestamp")})
