"""SLO values from a Prometheus server's HTTP query API (`GET /api/v1/query`)."""

from __future__ import annotations

import asyncio
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request

from libs.status.errors import Internal, Unavailable


class PrometheusError(Exception):
    """Prometheus could not be asked (down, timed out): the report is unavailable."""


class QueryRejected(PrometheusError):
    """Prometheus answered but refused a query: a bug in our PromQL, never the caller's."""


def query_instant(
    base_url: str, expr: str, timeout: float, at: float | None = None
) -> float | None:
    """One instant query; the single value of its result (None: empty or NaN).

    Raises PrometheusError when Prometheus cannot be reached or rejects the query."""
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    url = base_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("error", "")
        except Exception:
            detail = ""
        if 400 <= exc.code < 500:
            raise QueryRejected(f"HTTP {exc.code} for {expr!r}: {detail}") from None
        raise PrometheusError(f"HTTP {exc.code} for {expr!r}: {detail}") from None
    except (OSError, ValueError) as exc:
        raise PrometheusError(f"{base_url} unreachable: {exc}") from None
    if body.get("status") != "success":
        raise QueryRejected(f"query {expr!r} failed: {body.get('error', body)}")
    data = body.get("data", {})
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        raw = result[1]
    elif kind == "vector":
        if not result:
            return None
        # our expressions aggregate to one series; several would be a selector surprise:
        # report the worst
        raw = max((r["value"][1] for r in result), key=float)
    else:
        raise QueryRejected(f"unexpected result type {kind!r} for {expr!r}")
    value = float(raw)
    return None if math.isnan(value) or math.isinf(value) else value


class PrometheusSource:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url
        self.timeout = timeout

    async def values(self, queries: dict[str, str]) -> dict[str, float | None]:
        at = time.time()

        async def one(name: str, expr: str) -> tuple[str, float | None]:
            return name, await asyncio.to_thread(
                query_instant, self.base_url, expr, self.timeout, at
            )

        try:
            results = await asyncio.gather(*(one(n, q) for n, q in queries.items()))
        except QueryRejected as exc:
            raise Internal(f"Prometheus rejected a query: {exc}") from None
        except PrometheusError as exc:
            raise Unavailable(f"Prometheus query failed: {exc}") from None
        return dict(results)
