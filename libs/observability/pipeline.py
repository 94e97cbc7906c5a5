"""Builds and caches the per-method observers (filter + one reporter per signal).

The interceptors ask `observer(full_method, kind, is_client)` once per call; the answer is a
dict lookup after the first call of each method (or none at all after `precreate`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from libs.edge.callmeta import CallMeta, RpcKind, call_meta
from libs.observability.filters import DEFAULT_FILTER, Filter
from libs.observability.reporter import MethodObserver, ReporterFactory

_MAX_METHODS = 4096  # a bound even if callers invent method names
UNKNOWN_METHOD = "/other/other"  # where calls to unimplemented methods are observed


class Pipeline:
    """Observers of one side (server or client) of one process."""

    def __init__(
        self,
        factories: Sequence[ReporterFactory],
        is_client: bool,
        observe: Filter = DEFAULT_FILTER,
    ) -> None:
        self.factories = tuple(factories)
        self.is_client = is_client
        self.observe = observe
        self._cache: dict[tuple[str, RpcKind], MethodObserver | None] = {}
        self._lock = threading.Lock()

    def observer(self, full_method: str, kind: RpcKind) -> MethodObserver | None:
        """The method's observer, or None when the filter leaves the method unobserved."""
        key = (full_method, kind)
        try:
            return self._cache[key]
        except KeyError:
            pass
        return self._build(key, call_meta(full_method, kind, self.is_client))

    def _build(self, key: tuple[str, RpcKind], meta: CallMeta) -> MethodObserver | None:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            observer = (
                MethodObserver(meta, [f.for_method(meta) for f in self.factories])
                if self.observe(meta)
                else None
            )
            if len(self._cache) < _MAX_METHODS:
                self._cache[key] = observer
            return observer

    def unknown_method_observer(self, full_method: str) -> MethodObserver | None:
        """The observer of calls to methods the server does not implement: one shared
        `other`/`other` series (unary: the server cannot know the call's shape), or None
        when the filter leaves the called path unobserved (e.g. an unknown health method)."""
        if not self.observe(call_meta(full_method, RpcKind.UNARY, self.is_client)):
            return None
        return self.observer(UNKNOWN_METHOD, RpcKind.UNARY)

    # The server edge's HookFactory interface (libs/edge): the observer is the hook.
    def for_method(self, method: str, kind: RpcKind) -> MethodObserver | None:
        return self.observer(method, kind)

    def for_unknown_method(self, method: str) -> MethodObserver | None:
        return self.unknown_method_observer(method)

    def precreate(self, methods: Iterable[tuple[str, RpcKind]]) -> None:
        for full_method, kind in methods:
            self.observer(full_method, kind)
