"""The database handle: engine, transactions, the thread pool asyncio code reaches it through.

Why a sync engine behind a thread pool (and not SQLAlchemy's asyncio extension): the same
code then runs on SQLite (pysqlite, no async driver installed) and PostgreSQL (psycopg 3),
transactions stay plain `with` blocks that are easy to reason about, and the pool of threads
is sized to the connection pool so callers queue in one place. PostgreSQL LISTEN/NOTIFY,
which needs a long-lived async connection, uses psycopg's AsyncConnection directly
(`notifications.py`).

SQLite specifics: WAL (readers never block the writer), `busy_timeout` (a second process
waits instead of failing), foreign keys on, and every write transaction starts with
`BEGIN IMMEDIATE`: it takes the write lock up front, so a read-then-update (a claim) can
never interleave with another process's — and never dies half-way with SQLITE_BUSY on a
lock upgrade. Writes in one process also queue on a lock, so threads wait fairly instead of
spinning in SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0


def default_sqlite_path() -> Path:
    """`$XDG_DATA_HOME/bytebot/bytebot.db` (default `~/.local/share/...`): the API and the
    worker find the same file whatever directory they were started from."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bytebot" / "bytebot.db"


def resolve_database_url(url: str | None) -> URL:
    """The configured URL, or the default SQLite file (its directory is created)."""
    if not url:
        path = default_sqlite_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return URL.create("sqlite+pysqlite", database=str(path))
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would pick psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError(
                "an in-memory SQLite database cannot be shared by the API and the worker; "
                "give a file path (sqlite:///path/to/bytebot.db)"
            )
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed


def describe_url(url: URL) -> str:
    """The URL for logs: never the password."""
    return url.render_as_string(hide_password=True)


class Database:
    def __init__(
        self,
        url: str | URL | None,
        *,
        pool_size: int = 5,
        max_overflow: int = 5,
        connect_timeout_seconds: float = 5.0,
        tcp_user_timeout_seconds: float = 10.0,
    ) -> None:
        self.url = url if isinstance(url, URL) else resolve_database_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")
        connect_args: dict[str, Any] = {}
        if self.dialect == "sqlite":
            connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
        else:
            connect_args = {"connect_timeout": max(1, int(connect_timeout_seconds))}
            if tcp_user_timeout_seconds > 0:
                # A network partition drops packets without a reset: without these a query
                # sent into it waits for TCP's own give-up (~15 min) and the caller with it.
                # TCP_USER_TIMEOUT bounds how long sent data may stay unacknowledged (and
                # keepalive probes, which find a dead idle connection); the statement then
                # fails (OperationalError → UNAVAILABLE) and the pool reconnects after.
                probe = max(1, int(tcp_user_timeout_seconds / 3))
                connect_args.update(
                    tcp_user_timeout=int(tcp_user_timeout_seconds * 1000),
                    keepalives=1,
                    keepalives_idle=probe,
                    keepalives_interval=probe,
                    keepalives_count=3,
                )
        self.engine: Engine = create_engine(
            self.url,
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=30,
            # No pre-ping (it costs a round trip per checkout, ~1/3 of a GetTask): a pooled
            # connection that died with a database restart fails its first query, is
            # invalidated by SQLAlchemy, and the caller gets UNAVAILABLE (retried by our
            # clients' retry policy); the readiness ping also disposes the pool on failure.
            pool_recycle=1800,
            connect_args=connect_args,
        )
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        elif tcp_user_timeout_seconds > 0:
            _end_abandoned_transactions(self.engine, tcp_user_timeout_seconds)
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self._executor = ThreadPoolExecutor(
            max_workers=pool_size + max_overflow, thread_name_prefix="bytebot-db"
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
        if self._write_lock is not None:
            with self._write_lock, self.engine.begin() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (deferred on SQLite: it never takes the write lock)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="DEFERRED")
            with conn.begin():
                yield conn

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking database code on the database threads, keeping contextvars
        (correlation id, span) so its logs stay correlated."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    def ping(self) -> float:
        """A real round trip through the task table; returns seconds taken, raises if down."""
        start = time.perf_counter()
        try:
            with self.read() as conn:
                conn.execute(text("SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT 1) AS t"))
        except Exception:
            # Idle pooled connections to a database that stopped answering are dead: drop
            # them so the connection gauge says what is really open (nothing).
            self.engine.dispose()
            raise
        return time.perf_counter() - start

    def open_connections(self) -> int:
        """Connections the pool holds open: checked out (in use) + checked in (idle).

        QueuePool.checkedout() counts slots handed out (including one being connected
        right now, which is undone if the connect fails), checkedin() counts idle
        connections in the queue; their sum is what is open. After a failed ping the pool
        is disposed, so an unreachable database reads 0."""
        pool = self.engine.pool
        if isinstance(pool, QueuePool):
            return max(0, pool.checkedin() + pool.checkedout())
        return 0

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.engine.dispose()


def _end_abandoned_transactions(engine: Engine, seconds: float) -> None:
    """PostgreSQL ends a session's transaction once it has been idle in it this long.

    A client cut off between a statement and its COMMIT (a partition) leaves its transaction
    open with its row locks held on the server, which cannot tell a silent client from a
    slow one; claims and the lease reaper then skip those rows (SKIP LOCKED) for as long
    as the partition lasts. Our transactions never idle for seconds, so one that does is
    abandoned: the server rolls it back and frees the rows."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET idle_in_transaction_session_timeout = {int(seconds * 1000)}")
        dbapi_conn.commit()  # a SET in a rolled-back transaction would be undone


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below); pysqlite's implicit transactions would start
        # them late (only before DML) and deferred.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")
