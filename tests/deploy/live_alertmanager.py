"""A real Alertmanager (Debian's prometheus-alertmanager) for the monitoring truth test, and a
webhook receiver (an HTTP server in the test) that records what it is sent.

The Alertmanager runs a test copy of deploy/alertmanager/alertmanager.yml: the same routes,
grouping, inhibition and templates, but every receiver's e-mail/Slack configs replaced by one
webhook to the receiver under the receiver's own path (/critical-alerts, …), so the test sees
which receiver a notification went to. Timing is kept except where the test must shorten it
(`TEST_TIMING`, each with its reason)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.live_prometheus import ReadyProcess, free_port
from tests.deploy.tooling import ALERTMANAGER_DIR, tool

CONFIG = ALERTMANAGER_DIR / "alertmanager.yml"
# route receiver -> {setting: test value}; everything not listed is as deployed.
TEST_TIMING: dict[str, dict[str, str]] = {
    # the 30-minute warning digest: its first notification waits group_wait (30 s) and its
    # resolved notification the next group_interval (30 m); 5 s each keeps the test short.
    "warning-alerts": {"group_wait": "5s", "group_interval": "5s"},
}


@dataclass(frozen=True)
class Notification:
    path: str  # /critical-alerts: the receiver it went to
    payload: dict[str, Any]
    received: float  # time.monotonic()

    @property
    def receiver(self) -> str:
        return self.path.strip("/")

    def alerts(self, alertname: str, status: str) -> list[dict[str, Any]]:
        return [a for a in self.payload.get("alerts", [])
                if a["labels"].get("alertname") == alertname and a["status"] == status]


class WebhookReceiver:
    """An HTTP server on a free loopback port; every POSTed JSON body is kept."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.notifications.append(
                        Notification(self.path, json.loads(body), time.monotonic()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test prints what it needs

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def received(self, alertname: str, status: str, after: float) -> list[Notification]:
        """Notifications received after `after` (monotonic) carrying `alertname` in `status`."""
        with self._lock:
            return [n for n in self.notifications
                    if n.received >= after and n.alerts(alertname, status)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def webhook_config(webhook_url: str) -> str:
    """deploy/alertmanager/alertmanager.yml with webhook receivers (see the module doc)."""
    config = yaml.safe_load(CONFIG.read_text())
    # The SMTP account is used by e-mail configs only, which the webhooks replace; its password
    # file exists only in the cluster.
    config["global"] = {k: v for k, v in config["global"].items() if not k.startswith("smtp_")}
    config["templates"] = [str(ALERTMANAGER_DIR / "templates" / "*.tmpl")]
    for receiver in config["receivers"]:
        name = receiver["name"]
        for key in [k for k in receiver if k.endswith("_configs")]:
            del receiver[key]
        receiver["webhook_configs"] = [{"url": f"{webhook_url}/{name}", "send_resolved": True}]
    for route in config["route"].get("routes", []):
        route.update(TEST_TIMING.get(route["receiver"], {}))
    return yaml.safe_dump(config, sort_keys=False)


class LiveAlertmanager(ReadyProcess):
    """`prometheus-alertmanager` on a free port with a temporary storage dir and no cluster
    peers; `stop()` (always call it) ends it."""

    name = "alertmanager"

    def __init__(self, workdir: Path, config: str, startup_timeout: float = 30.0) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "alertmanager.yml"
        self.config_path.write_text(config)
        self.log_path = workdir / "alertmanager.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._start(
            [tool("prometheus-alertmanager"), f"--config.file={self.config_path}",
             f"--storage.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             "--cluster.listen-address="],  # no gossip port: a single instance
            startup_timeout,
        )


def alerting_config(alertmanager: LiveAlertmanager) -> str:
    """The `alerting:` block that points a Prometheus at this Alertmanager."""
    return ("alerting:\n  alertmanagers:\n    - static_configs:\n"
            f'        - targets: ["127.0.0.1:{alertmanager.port}"]\n')


__all__ = [
    "TEST_TIMING",
    "LiveAlertmanager",
    "Notification",
    "WebhookReceiver",
    "alerting_config",
    "webhook_config",
]
