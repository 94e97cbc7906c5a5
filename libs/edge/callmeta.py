"""CallMeta: what an RPC is, worked out once at the edge from its full method name and kind."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RpcKind(StrEnum):
    """The four gRPC call shapes, valued with go-grpc-prometheus' `grpc_type` spellings."""

    UNARY = "unary"
    CLIENT_STREAM = "client_stream"
    SERVER_STREAM = "server_stream"
    BIDI_STREAM = "bidi_stream"

    @classmethod
    def of(cls, request_streaming: bool, response_streaming: bool) -> RpcKind:
        if request_streaming:
            return cls.BIDI_STREAM if response_streaming else cls.CLIENT_STREAM
        return cls.SERVER_STREAM if response_streaming else cls.UNARY

    @property
    def streams_responses(self) -> bool:
        return self in (RpcKind.SERVER_STREAM, RpcKind.BIDI_STREAM)

    @property
    def streams_requests(self) -> bool:
        return self in (RpcKind.CLIENT_STREAM, RpcKind.BIDI_STREAM)


@dataclass(frozen=True, slots=True)
class CallMeta:
    """Normalized description of one RPC method as seen by a server or a client."""

    kind: RpcKind
    service: str  # "pkg.Service"
    method: str  # "Method"
    is_client: bool

    @property
    def full_method(self) -> str:
        """The wire path, `/pkg.Service/Method` (also the `endpoint` metric label)."""
        return f"/{self.service}/{self.method}"

    @property
    def span_name(self) -> str:
        """OTel span name: `pkg.Service/Method`, no leading slash."""
        return f"{self.service}/{self.method}"


def split_method(full_method: str) -> tuple[str, str]:
    """`/pkg.Service/Method` -> ("pkg.Service", "Method"); tolerant of odd input."""
    path = full_method[1:] if full_method.startswith("/") else full_method
    service, sep, method = path.rpartition("/")
    if not sep:
        return "unknown", path or "unknown"
    return service or "unknown", method or "unknown"


def call_meta(full_method: str, kind: RpcKind, is_client: bool) -> CallMeta:
    service, method = split_method(full_method)
    return CallMeta(kind=kind, service=service, method=method, is_client=is_client)
