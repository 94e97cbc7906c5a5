"""Drive every RPC of a running service with generated requests and classify the answers.

A healthy answer is OK or a well-formed client error; UNKNOWN, INTERNAL, DATA_LOSS,
UNAVAILABLE, UNIMPLEMENTED and DEADLINE_EXCEEDED are findings (kept per RPC/code/message
with the smallest request that produced them, so a report can quote a minimal input).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import message_factory, text_format
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import RequestStrategies

CLIENT_ERRORS = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.ABORTED,
}

DEFAULT_EXAMPLES = 50
_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RUNS = re.compile(r"(.)\1{15,}")  # "hhhh..." -> "h<x3000>" in reports


def examples_per_rpc(default: int = DEFAULT_EXAMPLES) -> int:
    return int(os.environ.get("BYTEBOT_FUZZ_EXAMPLES", default))


@dataclass
class Finding:
    rpc: str
    code: str
    details: str
    request: str
    size: int
    count: int = 1

    def __str__(self) -> str:
        return (f"{self.rpc} -> {self.code} x{self.count}: {self.details[:200]!r}\n"
                f"    smallest input ({self.size} bytes): {self.request}")


@dataclass
class FuzzReport:
    service: str
    cases: Counter[str] = field(default_factory=Counter)
    codes: dict[str, Counter[str]] = field(default_factory=dict)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, rpc: str, code: grpc.StatusCode, details: str, request: Any) -> None:
        self.cases[rpc] += 1
        self.codes.setdefault(rpc, Counter())[code.name] += 1
        if code in CLIENT_ERRORS:
            return
        key = (rpc, code.name, _IDS.sub("<id>", details)[:60])
        size = request.ByteSize()
        old = self.findings.get(key)
        if old is None or size < old.size:
            shown = _RUNS.sub(
                lambda m: f"{m.group(1)}<x{len(m.group(0))}>",
                text_format.MessageToString(request, as_one_line=True),
            )
            if len(shown) > 400:
                shown = shown[:400] + "…"
            self.findings[key] = Finding(rpc, code.name, details, shown, size,
                                         (old.count + 1) if old else 1)
        else:
            old.count += 1

    def table(self) -> str:
        lines = [f"fuzz {self.service}: {sum(self.cases.values())} cases in {self.seconds:.1f}s"]
        for rpc in sorted(self.cases):
            codes = ", ".join(f"{c}={n}" for c, n in self.codes[rpc].most_common())
            lines.append(f"  {rpc:<28} {self.cases[rpc]:>5}  {codes}")
        return "\n".join(lines)


class Fuzzer:
    def __init__(
        self,
        channel: grpc.Channel,
        service: ServiceDescriptor,
        strategies: RequestStrategies,
        *,
        mutate: Callable[[str, Any], None] | None = None,
        timeout: float = 15.0,
        stream_messages: int = 1,
        skip: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        self.channel = channel
        self.service = service
        self.strategies = strategies
        self.mutate = mutate
        self.timeout = timeout
        self.stream_messages = stream_messages
        self.skip = skip
        self.report = FuzzReport(service.full_name)

    def _call(self, method: Any, request: Any) -> tuple[grpc.StatusCode, str]:
        path = f"/{self.service.full_name}/{method.name}"
        response_cls = message_factory.GetMessageClass(method.output_type)
        serialize = type(request).SerializeToString
        if method.client_streaming:
            raise AssertionError("no client-streaming RPCs in our APIs")
        if not method.server_streaming:
            rpc = self.channel.unary_unary(path, serialize, response_cls.FromString)
            try:
                rpc(request, timeout=self.timeout)
            except grpc.RpcError as exc:
                return exc.code(), exc.details() or ""
            return grpc.StatusCode.OK, ""
        rpc = self.channel.unary_stream(path, serialize, response_cls.FromString)
        call = rpc(request, timeout=self.timeout)
        received = 0
        try:
            for _ in call:
                received += 1
                if received >= self.stream_messages:
                    call.cancel()  # long-lived streams (watches): enough is enough
                    break
        except grpc.RpcError as exc:
            if exc.code() is grpc.StatusCode.CANCELLED and received >= self.stream_messages:
                return grpc.StatusCode.OK, ""
            return exc.code(), exc.details() or ""
        return grpc.StatusCode.OK, ""

    def fuzz_method(self, method: Any, examples: int) -> None:
        cls = message_factory.GetMessageClass(method.input_type)
        strategy = self.strategies.message(method.input_type, cls)

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=os.environ.get("BYTEBOT_FUZZ_RANDOM", "") != "1",
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.just(None) | st.just(None), strategy)
        def one(_: Any, request: Any) -> None:
            if self.mutate is not None:
                self.mutate(method.name, request)
            code, details = self._call(method, request)
            self.report.record(method.name, code, details, request)

        one()
        # the empty request too: every field at its default
        empty = cls()
        self.report.record(method.name, *self._call(method, empty), empty)

    def fuzz_wire(self, method: Any, examples: int) -> None:
        """Random bytes as the serialized request: often valid protobuf (unknown fields,
        wrong wire types), often corrupt; corrupt ones must be INVALID_ARGUMENT."""
        path = f"/{self.service.full_name}/{method.name}"
        cls = message_factory.GetMessageClass(method.input_type)
        rpc = (self.channel.unary_stream if method.server_streaming else
               self.channel.unary_unary)(path, None, None)

        @settings(max_examples=examples, deadline=None, database=None,
                  derandomize=os.environ.get("BYTEBOT_FUZZ_RANDOM", "") != "1",
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.binary(min_size=1, max_size=64))
        def one(raw: bytes) -> None:
            try:
                call = rpc(raw, timeout=self.timeout)
                if method.server_streaming:
                    for _ in call:
                        call.cancel()
                        break
                code, details = grpc.StatusCode.OK, ""
            except grpc.RpcError as exc:
                code, details = exc.code(), exc.details() or ""
                if code is grpc.StatusCode.CANCELLED and method.server_streaming:
                    code = grpc.StatusCode.OK
            try:
                shown = cls.FromString(raw)
            except Exception:
                shown = cls()  # corrupt: the raw bytes are in the details
            self.report.record(f"{method.name}[wire]", code, f"{details} raw={raw.hex()}", shown)

        one()

    def run(self, examples: int | None = None) -> FuzzReport:
        started = time.monotonic()
        n = examples_per_rpc() if examples is None else examples
        for method in self.service.methods:
            if method.name not in self.skip:
                self.fuzz_method(method, n)
                self.fuzz_wire(method, max(5, n // 4))
        self.report.seconds = time.monotonic() - started
        return self.report


def readiness(channel: grpc.Channel) -> Any:
    reply = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="readiness"), timeout=10
    )
    return reply.status


SERVING = health_pb2.HealthCheckResponse.SERVING
