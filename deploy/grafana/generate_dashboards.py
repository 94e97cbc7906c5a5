"""Writes the four Grafana dashboards of the source document to deploy/grafana/dashboards/.

    python deploy/grafana/generate_dashboards.py          # regenerate the JSON
    python deploy/grafana/generate_dashboards.py --check  # exit 1 if the JSON is stale

The JSON files are what Grafana provisions and what tests check (typed against
@grafana/schema, every PromQL expression parsed by promtool); this script only keeps the
panels consistent (one datasource, one layout, full panel options). Metric names follow
DESIGN §4; `$__rate_interval` is Grafana's own variable.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "bytebot-prometheus"}
SCHEMA_VERSION = 41
BYTEBOT = 'job=~"bytebot-.*"'
RATE = "[$__rate_interval]"
MOUSE_OPS = "move_mouse|trace_mouse|click_mouse|press_mouse|drag_mouse|scroll"
KEYBOARD_OPS = "type_keys|press_keys|type_text|paste_text"
POD_SELECTOR = 'namespace="bytebot-production", pod=~"bytebot-.*"'


@dataclass
class Query:
    expr: str
    legend: str = ""


@dataclass
class PanelSpec:
    title: str
    kind: str  # "stat" | "timeseries" | "gauge"
    queries: list[Query]
    unit: str = "short"
    description: str = ""
    width: int = 12
    height: int = 8
    thresholds: list[tuple[str, float | None]] = field(
        default_factory=lambda: [("green", None)]
    )
    min: float | None = None
    max: float | None = None
    stack: bool = False


def _thresholds(steps: list[tuple[str, float | None]]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def _targets(queries: list[Query]) -> list[dict[str, Any]]:
    return [
        {
            "datasource": DATASOURCE,
            "refId": chr(ord("A") + i),
            "expr": q.expr,
            "legendFormat": q.legend or "__auto",
            "range": True,
            "editorMode": "code",
        }
        for i, q in enumerate(queries)
    ]


def _stat_options() -> dict[str, Any]:
    return {
        "reduceOptions": {"values": False, "calcs": ["lastNotNull"], "fields": ""},
        "orientation": "auto",
        "textMode": "auto",
        "wideLayout": True,
        "colorMode": "value",
        "graphMode": "area",
        "justifyMode": "auto",
        "showPercentChange": False,
        "percentChangeColorMode": "standard",
    }


def _gauge_options() -> dict[str, Any]:
    return {
        "reduceOptions": {"values": False, "calcs": ["lastNotNull"], "fields": ""},
        "orientation": "auto",
        "showThresholdLabels": False,
        "showThresholdMarkers": True,
        "minVizHeight": 75,
        "minVizWidth": 75,
        "sizing": "auto",
        "shape": "gauge",
        "barShape": "flat",
        "barWidthFactor": 0.5,
        "effects": {},
        "segmentCount": 1,
        "segmentSpacing": 0.3,
    }


def _timeseries_options() -> dict[str, Any]:
    return {
        "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom", "calcs": []},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def _timeseries_custom(stack: bool) -> dict[str, Any]:
    return {
        "drawStyle": "line",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "fillOpacity": 20 if stack else 10,
        "gradientMode": "none",
        "showPoints": "never",
        "pointSize": 4,
        "spanNulls": False,
        "axisPlacement": "auto",
        "axisLabel": "",
        "axisBorderShow": False,
        "axisCenteredZero": False,
        "axisColorMode": "text",
        "scaleDistribution": {"type": "linear"},
        "barAlignment": 0,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "hideFrom": {"legend": False, "tooltip": False, "viz": False},
        "thresholdsStyle": {"mode": "off"},
    }


def _panel(spec: PanelSpec, panel_id: int, x: int, y: int) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": spec.unit,
        "color": {"mode": "thresholds" if spec.kind != "timeseries" else "palette-classic"},
        "thresholds": _thresholds(spec.thresholds),
    }
    if spec.min is not None:
        defaults["min"] = spec.min
    if spec.max is not None:
        defaults["max"] = spec.max
    if spec.kind == "timeseries":
        defaults["custom"] = _timeseries_custom(spec.stack)
        options = _timeseries_options()
    elif spec.kind == "stat":
        options = _stat_options()
    elif spec.kind == "gauge":
        options = _gauge_options()
    else:
        raise ValueError(f"unsupported panel type {spec.kind}")
    return {
        "id": panel_id,
        "type": spec.kind,
        "title": spec.title,
        "description": spec.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": spec.height, "w": spec.width, "x": x, "y": y},
        "targets": _targets(spec.queries),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
    }


def dashboard(uid: str, title: str, description: str, panels: list[PanelSpec]) -> dict[str, Any]:
    laid_out: list[dict[str, Any]] = []
    x = y = row_height = 0
    for i, spec in enumerate(panels, start=1):
        if x + spec.width > 24:
            x, y, row_height = 0, y + row_height, 0
        laid_out.append(_panel(spec, i, x, y))
        x += spec.width
        row_height = max(row_height, spec.height)
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["bytebot"],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": []},
        "panels": laid_out,
    }


def _quantiles(metric: str, selector: str, by: str = "") -> list[Query]:
    group = f"{by}, le" if by else "le"
    prefix = "{{" + by + "}} " if by else ""
    return [
        Query(
            f"histogram_quantile({q}, sum by ({group}) "
            f"(rate({metric}_bucket{{{selector}}}{RATE})))",
            f"{prefix}p{round(q * 100)}",
        )
        for q in (0.5, 0.95, 0.99)
    ]


def application_overview() -> dict[str, Any]:
    requests = f"bytebot_api_requests_total{{{BYTEBOT}}}"
    errors = f'bytebot_api_requests_total{{{BYTEBOT}, status_code=~"5.."}}'
    return dashboard(
        "bytebot-application-overview",
        "Bytebot - Application Overview",
        "Main dashboard for Bytebot application monitoring",
        [
            PanelSpec("Request Rate", "stat", [Query(f"sum(rate({requests}{RATE}))",
                      "Requests/sec")], unit="reqps", width=8, height=5),
            PanelSpec(
                "Error Rate", "stat",
                [Query(f"sum(rate({errors}{RATE})) / sum(rate({requests}{RATE})) * 100",
                       "Error %")],
                unit="percent", width=8, height=5, max=10,
                thresholds=[("green", None), ("yellow", 2), ("red", 5)],
                description="Server faults: gRPC codes whose HTTP equivalent is 5xx.",
            ),
            PanelSpec("Services Up", "stat", [Query(f"sum(up{{{BYTEBOT}}})", "up")],
                      width=8, height=5, thresholds=[("red", None), ("green", 5)]),
            PanelSpec(
                "Response Time Percentiles", "timeseries",
                _quantiles("grpc_server_handling_seconds", 'job="bytebot-api", grpc_type="unary"'),
                unit="s", description="Unary RPCs of the tasks API (streams excluded).",
            ),
            PanelSpec(
                "Request Rate by Service", "timeseries",
                [Query(f"sum by (job) (rate({requests}{RATE}))", "{{job}}")], unit="reqps",
            ),
            PanelSpec(
                "p95 Response Time by Service", "timeseries",
                [Query("histogram_quantile(0.95, sum by (job, le) (rate("
                       f'grpc_server_handling_seconds_bucket{{{BYTEBOT}, grpc_type="unary"}}'
                       f"{RATE})))", "{{job}}")],
                unit="s",
            ),
            PanelSpec(
                "Server Errors by Code", "timeseries",
                [Query(f"sum by (job, grpc_code) (rate({errors}{RATE}))",
                       "{{job}} {{grpc_code}}")],
                unit="reqps",
            ),
            PanelSpec(
                "Active Streams", "timeseries",
                [Query(f"sum by (job) (bytebot_websocket_connections_active{{{BYTEBOT}}})",
                       "{{job}}")],
                description="Open server streams (WatchTask, WatchSystemHealth).",
            ),
            PanelSpec(
                "gRPC Calls Handled by Code", "timeseries",
                [Query(f"sum by (grpc_code) (rate(grpc_server_handled_total{{{BYTEBOT}}}{RATE}))",
                       "{{grpc_code}}")],
                unit="reqps", stack=True,
                description="go-grpc-prometheus names (grpc_server_handled_total).",
            ),
            *a66_panels(),
        ],
    )


def a66_panels() -> list[PanelSpec]:
    """The same calls under gRFC A66 names (what grpc-go/java/cpp fleets chart), written as
    a dashboard for those fleets would query them."""
    server = "grpc_server_call_duration_seconds"
    return [
        PanelSpec(
            "A66 Server Call Duration p95 by Method", "timeseries",
            [Query("histogram_quantile(0.95, sum by (le, grpc_method) "
                   f"(rate({server}_bucket{{{BYTEBOT}}}{RATE})))", "{{grpc_method}}")],
            unit="s", thresholds=[("green", None), ("red", 2)],
            description="gRFC A66 grpc.server.call.duration (streams included).",
        ),
        PanelSpec(
            "A66 Server Calls by Status", "timeseries",
            [Query(f"sum by (grpc_status) (rate({server}_count{{{BYTEBOT}}}{RATE}))",
                   "{{grpc_status}}"),
             Query(f"sum(rate(grpc_server_call_started_total{{{BYTEBOT}}}{RATE}))", "started")],
            unit="reqps", description="Finished calls by A66 grpc.status, and calls started.",
        ),
        PanelSpec(
            "A66 Client Attempt Duration p95 by Target", "timeseries",
            [Query("histogram_quantile(0.95, sum by (le, grpc_target) "
                   f"(rate(grpc_client_attempt_duration_seconds_bucket{{{BYTEBOT}}}{RATE})))",
                   "{{grpc_target}}")],
            unit="s", description="Service-to-service calls (worker to computer, …).",
        ),
        PanelSpec(
            "A66 Message Bytes per Call p95", "timeseries",
            [Query("histogram_quantile(0.95, sum by (le) (rate("
                   "grpc_server_call_sent_total_compressed_message_size_bytes_bucket"
                   f"{{{BYTEBOT}}}{RATE})))", "sent"),
             Query("histogram_quantile(0.95, sum by (le) (rate("
                   "grpc_server_call_rcvd_total_compressed_message_size_bytes_bucket"
                   f"{{{BYTEBOT}}}{RATE})))", "received")],
            unit="bytes", description="Serialized message bytes per call (no compression).",
        ),
    ]


def task_processing() -> dict[str, Any]:
    tasks = f"bytebot_tasks_total{{{BYTEBOT}}}"
    create = ('bytebot_api_requests_total{job="bytebot-api", '
              'endpoint="/bytebot.tasks.v1.TaskService/CreateTask", status_code="200"}')
    return dashboard(
        "bytebot-task-processing",
        "Bytebot - Task Processing",
        "Task throughput, duration, success rate, queue and workers",
        [
            PanelSpec(
                "Task Success Rate", "stat",
                [Query(f'sum(rate(bytebot_tasks_total{{{BYTEBOT}, status="completed"}}{RATE}))'
                       f" / sum(rate({tasks}{RATE})) * 100", "Success %")],
                unit="percent", width=8, height=5, min=0, max=100,
                thresholds=[("red", None), ("yellow", 95), ("green", 98)],
                description="Completed among finished tasks (completed, failed, cancelled).",
            ),
            PanelSpec(
                "Queue Length", "stat",
                [Query(f"sum(max by (priority) (bytebot_task_queue_length{{{BYTEBOT}}}))",
                       "pending")],
                width=8, height=5, thresholds=[("green", None), ("yellow", 50), ("red", 100)],
            ),
            PanelSpec("Workers Up", "stat", [Query('sum(up{job="bytebot-worker"})', "workers")],
                      width=8, height=5, thresholds=[("red", None), ("green", 1)]),
            PanelSpec(
                "Task Throughput", "timeseries",
                [Query(f"sum(rate({create}{RATE}))", "created"),
                 Query(f"sum by (status) (rate({tasks}{RATE}))", "{{status}}")],
                unit="ops", description="Tasks created (CreateTask OK) and finished, per second.",
            ),
            PanelSpec(
                "Task Duration", "timeseries",
                _quantiles("bytebot_task_duration_seconds", BYTEBOT), unit="s",
                thresholds=[("green", None), ("red", 30)],
                description="Processing time, from a worker starting a task to its end.",
            ),
            PanelSpec(
                "Queue Length by Priority", "timeseries",
                [Query(f"max by (priority) (bytebot_task_queue_length{{{BYTEBOT}}})",
                       "{{priority}}")],
                stack=True, description="Every replica reports the database's queue: max, not sum.",
            ),
            PanelSpec(
                "Worker Utilization", "timeseries",
                [Query('sum(rate(bytebot_task_duration_seconds_sum{job="bytebot-worker"}'
                       f"{RATE}))", "busy (tasks in progress, avg)"),
                 Query('sum(up{job="bytebot-worker"})', "workers up")],
                description="Busy task slots by Little's law (task-seconds per second) "
                            "against the workers that are up.",
            ),
            PanelSpec(
                "Failed Tasks by Type", "timeseries",
                [Query(f'sum by (type) (rate(bytebot_tasks_total{{{BYTEBOT}, status="failed"}}'
                       f"{RATE}))", "{{type}}")],
                unit="ops",
            ),
        ],
    )


def computer_operations() -> dict[str, Any]:
    ops = "bytebot_computer_operations_total"
    return dashboard(
        "bytebot-computer-operations",
        "Bytebot - Computer-Use Operations",
        "Desktop automation: mouse, keyboard, screenshots, OCR and the inference engine",
        [
            PanelSpec(
                "Mouse Operations", "timeseries",
                [Query(f'sum by (operation_type) (rate({ops}{{operation_type=~"{MOUSE_OPS}"}}'
                       f"{RATE}))", "{{operation_type}}")],
                unit="ops", stack=True, description="Click, drag, scroll… per second.",
            ),
            PanelSpec(
                "Keyboard Operations", "timeseries",
                [Query(f'sum by (operation_type) (rate({ops}{{operation_type=~"{KEYBOARD_OPS}"}}'
                       f"{RATE}))", "{{operation_type}}")],
                unit="ops", stack=True, description="Key presses and text input per second.",
            ),
            PanelSpec(
                "Screenshot Latency", "timeseries",
                _quantiles("bytebot_computer_operation_duration_seconds",
                           'operation_type="screenshot"'),
                unit="s", thresholds=[("green", None), ("red", 0.5)],
            ),
            PanelSpec(
                "Screenshot Throughput", "timeseries",
                [Query(f'sum(rate({ops}{{operation_type="screenshot", status="success"}}{RATE}))',
                       "screenshots/s")],
                unit="ops",
            ),
            PanelSpec(
                "Operation Latency p95 by Type", "timeseries",
                [Query("histogram_quantile(0.95, sum by (operation_type, le) (rate("
                       f"bytebot_computer_operation_duration_seconds_bucket{RATE})))",
                       "{{operation_type}}")],
                unit="s", description="Baseline: < 100 ms, alert threshold 500 ms.",
            ),
            PanelSpec(
                "Operation Errors by Type", "timeseries",
                [Query(f'sum by (operation_type, status) (rate({ops}{{status!="success"}}'
                       f"{RATE}))", "{{operation_type}} {{status}}")],
                unit="ops",
            ),
            PanelSpec(
                "OCR Processing Time", "timeseries",
                _quantiles("bytebot_ane_processing_duration_seconds", 'job=~"bytebot-.*"',
                           by="backend"),
                unit="s",
            ),
            PanelSpec(
                "OCR Requests by Outcome", "timeseries",
                [Query("sum by (grpc_method, grpc_code) (rate(grpc_server_handled_total{"
                       'job="bytebot-inference", '
                       f'grpc_service="bytebot.inference.v1.InferenceService"}}{RATE}))',
                       "{{grpc_method}} {{grpc_code}}")],
                unit="reqps",
            ),
            PanelSpec(
                "ANE Utilization", "timeseries",
                [Query("sum by (backend, model) (rate("
                       f"bytebot_ane_processing_duration_seconds_sum{RATE}))",
                       "{{backend}} {{model}} busy"),
                 Query("sum by (backend, model) (rate("
                       f"bytebot_ane_processing_duration_seconds_count{RATE}))",
                       "{{backend}} {{model}} inferences/s")],
                description="Busy: inference-seconds per second (1 = one engine always busy).",
            ),
        ],
    )


def system_performance() -> dict[str, Any]:
    by_pod = "namespace, pod, container"
    return dashboard(
        "bytebot-system-performance",
        "Bytebot - System Performance",
        "CPU, memory, database pool, network and storage of the Bytebot pods and nodes",
        [
            PanelSpec(
                "CPU Usage per Pod", "timeseries",
                [Query(f"sum by (pod) (rate(process_cpu_seconds_total{{{BYTEBOT}}}{RATE}))",
                       "{{pod}}")],
                unit="short", description="CPU cores used by each service process.",
            ),
            PanelSpec(
                "CPU Usage of Limit", "timeseries",
                [Query(f"sum by ({by_pod}) (rate(process_cpu_seconds_total{{{BYTEBOT}}}{RATE}))"
                       f" / on ({by_pod}) (max by ({by_pod}) (container_spec_cpu_quota{{"
                       'job="kubernetes-cadvisor", container!=""} > 0)'
                       f" / on ({by_pod}) max by ({by_pod}) (container_spec_cpu_period{{"
                       'job="kubernetes-cadvisor", container!=""}))', "{{pod}}")],
                unit="percentunit", thresholds=[("green", None), ("yellow", 0.7), ("red", 0.85)],
            ),
            PanelSpec(
                "Node CPU Usage", "timeseries",
                [Query('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}'
                       f"{RATE}))", "{{instance}}")],
                unit="percentunit", min=0, max=1,
            ),
            PanelSpec(
                "Memory Usage per Pod", "timeseries",
                [Query(f"sum by (pod) (process_resident_memory_bytes{{{BYTEBOT}}})", "{{pod}}")],
                unit="bytes",
            ),
            PanelSpec(
                "Memory Usage of Limit", "timeseries",
                [Query(f"max by ({by_pod}) (process_resident_memory_bytes{{{BYTEBOT}}})"
                       f" / on ({by_pod}) max by ({by_pod}) (container_spec_memory_limit_bytes{{"
                       'job="kubernetes-cadvisor", container!=""} > 0)', "{{pod}}")],
                unit="percentunit", thresholds=[("green", None), ("yellow", 0.8), ("red", 0.9)],
            ),
            PanelSpec(
                "Memory Growth (leak detection)", "timeseries",
                [Query(f"deriv(process_resident_memory_bytes{{{BYTEBOT}}}[30m])", "{{pod}}")],
                unit="Bps", description="Resident memory slope over 30 minutes; "
                                        "a steady positive slope is a leak.",
            ),
            PanelSpec(
                "Database Connection Pool", "timeseries",
                [Query(f"sum by (pod) (bytebot_database_connections_active{{{BYTEBOT}}})",
                       "{{pod}}")],
                description="Open connections per pod; 0 means the database is unreachable.",
            ),
            PanelSpec(
                "Database Query Time", "timeseries",
                _quantiles("bytebot_database_query_duration_seconds", BYTEBOT), unit="s",
                thresholds=[("green", None), ("red", 0.2)],
            ),
            PanelSpec(
                "Network I/O", "timeseries",
                [Query("sum by (pod) (rate(container_network_receive_bytes_total{"
                       f"{POD_SELECTOR}}}{RATE}))", "{{pod}} in"),
                 Query("sum by (pod) (rate(container_network_transmit_bytes_total{"
                       f"{POD_SELECTOR}}}{RATE}))", "{{pod}} out")],
                unit="Bps",
            ),
            PanelSpec(
                "Storage I/O", "timeseries",
                [Query("sum by (pod) (rate(container_fs_reads_bytes_total{"
                       f"{POD_SELECTOR}}}{RATE}))", "{{pod}} read"),
                 Query("sum by (pod) (rate(container_fs_writes_bytes_total{"
                       f"{POD_SELECTOR}}}{RATE}))", "{{pod}} write")],
                unit="Bps",
            ),
            PanelSpec(
                "Node Disk Usage", "gauge",
                [Query('1 - node_filesystem_avail_bytes{mountpoint="/"}'
                       ' / node_filesystem_size_bytes{mountpoint="/"}', "{{instance}}")],
                unit="percentunit", min=0, max=1,
                thresholds=[("green", None), ("yellow", 0.75), ("red", 0.85)],
            ),
            PanelSpec(
                "Event Loop Lag", "timeseries",
                [Query(f"max by (job) (bytebot_eventloop_lag_seconds{{{BYTEBOT}}})", "{{job}}")],
                unit="s",
            ),
        ],
    )


DASHBOARDS = {
    "application-overview.json": application_overview,
    "task-processing.json": task_processing,
    "computer-operations.json": computer_operations,
    "system-performance.json": system_performance,
}


def render() -> dict[str, str]:
    return {name: json.dumps(build(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSON files are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT_DIR / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale dashboards (run {Path(__file__).name}): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
