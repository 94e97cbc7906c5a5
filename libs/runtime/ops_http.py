"""The HTTP ops port: `GET /metrics` and `GET /health/live|ready|startup`.

It runs in its own thread (stdlib `http.server`, no extra dependency) for two reasons: it
answers while the service's start-up steps still run, and `/health/live` can report a stuck
event loop (a loop-bound server could not answer at all). Every body is computed from the
`HealthManager` — the same state the gRPC health service serves.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from libs.net import host_for_clients
from libs.runtime.health import HealthManager

MetricsRenderer = Callable[[str | None], tuple[bytes, str]]

JSON_TYPE = "application/json; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    server: _OpsServer
    protocol_version = "HTTP/1.1"
    server_version = "bytebot-ops"
    # an idle keep-alive connection (a scraper between scrapes) frees its thread after this
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes and probes every few seconds would drown the logs; stay silent."""

    def _send(self, code: int, body: bytes, content_type: str, extra: dict[str, str] | None = None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, body: dict[str, Any]) -> None:
        self._send(code, json.dumps(body).encode(), JSON_TYPE)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        ops = self.server
        try:
            if path == "/metrics":
                body, content_type = ops.render_metrics(self.headers.get("Accept"))
                self._send(200, body, content_type)
            elif path == "/health/live":
                self._json(*ops.health.live_body())
            elif path == "/health/ready":
                ops.health.refresh_from_thread(timeout=ops.health.check_timeout + 1.0)
                self._json(*ops.health.ready_body())
            elif path == "/health/startup":
                self._json(*ops.health.startup_body())
            else:
                self._json(404, {"status": "error", "error": f"no such path {path}"})
        except Exception as exc:  # an ops endpoint must answer, never hang up
            self._json(500, {"status": "error", "error": type(exc).__name__})

    def _not_allowed(self) -> None:
        self._send(
            405,
            json.dumps({"status": "error", "error": "method not allowed"}).encode(),
            JSON_TYPE,
            {"Allow": "GET"},
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def do_HEAD(self) -> None:
        self.do_GET()


class _OpsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], health: HealthManager, render_metrics: MetricsRenderer
    ) -> None:
        self.health = health
        self.render_metrics = render_metrics
        super().__init__(address, _Handler)


class _OpsServer6(_OpsServer):
    address_family = socket.AF_INET6


class OpsHttpServer:
    """`start()` binds (port 0 → a free port, see `.port`) and serves in a daemon thread."""

    def __init__(
        self, host: str, port: int, health: HealthManager, render_metrics: MetricsRenderer
    ) -> None:
        self._address = (host, port)
        self._health = health
        self._render = render_metrics
        self._server: _OpsServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        server_cls = _OpsServer6 if ":" in self._address[0] else _OpsServer
        self._server = server_cls(self._address, self._health, self._render)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="bytebot-ops-http",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def url(self) -> str:
        return f"http://{host_for_clients(self._address[0])}:{self.port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None


__all__ = ["OpsHttpServer"]
