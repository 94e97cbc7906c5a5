"""Latency histogram buckets aligned with the source document's performance-baseline table.

`histogram_quantile` interpolates linearly inside the bucket holding the rank, so a quantile
is exact only at bucket edges. Every target and alert threshold of the table is therefore
an edge of the histogram it is read from; otherwise, e.g. with the client library's default
buckets (…, 1, 2.5, …), every call taking 1.2 s reads as p95 = 2.4 s and
BytebotHighResponseTime (> 2 s) pages although no call was slower than 2 s.

| baseline row               | target | alert | histogram                                    |
|----------------------------|--------|-------|----------------------------------------------|
| API response time p95      | 0.2 s  | 2 s   | grpc_server_handling_seconds, A66 durations  |
| task processing time       | 5 s    | 30 s  | bytebot_task_duration_seconds                |
| computer operation latency | 0.1 s  | 0.5 s | bytebot_computer_operation_duration_seconds  |
| database query time        | 0.05 s | 0.2 s | bytebot_database_query_duration_seconds      |

tests/unit/observability/test_buckets.py checks every histogram_quantile of the alert and
recording rules and every SLO indicator against the buckets the processes really export.
"""

from __future__ import annotations

# RPC latency (go-grpc-prometheus handling seconds and the gRFC A66 call/attempt durations):
# 0.2 and 2 are the API row; 0.05 / 0.1 / 0.5 / 5 / 30 the other rows (a service's RPC
# wraps its database queries, desktop actions and task steps); 60 and 300 reach the
# computer service's longest Wait.
RPC_SECONDS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0,
)

# Task processing time: DESIGN §4's buckets; they already hold 5 s and 30 s.
TASK_SECONDS: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)

# Desktop operations: sub-millisecond input actions to Bytebot's 300 s wait; 0.1 and 0.5
# are the row's target and alert, 0.2 / 2 keep the API row readable on the same panels.
COMPUTER_SECONDS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
    10.0, 30.0, 60.0, 300.0,
)

# SQL statements: SQLite answers most in well under a millisecond; 0.05 and 0.2 are the row.
QUERY_SECONDS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
)

# Vision models: DESIGN §4's buckets (0.001 … 0.5) plus 0.2 (the computer-operation row's
# alert sits at 0.5, its FindText/DetectText calls wait on this) and 1 / 2 / 5 so the CPU
# backend's slower frames are not all lumped into +Inf.
ANE_SECONDS: tuple[float, ...] = (
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0,
)

# gRFC A66's message-size boundaries (bytes): 0, 1 KiB, 2 KiB, 4 KiB, 16 KiB, 64 KiB,
# 256 KiB, 1 MiB, 4 MiB, 16 MiB, 64 MiB, 256 MiB, 1 GiB, 4 GiB.
A66_SIZE_BYTES: tuple[float, ...] = (
    0, 1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
    268435456, 1073741824, 4294967296,
)

__all__ = [
    "A66_SIZE_BYTES",
    "ANE_SECONDS",
    "COMPUTER_SECONDS",
    "QUERY_SECONDS",
    "RPC_SECONDS",
    "TASK_SECONDS",
]
