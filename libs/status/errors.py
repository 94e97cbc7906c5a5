"""Errors handlers raise instead of touching `context.abort` (docs/runtime-api.md).

The server interceptors turn an `RpcError` into its status (with `google.rpc.BadRequest`
details when it carries field violations), also when raised mid-stream. Any other exception
becomes INTERNAL with a message that names only the correlation id: internals never leak.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field of a request: a path like `steps[2].click_mouse.click_count` and why."""

    field: str
    description: str


class RpcError(Exception):
    """Base of the errors a handler raises; the interceptor maps it onto a gRPC status."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        violations: Iterable[FieldViolation] = (),
        *,
        code: grpc.StatusCode | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
        if code is not None:
            self.code = code

    def to_status(self) -> grpc.Status:
        """The status to abort with: code, message and rich details when there are any."""
        proto = status_pb2.Status(code=self.code.value[0], message=self.message)
        if self.violations:
            bad_request = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in self.violations
                ]
            )
            detail = any_pb2.Any()
            detail.Pack(bad_request)
            proto.details.append(detail)
        return rpc_status.to_status(proto)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, violations={list(self.violations)!r})"


def _error(name: str, status_code: grpc.StatusCode) -> type[RpcError]:
    return type(name, (RpcError,), {"code": status_code, "__doc__": f"gRPC {status_code.name}."})


InvalidArgument = _error("InvalidArgument", grpc.StatusCode.INVALID_ARGUMENT)
NotFound = _error("NotFound", grpc.StatusCode.NOT_FOUND)
AlreadyExists = _error("AlreadyExists", grpc.StatusCode.ALREADY_EXISTS)
FailedPrecondition = _error("FailedPrecondition", grpc.StatusCode.FAILED_PRECONDITION)
PermissionDenied = _error("PermissionDenied", grpc.StatusCode.PERMISSION_DENIED)
Unauthenticated = _error("Unauthenticated", grpc.StatusCode.UNAUTHENTICATED)
ResourceExhausted = _error("ResourceExhausted", grpc.StatusCode.RESOURCE_EXHAUSTED)
OutOfRange = _error("OutOfRange", grpc.StatusCode.OUT_OF_RANGE)
Aborted = _error("Aborted", grpc.StatusCode.ABORTED)
Unavailable = _error("Unavailable", grpc.StatusCode.UNAVAILABLE)
DeadlineExceeded = _error("DeadlineExceeded", grpc.StatusCode.DEADLINE_EXCEEDED)
Cancelled = _error("Cancelled", grpc.StatusCode.CANCELLED)
Internal = _error("Internal", grpc.StatusCode.INTERNAL)
Unimplemented = _error("Unimplemented", grpc.StatusCode.UNIMPLEMENTED)
DataLoss = _error("DataLoss", grpc.StatusCode.DATA_LOSS)

BY_CODE: dict[grpc.StatusCode, type[RpcError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, PermissionDenied,
        Unauthenticated, ResourceExhausted, OutOfRange, Aborted, Unavailable,
        DeadlineExceeded, Cancelled, Internal, Unimplemented, DataLoss,
    )
}


def internal_error_message(correlation_id: str | None) -> str:
    """What a caller learns about an uncaught exception: only how to find it in the logs."""
    return f"internal error; correlation id {correlation_id or 'unknown'}"


def _trailing(rpc_error: Any) -> Sequence[tuple[str, Any]]:
    getter = getattr(rpc_error, "trailing_metadata", None)
    if getter is None:
        return ()
    try:
        return tuple(getter() or ())
    except Exception:  # a call that never completed has no trailers
        return ()


def status_details(rpc_error: Any) -> status_pb2.Status | None:
    """The `google.rpc.Status` carried in the trailers of a failed call (sync or aio)."""
    for key, value in _trailing(rpc_error):
        if key == STATUS_DETAILS_KEY:
            status = status_pb2.Status()
            status.MergeFromString(value if isinstance(value, bytes) else value.encode())
            return status
    return None


def field_violations(rpc_error: Any) -> list[FieldViolation]:
    """Field violations of an INVALID_ARGUMENT (or any) error received by a client."""
    status = status_details(rpc_error)
    if status is None:
        return []
    out: list[FieldViolation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            out.extend(FieldViolation(v.field, v.description) for v in bad_request.field_violations)
    return out

