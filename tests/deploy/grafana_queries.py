"""Dashboard targets as Grafana sends them to Prometheus: every `expr` of
deploy/grafana/dashboards/*.json with Grafana's built-in variables replaced by the values
Grafana computes for a time range (the dashboards define no template variables of their own;
a new one must be added to `variables` here, or `query` refuses the target)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from tests.deploy.tooling import GRAFANA_DIR


@dataclass(frozen=True)
class Target:
    dashboard: str  # file name
    panel: str  # panel title
    ref_id: str
    expr: str


def targets() -> Iterator[Target]:
    for path in sorted((GRAFANA_DIR / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        own = [v["name"] for v in dashboard.get("templating", {}).get("list", [])]
        assert not own, f"{path.name}: template variables {own} need values in grafana_queries"
        stack = list(dashboard.get("panels", []))
        while stack:
            panel = stack.pop(0)
            stack.extend(panel.get("panels", []))
            for target in panel.get("targets", []):
                yield Target(path.name, panel["title"], target["refId"], target["expr"])


def variables(range_s: float, scrape_s: float, max_data_points: int = 1000) -> dict[str, str]:
    """Grafana's $__interval (the range over the panel's data points, never below the data
    source's scrape interval, whole seconds here), $__rate_interval
    (max($__interval + scrape interval, 4 x scrape interval)) and $__range."""
    interval = max(scrape_s, math.ceil(range_s / max_data_points))
    rate_interval = max(interval + scrape_s, 4 * scrape_s)
    return {
        "$__rate_interval": f"{rate_interval:g}s",
        "$__interval": f"{interval:g}s",
        "$__range": f"{math.ceil(range_s):g}s",
    }


def query(expr: str, values: dict[str, str]) -> str:
    # longest names first: $__rate_interval before $__range
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(name, values[name])
    left = re.findall(r"\$\{?\w+", expr)
    assert not left, f"variables without a value: {left} in {expr!r}"
    return expr


def step_seconds(values: dict[str, str]) -> float:
    """Grafana's query step is $__interval."""
    return float(values["$__interval"].removesuffix("s"))


__all__ = ["Target", "query", "step_seconds", "targets", "variables"]
