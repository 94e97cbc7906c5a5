"""Client interceptors hand grpc a changed copy of the call's details (a default deadline,
a bearer token, trace context); the copies are built here, once (issue 13 item 5).

    new = sync_details(details, timeout=5.0)            # grpc.ClientCallDetails
    new = aio_details(details, metadata=aio.Metadata())  # grpc.aio.ClientCallDetails

Fields not named are kept. grpc's sync `ClientCallDetails` is an abstract class with no
constructor of its own, so `SyncCallDetails` is the one concrete implementation.
"""

from __future__ import annotations

import collections
from typing import Any

import grpc
from grpc import aio

_KEEP: Any = object()


class SyncCallDetails(
    collections.namedtuple(
        "SyncCallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """grpc.ClientCallDetails with all six fields (sync channels)."""


def sync_details(details: Any, *, timeout: Any = _KEEP, metadata: Any = _KEEP) -> SyncCallDetails:
    """A copy of sync `details` with `timeout` and/or `metadata` replaced."""
    return SyncCallDetails(
        details.method,
        details.timeout if timeout is _KEEP else timeout,
        details.metadata if metadata is _KEEP else metadata,
        details.credentials,
        getattr(details, "wait_for_ready", None),
        getattr(details, "compression", None),
    )


def aio_details(details: Any, *, timeout: Any = _KEEP, metadata: Any = _KEEP) -> Any:
    """A copy of grpc.aio `details` with `timeout` and/or `metadata` (an aio.Metadata)
    replaced."""
    return aio.ClientCallDetails(
        details.method,
        details.timeout if timeout is _KEEP else timeout,
        details.metadata if metadata is _KEEP else metadata,
        details.credentials,
        details.wait_for_ready,
    )


__all__ = ["SyncCallDetails", "aio_details", "sync_details"]
