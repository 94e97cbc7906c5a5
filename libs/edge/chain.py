"""The hook interface and the per-method chain the edge runs.

`CallHook` has four events with empty defaults; the chain keeps, per event, only the hooks
that override it (a hook with only `begin` costs nothing on messages), as bound methods
computed once per method.
"""

from __future__ import annotations

from typing import Any

import grpc

from libs.edge.call import CallState
from libs.edge.callmeta import RpcKind
from libs.status.errors import InvalidArgument, RpcError, internal_error_message


class CallHook:
    """One concern's view of the calls to one method (built once per method)."""

    def begin(self, call: CallState, context: Any) -> None:
        """The call starts (in the call's own context: contextvars set here stay with
        it). Raise an `RpcError` to reject the call with its status."""

    def received(self, call: CallState, message: Any) -> None:
        """A request message was decoded."""

    def sent(self, call: CallState, message: Any) -> None:
        """A response message went out."""

    def end(self, call: CallState, code: grpc.StatusCode, details: str | None) -> None:
        """The call ended with this status (hooks end in reverse order)."""


class HookFactory:
    """Builds a concern's hook per method; None leaves the method alone."""

    def for_method(self, method: str, kind: RpcKind) -> CallHook | None:
        raise NotImplementedError

    def for_unknown_method(self, method: str) -> CallHook | None:
        """The hook of calls to a method the server does not implement (None: no hook)."""
        return None


def _overrides(hook: Any, event: str) -> bool:
    return getattr(type(hook), event, None) is not getattr(CallHook, event)


class Chain:
    """The hooks of one method, in chain order, split by the events they observe."""

    __slots__ = ("begins", "ends", "ends_through", "method", "receivers", "senders")

    def __init__(self, method: str, hooks: list[Any]) -> None:
        self.method = method
        self.begins = tuple((i, h.begin) for i, h in enumerate(hooks) if _overrides(h, "begin"))
        self.receivers = tuple(h.received for h in hooks if _overrides(h, "received"))
        self.senders = tuple(h.sent for h in hooks if _overrides(h, "sent"))
        # ends_through[i]: the `end`s of hooks 0..i, reversed (a rejection by hook i ends
        # only the hooks that began, itself included).
        self.ends_through = tuple(
            tuple(h.end for h in reversed(hooks[: i + 1]) if _overrides(h, "end"))
            for i in range(len(hooks))
        )
        self.ends = self.ends_through[-1]

    @classmethod
    def build(cls, method: str, hooks: list[Any]) -> Chain | None:
        present = [h for h in hooks if h is not None]
        return cls(method, present) if present else None

    def begin(self, call: CallState, context: Any) -> RpcError | None:
        """Run every hook's `begin`; the first rejection stops the chain and is returned."""
        for i, begin in self.begins:
            try:
                begin(call, context)
            except RpcError as exc:
                call.ends = self.ends_through[i]
                return exc
        return None

    def received(self, call: CallState, message: Any) -> None:
        for received in self.receivers:
            received(call, message)

    def sent(self, call: CallState, message: Any) -> None:
        for sent in self.senders:
            sent(call, message)

    def end(self, call: CallState, code: grpc.StatusCode, details: str | None = None) -> None:
        """Every hook that began sees the end, even if another one's `end` fails (a
        concern's bug is logged, it never changes the call's status)."""
        for end in call.ends if call.ends is not None else self.ends:
            try:
                end(call, code, details)
            except Exception as exc:
                log_failure("call hook failed at the end of a call", self.method, exc, call)

    def uncaught(self, call: CallState, exc: BaseException) -> tuple[grpc.StatusCode, str]:
        """A servicer exception that is no status: logged with its stack, answered
        INTERNAL naming only the correlation id (internals never reach the caller)."""
        call.error = exc
        log_failure("uncaught exception in handler", self.method, exc, call)
        return grpc.StatusCode.INTERNAL, internal_error_message(call.correlation_id)


def log_failure(event: str, method: str, exc: BaseException, call: CallState) -> None:
    # Imported here: libs.observability builds on the edge, so the edge's modules must load
    # without it (its logging module is a leaf, but importing it runs the package's
    # __init__, which imports the edge).
    from libs.observability import logging as obs_logging

    service, _, name = method.lstrip("/").partition("/")
    obs_logging.emit(
        "error",
        {
            "event": event,
            "grpc.service": service,
            "grpc.method": name,
            "exc_info": exc,
            "correlationId": call.correlation_id or "unknown",
        },
    )


def decoder(method: str, deserialize: Any) -> Any:
    """Decode a request inside the call: a corrupt message is INVALID_ARGUMENT."""
    if deserialize is None:
        return None

    def decode(raw: Any) -> Any:
        try:
            return deserialize(raw)
        except Exception:
            raise InvalidArgument(
                f"invalid request for {method}: not a valid protobuf message "
                "(corrupt wire format)"
            ) from None

    return decode


def details_str(details: Any) -> str | None:
    if details is None:
        return None
    if isinstance(details, bytes):  # sync contexts keep details as bytes
        return details.decode("utf-8", "replace")
    return str(details) or None


def terminated_code(context: Any) -> grpc.StatusCode:
    """The code of a call the peer ended (sync: not active; aio: task cancelled)."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0.01:
        return grpc.StatusCode.DEADLINE_EXCEEDED
    return grpc.StatusCode.CANCELLED
