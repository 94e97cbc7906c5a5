"""Everything the three signals need to know about a gRPC status code, decided once.

Go label spellings (go-grpc-prometheus `grpc_code`), the HTTP equivalent used by
`bytebot_api_requests_total{status_code}` (DESIGN §4), the log level of a finished call
(go-grpc-middleware's server default) and whether a span is an error (OTel RPC conventions).
"""

from __future__ import annotations

import grpc

SC = grpc.StatusCode

GO_NAME: dict[grpc.StatusCode, str] = {
    SC.OK: "OK",
    SC.CANCELLED: "Canceled",
    SC.UNKNOWN: "Unknown",
    SC.INVALID_ARGUMENT: "InvalidArgument",
    SC.DEADLINE_EXCEEDED: "DeadlineExceeded",
    SC.NOT_FOUND: "NotFound",
    SC.ALREADY_EXISTS: "AlreadyExists",
    SC.PERMISSION_DENIED: "PermissionDenied",
    SC.RESOURCE_EXHAUSTED: "ResourceExhausted",
    SC.FAILED_PRECONDITION: "FailedPrecondition",
    SC.ABORTED: "Aborted",
    SC.OUT_OF_RANGE: "OutOfRange",
    SC.UNIMPLEMENTED: "Unimplemented",
    SC.INTERNAL: "Internal",
    SC.UNAVAILABLE: "Unavailable",
    SC.DATA_LOSS: "DataLoss",
    SC.UNAUTHENTICATED: "Unauthenticated",
}

ALL_CODES: tuple[grpc.StatusCode, ...] = tuple(GO_NAME)

HTTP_STATUS: dict[grpc.StatusCode, str] = {
    SC.OK: "200",
    SC.CANCELLED: "499",
    SC.UNKNOWN: "500",
    SC.INVALID_ARGUMENT: "400",
    SC.DEADLINE_EXCEEDED: "504",
    SC.NOT_FOUND: "404",
    SC.ALREADY_EXISTS: "409",
    SC.PERMISSION_DENIED: "403",
    SC.RESOURCE_EXHAUSTED: "429",
    SC.FAILED_PRECONDITION: "400",
    SC.ABORTED: "409",
    SC.OUT_OF_RANGE: "400",
    SC.UNIMPLEMENTED: "501",
    SC.INTERNAL: "500",
    SC.UNAVAILABLE: "503",
    SC.DATA_LOSS: "500",
    SC.UNAUTHENTICATED: "401",
}

# Server-side access-log level by code (go-grpc-middleware DefaultServerCodeToLevel).
_WARN = {
    SC.DEADLINE_EXCEEDED,
    SC.PERMISSION_DENIED,
    SC.RESOURCE_EXHAUSTED,
    SC.FAILED_PRECONDITION,
    SC.ABORTED,
    SC.OUT_OF_RANGE,
    SC.UNAVAILABLE,
}
_ERROR = {SC.UNKNOWN, SC.UNIMPLEMENTED, SC.INTERNAL, SC.DATA_LOSS}
SERVER_LOG_LEVEL: dict[grpc.StatusCode, str] = {
    code: ("error" if code in _ERROR else "warn" if code in _WARN else "info") for code in GO_NAME
}

# A server span is an error only for codes that mean the server failed (OTel RPC semconv);
# a client span is an error for any non-OK code.
SERVER_SPAN_ERROR: frozenset[grpc.StatusCode] = frozenset(
    {SC.UNKNOWN, SC.DEADLINE_EXCEEDED, SC.UNIMPLEMENTED, SC.INTERNAL, SC.UNAVAILABLE, SC.DATA_LOSS}
)

# Integer value of each code (rpc.grpc.status_code) and the upper-case name (rpc.status_code).
NUMBER: dict[grpc.StatusCode, int] = {code: code.value[0] for code in GO_NAME}
UPPER_NAME: dict[grpc.StatusCode, str] = {code: code.name for code in GO_NAME}
BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in GO_NAME}
