"""What clients, readiness and the queue do while the task database is gone (issue 17 item 5).

    .venv/bin/python bench/database_outage.py [--scenarios pg10,pg60,sqlite-lock]
        [--rate 4] [--after 15]

The real `tasks-api`, `tasks-worker` and `computer` processes (ServiceProcess) under a steady,
bounded load: `--rate` CreateTask calls a second (each task one 1 s `wait` step on the real
computer service), every created task followed by a WatchTask client that resumes from the
last event it saw when its stream breaks. Faults:

- pg10 / pg60: a PRIVATE PostgreSQL cluster (Debian's initdb/pg_ctl in a temporary directory,
  a free port, trust auth; never the machine's shared server on 5432) stopped with
  `pg_ctl stop -m fast` for 10 s / 60 s, then started again;
- sqlite-lock: the default SQLite store, its file held by another process (a sqlite3
  connection in `BEGIN EXCLUSIVE`) for 10 s.

Printed per scenario: client results by gRPC status code before / during / after the fault,
whether every UNAVAILABLE carried a retry hint, the readiness timeline (grpc.health.v1
`readiness` of the API and the worker and the API's /health/ready, polled every 100 ms),
recovery (first CreateTask answered OK after the database returned), watches that broke and
resumed, and the audit of every task whose CreateTask returned OK: missing (lost), not
terminal within the drain bound (stuck), finished more than once (double), FAILED.
The private cluster and every process are removed on exit, SIGINT and SIGTERM included.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parents[1] / "protos"),
]

import grpc  # noqa: E402
from bytebot.computer.v1 import action_pb2, computer_pb2  # noqa: E402
from bytebot.tasks.v1 import tasks_pb2, tasks_pb2_grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from services.tasks.db import Database  # noqa: E402
from services.tasks.records import EventType, Status  # noqa: E402
from services.tasks.schema import task_events, tasks  # noqa: E402
from services.tasks.testing.processes import ServiceProcess, stop_all  # noqa: E402

TERMINAL_PROTO = {
    tasks_pb2.TASK_STATUS_COMPLETED,
    tasks_pb2.TASK_STATUS_FAILED,
    tasks_pb2.TASK_STATUS_CANCELLED,
}
FINISH_EVENTS = (EventType.COMPLETED, EventType.FAILED, EventType.CANCELLED)
CREATE_DEADLINE_S = 15.0  # above SQLite's lock wait of a 10 s lock: the lock, not it, decides
POLL_S = 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster of the bench's own, so stopping it disturbs no one."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            raise RuntimeError("no Debian PostgreSQL binaries in /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="bt-pg-outage-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.running = False

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {done.stdout}{done.stderr}")

    def init(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        # fsync off: a throw-away cluster; the bench measures the outage, not the disk.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                   "-c fsync=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w",
                  "-t", "60", "-o", options, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.running or (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class SqliteLock:
    """Another process holding the SQLite file in BEGIN EXCLUSIVE until released."""

    CODE = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
        "c.execute('ROLLBACK')\n"
    )

    def __init__(self, path: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", self.CODE, path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "locked":
            raise RuntimeError("the locking process could not take the SQLite lock")

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(30)


@dataclass
class Call:
    sent: float
    done: float
    code: str
    hint: bool  # UNAVAILABLE whose message tells the caller to retry


@dataclass
class Watch:
    task_id: str
    created_at: float  # when its CreateTask returned OK
    breaks: list[str] = field(default_factory=list)  # status code of every broken stream
    finished_at: float | None = None
    status: int = 0


@dataclass
class Run:
    name: str
    fault_at: float = 0.0
    back_at: float = 0.0
    creates: list[Call] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    watches: list[Watch] = field(default_factory=list)
    skipped: int = 0  # creates not sent because too many were in flight (the load is bounded)
    timeline: dict[str, list[tuple[float, str]]] = field(default_factory=dict)


def phase(call: Call, run: Run) -> str:
    if call.sent < run.fault_at:
        return "before"
    return "during" if call.sent < run.back_at else "after"


class Load:
    """Creates at a steady rate, one resuming watcher per created task, readiness pollers."""

    def __init__(self, run: Run, api: ServiceProcess, worker: ServiceProcess, rate: float):
        self.run, self.api, self.worker, self.rate = run, api, worker, rate
        self.stop_creating = asyncio.Event()
        self.stop_polling = asyncio.Event()
        self.watch_tasks: list[asyncio.Task[None]] = []
        self.in_flight = asyncio.Semaphore(32)

    async def __aenter__(self) -> Load:
        self.channel = grpc.aio.insecure_channel(self.api.grpc_target)
        self.worker_channel = grpc.aio.insecure_channel(self.worker.grpc_target)
        self.stub = tasks_pb2_grpc.TaskServiceStub(self.channel)
        self.background = [
            asyncio.create_task(self._creator()),
            asyncio.create_task(self._poll_grpc("api grpc readiness", self.channel)),
            asyncio.create_task(self._poll_grpc("worker grpc readiness", self.worker_channel)),
            asyncio.create_task(self._poll_http("api /health/ready", self.api.http_url)),
            asyncio.create_task(self._poll_http("worker /health/ready", self.worker.http_url)),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop_creating.set()
        self.stop_polling.set()
        for task in self.background + self.watch_tasks:
            task.cancel()
        await asyncio.gather(*self.background, *self.watch_tasks, return_exceptions=True)
        await self.channel.close()
        await self.worker_channel.close()

    def _mark(self, source: str, state: str) -> None:
        line = self.run.timeline.setdefault(source, [])
        if not line or line[-1][1] != state:
            line.append((time.monotonic(), state))

    async def _poll_grpc(self, source: str, channel: grpc.aio.Channel) -> None:
        stub = health_pb2_grpc.HealthStub(channel)
        while not self.stop_polling.is_set():
            try:
                reply = await stub.Check(
                    health_pb2.HealthCheckRequest(service="readiness"), timeout=2.0)
                state = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError as exc:
                state = f"error {exc.code().name}"
            self._mark(source, state)
            await asyncio.sleep(POLL_S)

    async def _poll_http(self, source: str, url: str) -> None:
        def state(code: int, body: dict) -> str:
            # 503 and the names of the checks that fail: which dependency holds readiness
            failing = [n for n, c in body.get("checks", {}).items() if c.get("status") != "ok"]
            return f"{code} {','.join(failing)}".strip()

        def get() -> str:
            try:
                with urllib.request.urlopen(f"{url}/health/ready", timeout=2.0) as reply:
                    return state(reply.status, json.loads(reply.read()))
            except urllib.error.HTTPError as exc:
                return state(exc.code, json.loads(exc.read() or b"{}"))
            except OSError as exc:
                return f"error {type(exc).__name__}"

        while not self.stop_polling.is_set():
            self._mark(source, await asyncio.to_thread(get))
            await asyncio.sleep(POLL_S)

    def _request(self) -> tasks_pb2.CreateTaskRequest:
        wait = computer_pb2.WaitRequest()
        wait.duration.FromSeconds(1)
        return tasks_pb2.CreateTaskRequest(
            description="database outage bench",
            steps=[action_pb2.Action(wait=wait)],
            request_id=uuid.uuid4().hex,
        )

    async def _creator(self) -> None:
        period = 1.0 / self.rate
        next_at = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        while not self.stop_creating.is_set():
            if self.in_flight.locked():
                self.run.skipped += 1
            else:
                task = asyncio.create_task(self._create())
                pending.add(task)
                task.add_done_callback(pending.discard)
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.gather(*pending, return_exceptions=True)

    async def _create(self) -> None:
        async with self.in_flight:
            sent = time.monotonic()
            try:
                reply = await self.stub.CreateTask(self._request(), timeout=CREATE_DEADLINE_S)
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                hint = code == grpc.StatusCode.UNAVAILABLE and "retry" in (exc.details() or "")
                self.run.creates.append(Call(sent, time.monotonic(), code.name, hint))
                return
            self.run.creates.append(Call(sent, time.monotonic(), "OK", False))
            self.run.created.append(reply.task.id)
            watch = Watch(reply.task.id, time.monotonic())
            self.run.watches.append(watch)
            self.watch_tasks.append(asyncio.create_task(self._watch(watch)))

    async def _watch(self, watch: Watch) -> None:
        """Follow the task to its end; a broken stream resumes after the last event seen."""
        last = 0
        while True:
            request = tasks_pb2.WatchTaskRequest(id=watch.task_id, after_event_sequence=last)
            try:
                async for event in self.stub.WatchTask(request):
                    last = max(last, event.event_sequence)
                    if event.task.status in TERMINAL_PROTO:
                        watch.finished_at, watch.status = time.monotonic(), event.task.status
                        return
                if last:  # a resumed stream that ends at once: the end was seen already
                    return
            except grpc.aio.AioRpcError as exc:
                watch.breaks.append(exc.code().name)
            await asyncio.sleep(0.5)

    async def drain(self, timeout: float) -> None:
        """Stop creating, wait (bounded) for every watcher to see its task's end."""
        self.stop_creating.set()
        await asyncio.sleep(0.1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(t.done() for t in self.watch_tasks):
            await asyncio.sleep(0.2)


def audit(url: str, ids: list[str]) -> dict[str, int]:
    """Every task whose CreateTask returned OK: does it exist, did it end, and only once?"""
    db = Database(url)
    try:
        with db.read() as conn:
            statuses = dict(conn.execute(
                select(tasks.c.id, tasks.c.status).where(tasks.c.id.in_(ids))).all())
            finishes = dict(conn.execute(
                select(task_events.c.task_id, func.count())
                .where(task_events.c.task_id.in_(ids), task_events.c.type.in_(FINISH_EVENTS))
                .group_by(task_events.c.task_id)).all())
    finally:
        db.close()
    return {
        "ok": len(ids),
        "lost": sum(1 for i in ids if i not in statuses),
        "stuck": sum(1 for s in statuses.values() if s not in Status.TERMINAL),
        "double": sum(1 for n in finishes.values() if n > 1),
        "failed": sum(1 for s in statuses.values() if s == Status.FAILED),
        "completed": sum(1 for s in statuses.values() if s == Status.COMPLETED),
    }


async def scenario(name: str, api: ServiceProcess, worker: ServiceProcess, rate: float,
                   before: float, hold: float, after: float, fault, restore) -> Run:
    run = Run(name)
    async with Load(run, api, worker, rate) as load:
        await asyncio.sleep(before)
        run.fault_at = time.monotonic()
        await asyncio.to_thread(fault)
        await asyncio.sleep(max(0.0, run.fault_at + hold - time.monotonic()))
        await asyncio.to_thread(restore)
        run.back_at = time.monotonic()
        await asyncio.sleep(after)
        # Tasks running when a long outage began are dropped by their worker when its lease
        # runs out, then requeued by the reaper: allow for the lease (30 s) and a retry.
        await load.drain(timeout=45.0)
        await asyncio.sleep(1.0)  # readiness after the drain, for the timeline
    return run


def first_after(line: list[tuple[float, str]], at: float, want) -> float | None:
    for t, state in line:
        if t >= at and want(state):
            return t - at
    return None


def report(run: Run, counts: dict[str, int]) -> list[str]:
    out = [f"\n== {run.name}: fault held {run.back_at - run.fault_at:.1f} s"]
    by_phase: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for call in run.creates:
        by_phase[phase(call, run)][call.code] += 1
    for name in ("before", "during", "after"):
        codes = ", ".join(f"{c} {n}" for c, n in sorted(by_phase[name].items())) or "-"
        out.append(f"  CreateTask {name:6}: {codes}")
    unavailable = [c for c in run.creates if c.code == "UNAVAILABLE"]
    worse = sorted({c.code for c in run.creates} & {"UNKNOWN", "INTERNAL"})
    out.append(f"  UNAVAILABLE with a retry hint: {sum(c.hint for c in unavailable)}"
               f"/{len(unavailable)}; UNKNOWN/INTERNAL: {', '.join(worse) or 'none'}")
    during_ok = [c.done - c.sent for c in run.creates if phase(c, run) == "during"
                 and c.code == "OK"]
    if during_ok:
        out.append(f"  CreateTask OK sent during the fault: {len(during_ok)}, "
                   f"latency max {max(during_ok):.2f} s")
    ok_after = [c.done for c in run.creates if c.code == "OK" and c.done >= run.back_at]
    recovery = (min(ok_after) - run.back_at) if ok_after else None
    # The queue's recovery: a task created after the return, claimed and run (its 1 s step
    # included); tasks in flight at the fault can finish sooner and say nothing of claims.
    done_after = [w.finished_at for w in run.watches
                  if w.finished_at and w.created_at >= run.back_at]
    first_done = (min(done_after) - run.back_at) if done_after else None
    out.append("  recovery: first CreateTask OK " + _s(recovery, 2)
               + " after the database returned; first task created after it finished "
               + _s(first_done, 2) + " after (incl. its 1 s step)")
    for source, line in run.timeline.items():
        down = first_after(line, run.fault_at, lambda s: "SERVING" != s and not s.startswith("200"))
        up = first_after(line, run.back_at, lambda s: s in ("SERVING",) or s.startswith("200"))
        flips = " -> ".join(f"{s}@{t - run.fault_at:+.1f}" for t, s in line
                            if t >= run.fault_at - 1)
        out.append(f"  {source:22}: not ready {_s(down)} after the fault, ready {_s(up)} "
                   f"after the database returned  [{flips}]")
    broke = [w for w in run.watches if w.breaks]
    codes = collections.Counter(c for w in broke for c in w.breaks)
    out.append(f"  WatchTask: {len(run.watches)} watched, {len(broke)} broke "
               f"(failed stream attempts, retried every 0.5 s: "
               f"{', '.join(f'{c} {n}' for c, n in sorted(codes.items())) or '-'}), "
               f"{sum(1 for w in broke if w.finished_at)} resumed to the end, "
               f"{sum(1 for w in run.watches if not w.finished_at)} never saw the end")
    out.append(f"  tasks created OK: {counts['ok']}: lost {counts['lost']}, stuck "
               f"{counts['stuck']}, double-finished {counts['double']}, failed {counts['failed']}"
               f", completed {counts['completed']}; creates skipped (load bound) {run.skipped}")
    return out


def _s(value: float | None, digits: int = 1) -> str:
    return f"{value:.{digits}f} s" if value is not None else "never"


def services(url: str, computer: ServiceProcess) -> tuple[ServiceProcess, ServiceProcess]:
    api = ServiceProcess("tasks-api", {"database_url": url}).launch()
    worker = ServiceProcess("tasks-worker", {
        "database_url": url,
        "computer_address": computer.grpc_target,
        "worker_dependencies": "database,computer",
        "worker_concurrency": 8,
    }).launch()
    api.wait_started(90)
    worker.wait_started(90)
    return api, worker


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """SIGTERM/SIGINT unwind through the finally blocks (the private cluster is removed)."""
    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="pg10,pg60,sqlite-lock")
    parser.add_argument("--rate", type=float, default=4.0, help="CreateTask calls per second")
    parser.add_argument("--before", type=float, default=6.0, help="load before the fault, s")
    parser.add_argument("--after", type=float, default=15.0, help="load after recovery, s")
    args = parser.parse_args()
    wanted = args.scenarios.split(",")
    lines: list[str] = []
    started = time.monotonic()
    with cleanup_on_signals():
        computer = ServiceProcess("computer", {})
        computer.env.pop("DISPLAY", None)  # its own Xvfb
        computer.start(90)
        try:
            pg_runs = [(n, h) for n, h in (("pg10", 10.0), ("pg60", 60.0)) if n in wanted]
            if pg_runs:
                pg = PrivatePostgres().init()
                try:
                    pg.start()
                    api, worker = services(pg.url, computer)
                    try:
                        for name, hold in pg_runs:
                            run = asyncio.run(scenario(
                                f"{name}: PostgreSQL stopped (pg_ctl stop -m fast) {hold:g} s",
                                api, worker, args.rate, args.before, hold, args.after,
                                pg.stop, pg.start))
                            lines += report(run, audit(pg.url, run.created))
                            print("\n".join(lines[-12:]), flush=True)
                    finally:
                        stop_all([api, worker])
                finally:
                    pg.close()
            if "sqlite-lock" in wanted:
                with tempfile.TemporaryDirectory(prefix="bt-sqlite-outage-") as tmp:
                    path = f"{tmp}/bytebot.db"
                    url = f"sqlite:///{path}"
                    api, worker = services(url, computer)
                    holder: list[SqliteLock] = []
                    try:
                        run = asyncio.run(scenario(
                            "sqlite-lock: SQLite file in BEGIN EXCLUSIVE by another process 10 s",
                            api, worker, args.rate, args.before, 10.0, args.after,
                            lambda: holder.append(SqliteLock(path)),
                            lambda: holder[0].release()))
                        lines += report(run, audit(url, run.created))
                    finally:
                        for lock in holder:
                            lock.release()
                        stop_all([api, worker])
        finally:
            computer.stop()
    total = time.monotonic() - started
    print(f"\nDatabase outages: --rate {args.rate:g} CreateTask/s, one 1 s wait step each, "
          f"readiness polled every {POLL_S * 1000:.0f} ms; total {total:.0f} s")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
