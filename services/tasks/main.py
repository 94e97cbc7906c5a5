"""Entries of the two tasks services: `bytebot serve tasks-api` (API_ENTRY) and
`bytebot serve tasks-worker` (WORKER_ENTRY).

Both open the task database, run the migrations as the start-up step `database_migrations`,
check the database for readiness (a real query, timed), export
`bytebot_database_connections_active` and refresh `bytebot_task_queue_length`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bytebot.computer.v1 import computer_pb2_grpc
from bytebot.inference.v1 import inference_pb2_grpc
from bytebot.tasks.v1 import tasks_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from libs.observability.logging import get_logger
from libs.runtime.retry import RetryBudget
from libs.runtime.server import RuntimeContext, ServiceEntry, ServiceSpec, StartupStep
from services.tasks import migrate
from services.tasks.config import (
    API_SERVICE,
    WORKER_SERVICE,
    TasksApiSettings,
    TasksSettings,
    TasksWorkerSettings,
)
from services.tasks.db import Database, describe_url
from services.tasks.executor import RetryPolicy, StepExecutor
from services.tasks.metrics import (
    TaskMetrics,
    database_connections_gauge,
    instrument_queries,
)
from services.tasks.notifications import (
    LOCAL_BUS,
    EventHub,
    PostgresListener,
    SqliteEventPoller,
)
from services.tasks.queue import TaskQueue
from services.tasks.queue_watch import QueueWatch
from services.tasks.servicer import TaskServicer
from services.tasks.store import TaskStore
from services.tasks.worker import TaskWorker, WorkerOptions, default_worker_id

log = get_logger(__name__)

SERVICE_NAME = API_SERVICE.grpc_services[0]  # from the generated descriptor
KNOWN_DEPENDENCIES = ("database", "computer", "inference")


class _Common:
    """What the API and the worker share: database, store, metrics, migrations, checks."""

    def __init__(self, settings: TasksSettings, runtime: RuntimeContext) -> None:
        self.db = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            connect_timeout_seconds=settings.database_connect_timeout_seconds,
            tcp_user_timeout_seconds=settings.database_tcp_user_timeout_seconds,
        )
        self.store = TaskStore(self.db, notify_channel=settings.notify_channel)
        self.metrics = TaskMetrics(runtime.registry, user_label_cap=settings.user_label_cap)
        database_connections_gauge(runtime.registry, self.db)
        instrument_queries(runtime.registry, self.db.engine)
        self.refresh_seconds = settings.queue_length_refresh_seconds
        self.loops = runtime.loops
        self.loop_policy = {
            "tolerance": settings.loop_failure_tolerance_seconds,
            "backoff_max": settings.loop_backoff_max_seconds,
        }
        # Supervised (libs.runtime.supervised_loop): a failed refresh is counted and retried;
        # the gauge can no longer freeze silently because one exception killed the loop.
        self.queue_refresh = self.loops.add(
            "queue_length_refresh",
            self.refresh_queue_lengths_once,
            interval=self.refresh_seconds,
            # a hung query is a failure too (the gauge would freeze as surely)
            timeout=max(30.0, self.refresh_seconds),
            # Retry a failed refresh from 1 s, not from the refresh interval (the loop's
            # default): past its tolerance this loop holds readiness NOT_SERVING, and in the
            # worker readiness gates claims, so after a database outage the queue stood still
            # for up to an interval (15 s) after the database was back (bench/database_outage.py).
            backoff_initial=min(1.0, self.refresh_seconds),
            **self.loop_policy,
        )
        log.info("task database", url=describe_url(self.db.url))

    async def run_migrations(self) -> str:
        revision = await self.db.run(migrate.upgrade, self.db)
        return f"at revision {revision}"

    async def check_database(self) -> None:
        await self.db.run(self.db.ping)

    async def refresh_queue_lengths_once(self) -> None:
        self.metrics.set_queue_lengths(await self.db.run(self.store.queue_lengths))

    async def close(self) -> None:
        await asyncio.to_thread(self.db.close)


def build_api(settings: TasksApiSettings, runtime: RuntimeContext) -> ServiceSpec:
    common = _Common(settings, runtime)
    hub = EventHub()
    # Every event committed in this process (by this API or a worker sharing the process).
    unsubscribe = LOCAL_BUS.subscribe(common.store.bus_key, hub.notify_threadsafe)
    background: list[Callable[[], Awaitable[None]]] = [common.queue_refresh.run]
    if common.db.is_postgresql:
        # LISTEN wakes the watchers; each stream re-reads now and then as a safety net.
        safety_net = settings.watch_poll_seconds or 5.0
        listener = PostgresListener.for_hub(common.db.url, settings.notify_channel, hub)
        background.append(listener.supervised(common.loops, **common.loop_policy).run)
    else:
        # The poller wakes the watchers; the per-stream re-read is only a safety net.
        poller = SqliteEventPoller(
            common.db,
            hub,
            min_interval=settings.watch_poll_seconds or 0.1,
            max_interval=settings.watch_poll_max_seconds,
        )
        safety_net = max(5.0, settings.watch_poll_max_seconds)
        background.append(poller.supervised(common.loops, **common.loop_policy).run)
    servicer = TaskServicer(
        common.db,
        common.store,
        hub,
        common.metrics,
        default_max_attempts=settings.default_max_attempts,
        watch_poll_seconds=safety_net,
    )

    async def unsubscribe_hub() -> None:
        unsubscribe()

    return ServiceSpec(
        servicers=[(tasks_pb2_grpc.add_TaskServiceServicer_to_server, servicer)],
        service_names=[SERVICE_NAME],
        startup_steps=[StartupStep("database_migrations", common.run_migrations)],
        readiness_checks={"database": common.check_database},
        background=background,
        shutdown_hooks=[unsubscribe_hub, common.close],
    )


def _health_check(channel: object, target: str) -> Callable[[], Awaitable[None]]:
    stub = health_pb2_grpc.HealthStub(channel)

    async def check() -> None:
        reply = await stub.Check(health_pb2.HealthCheckRequest(service="readiness"), timeout=2.0)
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            raise RuntimeError(f"{target} readiness is {status}")

    return check


def build_worker(settings: TasksWorkerSettings, runtime: RuntimeContext) -> ServiceSpec:
    # worker_dependencies and worker_concurrency are checked by their settings types
    # (Dependency, PositiveInt): a bad value never gets here.
    common = _Common(settings, runtime)
    # retries=False: the executor is the one place that retries a step's calls (with a
    # retry budget and the step's deadline); channel retries would multiply with it.
    computer_channel = runtime.channel(settings.computer_address, retries=False)
    inference_channel = runtime.channel(settings.inference_address, retries=False)
    executor = StepExecutor(
        computer_pb2_grpc.ComputerServiceStub(computer_channel),
        inference_pb2_grpc.InferenceServiceStub(inference_channel),
        rpc_timeout_seconds=settings.step_timeout_seconds,
        retry=RetryPolicy(
            max_attempts=settings.step_max_attempts,
            initial_backoff_seconds=settings.step_retry_backoff_seconds,
        ),
        budget=RetryBudget(
            settings.step_retry_budget_ratio,
            min_per_second=settings.step_retry_budget_min_per_second,
        ),
        registry=runtime.registry,
    )
    queue = TaskQueue(
        common.store,
        lease_seconds=settings.lease_seconds,
        retry_backoff_seconds=settings.retry_backoff_seconds,
        retry_backoff_max_seconds=settings.retry_backoff_max_seconds,
        on_stale_write=common.metrics.stale_write,
    )
    background: list[Callable[[], Awaitable[None]]] = []
    listener: PostgresListener | None = None
    watch = QueueWatch(
        common.store,
        min_interval=settings.poll_interval_seconds,
        max_interval=settings.poll_max_interval_seconds,
        pushed=lambda: listener is not None and listener.connected.is_set(),
        probe_health=common.loops.track(
            "queue_probe",
            readiness=False,  # see QueueWatch: a worker that is not ready does not probe
            interval=settings.poll_interval_seconds,
            backoff_initial=settings.poll_max_interval_seconds,
            **common.loop_policy,
        ),
    )
    if common.db.is_postgresql:
        # Task created or requeued anywhere → NOTIFY → this worker claims at once.
        listener = PostgresListener(
            common.db.url, settings.notify_channel, watch.on_payload, watch.wake,
            name="queue_listener",
        )
        background.append(listener.supervised(common.loops, **common.loop_policy).run)
    worker = TaskWorker(
        common.db,
        queue,
        executor,
        common.metrics,
        WorkerOptions(
            worker_id=settings.worker_id or default_worker_id(),
            concurrency=settings.worker_concurrency,
            poll_interval_seconds=settings.poll_interval_seconds,
            poll_max_interval_seconds=settings.poll_max_interval_seconds,
            heartbeat_interval_seconds=settings.heartbeat_interval_seconds,
            task_timeout_seconds=settings.task_timeout_seconds,
            reap_interval_seconds=settings.reap_interval_seconds,
        ),
        # Claim only while ready (dependencies answer) and not shutting down.
        may_claim=lambda: runtime.health.snapshot().ready,
        watch=watch,
    )
    checks: dict[str, Callable[[], Awaitable[None]]] = {}
    if "database" in settings.worker_dependencies:
        checks["database"] = common.check_database
    if "computer" in settings.worker_dependencies:
        checks["computer"] = _health_check(computer_channel, settings.computer_address)
    if "inference" in settings.worker_dependencies:
        checks["inference"] = _health_check(inference_channel, settings.inference_address)

    async def drain() -> None:
        await worker.drain(settings.drain_seconds)

    return ServiceSpec(
        startup_steps=[StartupStep("database_migrations", common.run_migrations)],
        readiness_checks=checks,
        background=[worker.run, worker.reap_forever, common.queue_refresh.run, *background],
        shutdown_hooks=[drain, common.close],
    )


API_ENTRY = ServiceEntry(name=API_SERVICE.name, settings_cls=TasksApiSettings, build=build_api)
WORKER_ENTRY = ServiceEntry(
    name=WORKER_SERVICE.name, settings_cls=TasksWorkerSettings, build=build_worker
)
