"""Settings of the tasks API and the tasks worker (every field is a `BYTEBOT_<FIELD>`
environment variable; see libs/runtime/config.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from bytebot.tasks.v1 import tasks_pb2
from pydantic import Field

from libs.env_settings import (
    CommaList,
    Folded,
    Interval,
    NonNegativeInt,
    Port,
    PositiveInt,
    Seconds,
)
from libs.runtime import registry
from libs.runtime.config import ServiceSettings
from libs.runtime.registry import ServiceDefinition

# The registrations (pyproject [project.entry-points."bytebot.services"], libs.runtime.registry)
API_SERVICE = ServiceDefinition(
    name="tasks-api",
    grpc_port=50051,
    http_port=9464,
    entry="services.tasks.main:API_ENTRY",
    grpc_services=(tasks_pb2.DESCRIPTOR.services_by_name["TaskService"].full_name,),
    prometheus_job="bytebot-api",
    address_env="BYTEBOT_TASKS_ADDRESS",
)
# the worker serves only health (and reflection) on its gRPC port
WORKER_SERVICE = ServiceDefinition(
    name="tasks-worker",
    grpc_port=50052,
    http_port=9465,
    entry="services.tasks.main:WORKER_ENTRY",
    prometheus_job="bytebot-worker",
    address_env="BYTEBOT_TASKS_WORKER_ADDRESS",
)


class TasksSettings(ServiceSettings):
    # SQLAlchemy URL; unset = the SQLite file $XDG_DATA_HOME/bytebot/bytebot.db.
    # PostgreSQL: postgresql://user:pass@host/db (driver psycopg 3).
    database_url: str | None = None
    database_pool_size: PositiveInt = 5
    database_max_overflow: NonNegativeInt = 5
    database_connect_timeout_seconds: Interval = 5.0
    # PostgreSQL: a statement whose packets go unacknowledged this long (a network partition)
    # fails instead of hanging; idle connections are probed as often (0: the OS defaults).
    database_tcp_user_timeout_seconds: Seconds = 10.0
    # PostgreSQL NOTIFY channel for task events (all replicas of one deployment share it).
    notify_channel: str = "bytebot_task_events"
    # How often bytebot_task_queue_length is recomputed from the database.
    queue_length_refresh_seconds: Interval = 15.0
    # Distinct user_id label values of bytebot_tasks_total before the rest become "other".
    user_label_cap: NonNegativeInt = 50
    # Background loops (queue-length refresh, the SQLite event poller, LISTEN) survive any
    # failure, backing off up to loop_backoff_max_seconds; one failing without a success
    # for longer than loop_failure_tolerance_seconds turns readiness NOT_SERVING.
    loop_failure_tolerance_seconds: Interval = 30.0
    loop_backoff_max_seconds: Interval = 5.0


class TasksApiSettings(TasksSettings):
    grpc_port: Port = API_SERVICE.grpc_port
    http_port: Port = API_SERVICE.http_port
    # WatchTask wake-ups from other processes. PostgreSQL: LISTEN/NOTIFY wakes watchers at
    # once; each stream also re-reads every watch_poll_seconds (unset: 5 s) as a safety net.
    # SQLite (no cross-process signal): one poll per process of the events appended since
    # the last look, every watch_poll_seconds (unset: 0.1 s) while anyone watches, backing
    # off to watch_poll_max_seconds while nothing changes.
    watch_poll_seconds: Interval | None = None
    watch_poll_max_seconds: Interval = 1.0
    # max_attempts of tasks created without one.
    default_max_attempts: PositiveInt = 3


# The readiness checks services.tasks.main knows (KNOWN_DEPENDENCIES; a test keeps them equal).
Dependency = Literal["database", "computer", "inference"]


def _local_target(service: str) -> str:
    """A dependency's address in the local stack: its registry entry's default port."""
    return registry.definition(service).grpc_target()


class TasksWorkerSettings(TasksSettings):
    grpc_port: Port = WORKER_SERVICE.grpc_port
    http_port: Port = WORKER_SERVICE.http_port
    computer_address: str = Field(default_factory=lambda: _local_target("computer"))
    inference_address: str = Field(default_factory=lambda: _local_target("inference"))
    # Readiness checks of the worker: any of database, computer, inference. The worker only
    # claims tasks while ready, so a missing desktop never turns queued tasks into failures.
    worker_dependencies: CommaList[Annotated[Dependency, Folded]] = Field(
        default_factory=lambda: ["database", "computer", "inference"]
    )
    # Unset: w-<hostname>-<pid>-<random>.
    worker_id: str | None = None
    worker_concurrency: PositiveInt = 4
    # An idle worker wakes at once when a task is created or requeued in its own process or
    # (PostgreSQL LISTEN) anywhere; otherwise it probes the queue with a cheap read every
    # poll_interval_seconds, backing off to poll_max_interval_seconds while the queue stays
    # empty (SQLite across processes has no notification), and never later than a
    # scheduled task's due time.
    poll_interval_seconds: Interval = 0.1
    poll_max_interval_seconds: Interval = 1.0
    # A claim is a lease: renewed every heartbeat_interval_seconds; a worker silent for
    # lease_seconds is presumed dead and its task goes back to the queue.
    lease_seconds: Interval = 30.0
    heartbeat_interval_seconds: Interval = 10.0
    reap_interval_seconds: Interval = 5.0
    # Base of the exponential delay before a task whose lease expired is claimable again.
    retry_backoff_seconds: Seconds = 1.0
    retry_backoff_max_seconds: Seconds = 60.0
    # The total time of one step, all its attempts and backoffs included (plus the time a
    # wait/delay asks for); every call gets what remains of it as its deadline.
    step_timeout_seconds: Interval = 60.0
    # A step failing with UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED is re-run
    # up to this many times in all, with exponential backoff (full jitter) from
    # step_retry_backoff_seconds, while the step's time lasts and the process's retry
    # budget allows: retries <= step_retry_budget_ratio of the steps, plus
    # step_retry_budget_min_per_second (the only retry layer: the worker's channels to
    # computer and inference do not retry).
    step_max_attempts: PositiveInt = 3
    step_retry_backoff_seconds: Seconds = 0.5
    step_retry_budget_ratio: Annotated[float, Field(ge=0)] = 0.1
    step_retry_budget_min_per_second: Annotated[float, Field(ge=0)] = 1.0
    task_timeout_seconds: Interval = 3600.0
    # On shutdown, running tasks get this long to finish before they are released.
    drain_seconds: Seconds = 30.0
