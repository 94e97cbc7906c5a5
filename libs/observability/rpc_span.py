"""A lean recording span for RPCs, exported through the SDK's own span processors.

Why: the SDK's `Tracer.start_span` + `Span.end` cost ~70 Python calls per span (attribute
validation of every static attribute, three bounded containers with locks, sampler and limit
plumbing, a ReadableSpan copy). For an RPC server span most of that is fixed per method, and
it was the largest single cost of our interceptors (bench/interceptor_overhead.py). `RpcSpan`
keeps the per-call part only: ids, the sampling decision (the provider's sampler; the default
ParentBased(ALWAYS_ON) decided inline), start/end time, and attributes precomputed per
method. At `end()` it hands an SDK `ReadableSpan` to the provider's span processors, so
exporters (OTLP, console, in-memory) see exactly what an SDK span would give them.

Application code inside a handler sees it as the current span: `set_attribute(s)`,
`add_event`, `record_exception`, `set_status`, `update_name`, `add_link` work as in the SDK
(attributes set by application code are validated and bounded by the provider's limits).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan, Tracer, sampling
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from libs import _compat

_time_ns = time.time_ns
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)


def _is_default_parent_based(sampler: Any) -> bool:
    """ParentBased(ALWAYS_ON) with default delegates (the SDK's and OTel's default)."""
    if not isinstance(sampler, sampling.ParentBased):
        return False
    delegates = _compat.parent_based_delegates(sampler)  # private: see libs/_compat.py
    return delegates is not None and (
        delegates["root"] is sampling.ALWAYS_ON
        and delegates["remote_parent_sampled"] is sampling.ALWAYS_ON
        and delegates["local_parent_sampled"] is sampling.ALWAYS_ON
        and delegates["remote_parent_not_sampled"] is sampling.ALWAYS_OFF
        and delegates["local_parent_not_sampled"] is sampling.ALWAYS_OFF
    )


class RpcSpanFactory:
    """What every RpcSpan of one SDK tracer shares (built once per tracer provider)."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.processor = tracer.span_processor
        self.sampler = tracer.sampler
        self.default_sampler = _is_default_parent_based(tracer.sampler)
        self.new_trace_id = tracer.id_generator.generate_trace_id
        self.new_span_id = tracer.id_generator.generate_span_id
        self.random_flag = (
            TraceFlags.RANDOM_TRACE_ID if tracer.id_generator.is_trace_id_random() else 0
        )
        self.resource = tracer.resource
        # private in the SDK, no public accessor: see libs/_compat.py
        self.limits = _compat.tracer_span_limits(tracer)
        self.scope = _compat.tracer_scope(tracer)
        self.info = tracer.instrumentation_info
        self.enabled = _compat.tracer_enabled(tracer)
        # The SDK calls every processor's `_on_ending(span)` before `on_end`; so do we. (We
        # used to skip the batch/simple processors' no-op hooks by reading the provider's
        # private `_span_processors`: it saved 0.17 µs per span, bench/compat_fast_paths.py.)
        self.on_ending = _compat.on_ending_hook(self.processor)

    def start(self, name: str, kind: SpanKind, parent_context: Any,
              attributes: dict[str, Any]) -> trace_api.Span:
        """A started span; `attributes` is owned by the span from now on (pass a fresh dict
        of valid attribute values)."""
        parent = trace_api.get_current_span(parent_context).get_span_context()
        if not parent.is_valid:
            parent = None
            trace_id = self.new_trace_id()
            random_flag = self.random_flag
        else:
            trace_id = parent.trace_id
            random_flag = parent.trace_flags & TraceFlags.RANDOM_TRACE_ID
        if not self.enabled:
            return trace_api.NonRecordingSpan(parent or trace_api.INVALID_SPAN_CONTEXT)
        if self.default_sampler:
            sampled = True if parent is None else parent.trace_flags.sampled
            recording = sampled
            trace_state = None if parent is None else parent.trace_state
        else:
            result = self.sampler.should_sample(
                parent_context, trace_id, name, kind, attributes, ()
            )
            sampled = result.decision.is_sampled()
            recording = result.decision.is_recording()
            trace_state = result.trace_state
            if result.attributes:
                attributes.update(result.attributes)
        flags = TraceFlags((TraceFlags.SAMPLED if sampled else 0) | random_flag)
        context = SpanContext(trace_id, self.new_span_id(), False, flags, trace_state)
        if not recording:
            return trace_api.NonRecordingSpan(context)
        span = RpcSpan(self, name, kind, context, parent, attributes)
        self.processor.on_start(span, parent_context=parent_context)
        return span


class RpcSpan(trace_api.Span):
    """A recording span of one RPC (see the module docstring)."""

    __slots__ = (
        "_attrs", "_context", "_end", "_events", "_f", "_kind", "_links", "_name", "_parent",
        "_start", "_status", "_user_attrs",
    )

    def __init__(self, factory: RpcSpanFactory, name: str, kind: SpanKind,
                 context: SpanContext, parent: SpanContext | None,
                 attributes: dict[str, Any]) -> None:
        self._f = factory
        self._name = name
        self._kind = kind
        self._context = context
        self._parent = parent
        self._attrs = attributes
        self._user_attrs: BoundedAttributes | None = None
        self._events: list[Event] | None = None
        self._links: list[trace_api.Link] | None = None
        self._status = _UNSET
        self._start = _time_ns()
        self._end: int | None = None

    # -- read side ----------------------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    @property
    def name(self) -> str:
        return self._name

    @property
    def kind(self) -> SpanKind:
        return self._kind

    @property
    def attributes(self) -> Mapping[str, Any]:
        return self._merged_attributes()

    # -- interceptor side (values known to be valid) -------------------------------------

    def set_known(self, attributes: Mapping[str, Any]) -> None:
        self._attrs.update(attributes)

    # -- the Span API ---------------------------------------------------------------------

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self._end is not None:
            return
        user = self._user()
        for key, value in attributes.items():
            user[key] = value

    def set_attribute(self, key: str, value: Any) -> None:
        if self._end is not None:
            return
        self._user()[key] = value

    def _user(self) -> BoundedAttributes:
        if self._user_attrs is None:
            limits = self._f.limits
            self._user_attrs = BoundedAttributes(
                limits.max_span_attributes, None, immutable=False,
                max_value_len=limits.max_span_attribute_length,
            )
        return self._user_attrs

    def add_event(self, name: str, attributes: Any = None, timestamp: int | None = None) -> None:
        if self._end is not None:
            return
        limits = self._f.limits
        if self._events is None:
            self._events = []
        if limits.max_events is not None and len(self._events) >= limits.max_events:
            return
        bounded = BoundedAttributes(limits.max_event_attributes, attributes,
                                    max_value_len=limits.max_attribute_length, immutable=True)
        self._events.append(Event(name=name, attributes=bounded, timestamp=timestamp))

    def add_link(self, context: SpanContext, attributes: Any = None) -> None:
        if self._end is not None or context is None or not context.is_valid:
            return
        if self._links is None:
            self._links = []
        self._links.append(trace_api.Link(context, attributes))

    def update_name(self, name: str) -> None:
        if self._end is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # SDK semantics: OK is final, UNSET is ignored.
        if self._end is not None or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            if status.status_code is not StatusCode.UNSET:
                self._status = status
        elif status is not StatusCode.UNSET:
            self._status = Status(status, description)

    def record_exception(self, exception: BaseException, attributes: Any = None,
                         timestamp: int | None = None, escaped: bool = False) -> None:
        module = type(exception).__module__
        qualname = type(exception).__qualname__
        attrs: dict[str, Any] = {
            "exception.type": (
                f"{module}.{qualname}" if module and module != "builtins" else qualname
            ),
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        if attributes:
            attrs.update(attributes)
        self.add_event("exception", attrs, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end is not None:
            return
        self._end = end_time if end_time is not None else _time_ns()
        f = self._f
        if f.on_ending is not None:
            f.on_ending(self)
        f.processor.on_end(
            ReadableSpan(
                name=self._name,
                context=self._context,
                parent=self._parent,
                resource=f.resource,
                attributes=self._merged_attributes(),
                events=tuple(self._events) if self._events else (),
                links=tuple(self._links) if self._links else (),
                kind=self._kind,
                instrumentation_info=f.info,
                status=self._status,
                start_time=self._start,
                end_time=self._end,
                instrumentation_scope=f.scope,
            )
        )

    def _merged_attributes(self) -> Any:
        user = self._user_attrs
        if user is None:
            return self._attrs
        merged = BoundedAttributes(
            self._f.limits.max_span_attributes, self._attrs, immutable=False,
            max_value_len=self._f.limits.max_span_attribute_length,
        )
        for key, value in user.items():
            merged[key] = value
        return merged

    def __repr__(self) -> str:
        return f"RpcSpan(name={self._name!r}, context={self._context!r})"
