"""The metric names deploy/ may use in PromQL, by who exports them.

The static tests check that every expression in the rules and dashboards names only these;
the live monitoring truth test (issue 8, item 7) checks that every SERVICE metric used is
really exported by the running stack (`service_metrics_used()` is its list).
"""

from __future__ import annotations

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def _with_histograms(counters_and_gauges: set[str], histograms: set[str]) -> frozenset[str]:
    names = set(counters_and_gauges)
    for histogram in histograms:
        names.update(histogram + suffix for suffix in HISTOGRAM_SUFFIXES)
    return frozenset(names)


# DESIGN §4: what the services export on /metrics.
SERVICE_METRICS = _with_histograms(
    {
        "bytebot_tasks_total",
        "bytebot_task_queue_length",
        "bytebot_computer_operations_total",
        "bytebot_api_requests_total",
        "bytebot_websocket_connections_active",
        "bytebot_database_connections_active",
        "bytebot_eventloop_lag_seconds",
        "bytebot_metric_label_overflow_total",
        "grpc_server_started_total",
        "grpc_server_handled_total",
        "grpc_server_msg_received_total",
        "grpc_server_msg_sent_total",
        "grpc_client_started_total",
        "grpc_client_handled_total",
        "grpc_client_msg_received_total",
        "grpc_client_msg_sent_total",
        # gRFC A66 names (libs/observability/metrics_a66.py)
        "grpc_server_call_started_total",
        "grpc_client_attempt_started_total",
        # prometheus_client's process and platform collectors
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "python_gc_objects_collected_total",
        "python_gc_collections_total",
        "python_info",
    },
    {
        "bytebot_task_duration_seconds",
        "bytebot_computer_operation_duration_seconds",
        "bytebot_ane_processing_duration_seconds",
        "grpc_server_handling_seconds",
        "grpc_client_handling_seconds",
        "grpc_server_call_duration_seconds",
        "grpc_server_call_sent_total_compressed_message_size_bytes",
        "grpc_server_call_rcvd_total_compressed_message_size_bytes",
        "grpc_client_attempt_duration_seconds",
        "grpc_client_call_duration_seconds",
        # SQL statement time {operation}: the performance baseline's "database query time"
        # (added to DESIGN §4's list by the tasks service).
        "bytebot_database_query_duration_seconds",
    },
)

# Written by Prometheus itself for every target.
PROMETHEUS_SYNTHETIC = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

# node_exporter (job node-exporter; locally run by `bytebot up --with-prometheus`) and
# cAdvisor (job kubernetes-cadvisor: cluster-only).
NODE_EXPORTER_METRICS = frozenset({
    "node_filesystem_size_bytes",
    "node_filesystem_free_bytes",
    "node_filesystem_avail_bytes",
    "node_cpu_seconds_total",
})
CADVISOR_METRICS = frozenset({
    "container_spec_memory_limit_bytes",
    "container_spec_cpu_quota",
    "container_spec_cpu_period",
    "container_memory_working_set_bytes",
    "container_network_receive_bytes_total",
    "container_network_transmit_bytes_total",
    "container_fs_reads_bytes_total",
    "container_fs_writes_bytes_total",
})

# Not part of our stack (cAdvisor is cluster-side; kube-state-metrics is not used at all): the
# live monitoring truth test expects every other metric the rules and dashboards name from a
# local `bytebot up --with-prometheus` stack (node_exporter included) scraped by Prometheus.
# Keep this list explicit and small.
NOT_IN_LOCAL_STACK = CADVISOR_METRICS

ALLOWED = (
    SERVICE_METRICS
    | PROMETHEUS_SYNTHETIC
    | NODE_EXPORTER_METRICS
    | CADVISOR_METRICS
)


def service_metrics_used(names: set[str]) -> set[str]:
    """The names among `names` that the bytebot services themselves must export."""
    return {n for n in names if n in SERVICE_METRICS}
