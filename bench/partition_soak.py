"""Exactly-once under repeated worker partitions and kills (issue 17 goal: 0 lost and 0
double-completed tasks of >= 1,000; 0 stale writes landed).

    .venv/bin/python bench/partition_soak.py [--tasks 1000] [--rate 8] [--step-ms 75]
        [--lease 3] [--max-partitions 8] [--max-kills 8]

The cluster of tests/integration/tasks/test_partitions.py (services/tasks/testing/
partition_cluster.py): tasks-api x2, tasks-worker x3 and the computer, each in its own network
namespace on a private bridge (10.213.0.0/24), PostgreSQL (a private schema) through a
forwarder on that bridge. Root only. `--tasks` tasks of two `wait` steps are created at
`--rate` a second over both APIs while a chaos loop alternates, bounded in count and time:

- partition: a random worker's link goes down (its packets vanish; the process keeps running)
  for the lease + 2 s, then comes back; the worker is not restarted;
- kill: a random worker is SIGKILLed and started again (same command line).

When every task is terminal (or the drain bound passed), the database's view is audited with
the test's own check (`audit`): lost = not COMPLETED; double-completed = more than one
completed attempt, or a worker's write after its lease was taken (events between a RETRYING
and the next STARTED, or anything but the steps and one COMPLETED after the last STARTED).
Stale writes refused: bytebot_task_stale_writes_total summed over every worker process (a
killed one counts with its last scrape before the kill), and the database's view (attempts
ended LOST: the worker found its lease gone when it tried to finish). Namespaces, the schema
and every process are removed on exit, SIGINT and SIGTERM included.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parents[1] / "protos"),
]

import grpc  # noqa: E402

from bench.database_outage import cleanup_on_signals  # noqa: E402
from services.tasks.records import AttemptOutcome, Status  # noqa: E402
from services.tasks.testing.databases import postgres_unavailable_reason  # noqa: E402
from services.tasks.testing.netns import netns_unavailable_reason  # noqa: E402
from services.tasks.testing.partition_cluster import (  # noqa: E402
    SERVING,
    Cluster,
    audit,
    create_tasks,
    open_network,
    readiness,
    restart,
    rows,
    stale_writes_by_operation,
    start_cluster,
)
from services.tasks.testing.processes import ServiceProcess  # noqa: E402


class Scrapes:
    """The last bytebot_task_stale_writes_total{operation} seen per worker process."""

    def __init__(self) -> None:
        self.last: dict[int, dict[str, float]] = {}

    def scrape(self, proc: ServiceProcess) -> None:
        if proc.proc is None or proc.proc.poll() is not None or not proc.http_url:
            return
        try:
            self.last[id(proc)] = stale_writes_by_operation(proc, timeout=2)
        except OSError:
            pass  # cut off right now: scraped again after the heal

    def by_operation(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for seen in self.last.values():
            for operation, value in seen.items():
                total[operation] = total.get(operation, 0.0) + value
        return {k: v for k, v in sorted(total.items()) if v}

    def total(self) -> float:
        return sum(self.by_operation().values())


class Chaos(threading.Thread):
    def __init__(self, cluster: Cluster, args: argparse.Namespace, scrapes: Scrapes) -> None:
        super().__init__(daemon=True)
        self.cluster, self.args, self.scrapes = cluster, args, scrapes
        self.stop = threading.Event()
        self.partitions = self.kills = 0
        self.partition_s: list[float] = []  # link down
        self.ready_after_heal_s: list[float] = []
        self.restart_s: list[float] = []
        self.errors: list[str] = []
        self.rng = random.Random(args.seed)

    def run(self) -> None:
        deadline = time.monotonic() + self.args.chaos_seconds
        kinds = ["partition", "kill"]
        while not self.stop.wait(self.args.pause) and time.monotonic() < deadline:
            kinds = [k for k in kinds if getattr(self, k + "s") < getattr(
                self.args, "max_" + k + "s")]
            if not kinds:
                return
            kind = kinds[(self.partitions + self.kills) % len(kinds)]
            index = self.rng.randrange(len(self.cluster.workers))
            for worker in self.cluster.workers:
                self.scrapes.scrape(worker)
            try:
                (self._partition if kind == "partition" else self._kill)(index)
            except Exception as exc:  # reported, the soak goes on
                self.errors.append(f"{kind} w{index + 1}: {type(exc).__name__}: {exc}")

    def _partition(self, index: int) -> None:
        host = self.cluster.hosts[f"w{index + 1}"]
        self.cluster.lab.cut(host)
        self.partitions += 1
        cut_at = time.monotonic()
        time.sleep(self.args.lease + 2)
        self.cluster.lab.heal(host)
        healed_at = time.monotonic()
        self.partition_s.append(healed_at - cut_at)
        worker = self.cluster.workers[index]
        deadline = healed_at + 30
        while readiness(worker.grpc_target) != SERVING:
            if time.monotonic() > deadline:
                raise RuntimeError("not ready 30 s after the heal")
            time.sleep(0.1)
        self.ready_after_heal_s.append(time.monotonic() - healed_at)
        self.scrapes.scrape(worker)

    def _kill(self, index: int) -> None:
        worker = self.cluster.workers[index]
        self.scrapes.scrape(worker)  # its last figure before the kill
        worker.kill()
        self.kills += 1
        killed_at = time.monotonic()
        restart(self.cluster, index)
        self.restart_s.append(time.monotonic() - killed_at)


def _create_paced(target: str, tag: str, n: int, rate: float, step_ms: int, ids: list[str],
                  errors: list[str]) -> None:
    started = time.monotonic()
    for i in range(n):
        time.sleep(max(0.0, started + i / rate - time.monotonic()))
        try:
            ids += create_tasks(target, 1, f"{tag}-{i}", step_ms)
        except grpc.RpcError as exc:
            errors.append(f"{exc.code().name}: {exc.details()}")


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.1f}-{max(values):.1f} s (mean {sum(values) / len(values):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=8.0, help="CreateTask calls a second")
    parser.add_argument("--step-ms", type=int, default=75, help="each of the two wait steps")
    parser.add_argument("--lease", type=float, default=3.0, help="lease seconds")
    parser.add_argument("--concurrency", type=int, default=3, help="tasks per worker")
    parser.add_argument("--max-partitions", type=int, default=8)
    parser.add_argument("--max-kills", type=int, default=8)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between faults")
    parser.add_argument("--chaos-seconds", type=float, default=150.0)
    parser.add_argument("--drain-seconds", type=float, default=90.0)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    for reason in (netns_unavailable_reason(), postgres_unavailable_reason()):
        if reason:
            print(f"cannot run: {reason}", file=sys.stderr)
            return 2
    started = time.monotonic()
    with cleanup_on_signals(), open_network("bt_soak") as network, \
            start_cluster(network, args.lease, args.concurrency) as cluster:
        up = time.monotonic() - started
        scrapes = Scrapes()
        chaos = Chaos(cluster, args, scrapes)
        ids_by_api: list[list[str]] = [[], []]
        create_errors: list[str] = []
        creators = [threading.Thread(target=_create_paced, daemon=True, args=(
            api.grpc_target, f"soak{k}", args.tasks // 2 + (k < args.tasks % 2),
            args.rate / 2, args.step_ms, ids_by_api[k], create_errors))
            for k, api in enumerate(cluster.apis)]
        load_started = time.monotonic()
        chaos.start()
        for t in creators:
            t.start()
        for t in creators:
            t.join()
        ids = ids_by_api[0] + ids_by_api[1]
        drain_deadline = time.monotonic() + args.drain_seconds
        while time.monotonic() < drain_deadline:
            if all(r.status in Status.TERMINAL for r in rows(cluster.db, ids).values()):
                break
            time.sleep(0.5)
        chaos.stop.set()
        chaos.join(60 + 2 * args.lease)  # a fault in progress is undone first
        drained = time.monotonic() - load_started
        for worker in cluster.workers:
            scrapes.scrape(worker)
        result = audit(cluster.db, ids)
        lost_in_db = result.attempts_by_outcome.get(AttemptOutcome.LOST, 0)
        print(f"cluster up in {up:.1f}s; load {drained:.1f}s (tasks created at {args.rate:g}/s, "
              f"two {args.step_ms} ms waits each, lease {args.lease:g}s, 3 workers x "
              f"{args.concurrency})")
        print(f"tasks created:            {len(ids)} (CreateTask errors: {len(create_errors)})")
        completed = sum(r.status == Status.COMPLETED for r in rows(cluster.db, ids).values())
        print(f"tasks completed:          {completed}")
        print(f"lost:                     {len(result.lost)}")
        print(f"double-completed:         {len(result.double)}")
        print(f"stale writes refused:     {scrapes.total():g} (bytebot_task_stale_writes_total "
              f"over {len(scrapes.last)} worker processes, by operation: "
              f"{scrapes.by_operation()}); attempts ended LOST in the "
              f"database: {lost_in_db}")
        print(f"partitions injected:      {chaos.partitions} (link down "
              f"{_spread(chaos.partition_s)}; ready again "
              f"{_spread(chaos.ready_after_heal_s)} after the heal, no restart)")
        print(f"kills injected:           {chaos.kills} (SIGKILL to started again "
              f"{_spread(chaos.restart_s)})")
        print(f"takeovers:                {result.takeovers} (claims after a task's first)")
        print(f"attempts by outcome:      {dict(sorted(result.attempts_by_outcome.items()))}")
        for error in chaos.errors + create_errors[:5]:
            print(f"  error: {error}")
        for task_id, problems in list(result.problems.items())[:10]:
            print(f"  {task_id}: {problems}")
    print(f"wall time:                {time.monotonic() - started:.1f}s (cleanup included)")
    ok = not result.lost and not result.double and len(ids) == args.tasks
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
