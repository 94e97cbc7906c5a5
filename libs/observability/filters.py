"""Which calls are observed: composable predicates over CallMeta.

The default keeps the health service, reflection and channelz out of all three signals
(DESIGN §4): probes and debug polls every few seconds would drown the RPC dashboards, traces
and logs.
"""

from __future__ import annotations

from collections.abc import Callable

from libs.edge.callmeta import CallMeta
from libs.grpc_services import is_channelz, is_health, is_reflection

Filter = Callable[[CallMeta], bool]  # True = observe the call


def service_is(*services: str) -> Filter:
    names = frozenset(services)
    return lambda meta: meta.service in names


def service_prefix(*prefixes: str) -> Filter:
    return lambda meta: meta.service.startswith(prefixes)


def method_is(*full_methods: str) -> Filter:
    names = frozenset(full_methods)
    return lambda meta: meta.full_method in names


def negate(predicate: Filter) -> Filter:
    return lambda meta: not predicate(meta)


def any_of(*predicates: Filter) -> Filter:
    return lambda meta: any(p(meta) for p in predicates)


def all_of(*predicates: Filter) -> Filter:
    return lambda meta: all(p(meta) for p in predicates)


health_check: Filter = lambda meta: is_health(meta.service)  # noqa: E731
reflection: Filter = lambda meta: is_reflection(meta.service)  # noqa: E731
channelz: Filter = lambda meta: is_channelz(meta.service)  # noqa: E731

DEFAULT_FILTER: Filter = negate(any_of(health_check, reflection, channelz))


def observe_all(meta: CallMeta) -> bool:
    return True
