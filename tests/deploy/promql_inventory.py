"""Every PromQL expression of deploy/ (alert + recording rules, dashboard targets), the
metric names each one uses, and a promtool parse of all of them.

Used by the static tests and meant for the live monitoring truth test, which checks the
same inventory against a running stack:

    for item in all_expressions(): item.source, item.expr, item.promql, metric_names(item.promql)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.deploy.tooling import GRAFANA_DIR, RULES_DIR, run, tool

# Grafana's built-in variables, replaced by a fixed value so promtool can parse the query.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
}

KEYWORDS = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan", "start", "end",
})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_SELECTOR = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s*\{[^{}]*\})?(?!\s*\()")
_TOKEN = re.compile(r"\d[\w.]*|[a-zA-Z_:][a-zA-Z0-9_:]*|\S")


@dataclass(frozen=True)
class Expression:
    source: str  # "rules/alerts.yml: BytebotServiceDown", "dashboards/x.json: Panel (A)"
    expr: str  # as written
    promql: str  # Grafana variables replaced: what Prometheus would get


def to_promql(expr: str) -> str:
    text = expr
    for variable, value in GRAFANA_VARIABLES.items():
        text = text.replace(variable, value)
    leftover = re.findall(r"\$\{?\w+", text)
    if leftover:
        raise ValueError(f"unknown Grafana variables {leftover} in {expr!r}")
    return text


def metric_names(promql: str) -> set[str]:
    """Metric names a PromQL expression selects (vector selectors; not functions, keywords,
    label names or label values). The expression must parse (see promtool_parse)."""
    text = _STRING.sub('""', promql)
    text = _MATCHERS.sub("{}", text)
    text = _RANGES.sub("[]", text)
    text = _GROUPING.sub(" ", text)  # `sum by (job) (x)` -> `sum  (x)`: sum is a call
    tokens = _TOKEN.findall(text)
    names = set()
    for i, token in enumerate(tokens):
        if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", token) or token.lower() in KEYWORDS:
            continue
        if i + 1 < len(tokens) and tokens[i + 1] == "(":
            continue  # a function or aggregation
        names.add(token)
    return names


def selectors(promql: str) -> set[str]:
    """The vector selectors of an expression as written, matchers included
    (`up{job=~"bytebot-.*"}`), for each metric name `metric_names` finds: what the live truth
    test asks Prometheus for, so a label name or value that no series has is caught too."""
    names = metric_names(promql)
    # blank out string contents (same length) so braces or names inside strings do not count
    masked = _STRING.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1],
                         promql)
    found = set()
    for match in _SELECTOR.finditer(masked):
        if match.group(1) in names:
            found.add(promql[match.start():match.end()])
    return found


def rule_expressions(rules_dir: Path = RULES_DIR) -> Iterator[Expression]:
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                expr = str(rule["expr"]).strip()
                yield Expression(f"rules/{path.name}: {name}", expr, expr)


def _panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_expressions(grafana_dir: Path = GRAFANA_DIR) -> Iterator[Expression]:
    for path in sorted((grafana_dir / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard.get("panels", [])):
            for target in panel.get("targets", []):
                expr = target["expr"]
                source = f"dashboards/{path.name}: {panel['title']} ({target['refId']})"
                yield Expression(source, expr, to_promql(expr))


def all_expressions() -> list[Expression]:
    return [*rule_expressions(), *dashboard_expressions()]


def recorded_names(rules_dir: Path = RULES_DIR) -> set[str]:
    names = set()
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names.update(r["record"] for r in group["rules"] if "record" in r)
    return names


def promtool_parse(expressions: list[Expression], workdir: Path) -> dict[str, str]:
    """Parse every expression with promtool (each as a recording rule in its own group, so
    an error names the expression); return {source: error} for those that do not parse."""
    promtool = tool("promtool")
    groups = [
        {"name": f"expr-{i}", "rules": [{"record": f"check:expr_{i}", "expr": e.promql}]}
        for i, e in enumerate(expressions)
    ]
    path = workdir / "expressions.yml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    result = run([promtool, "check", "rules", str(path)])
    if result.returncode == 0:
        return {}
    errors = {}
    for i, expression in enumerate(expressions):
        if f"group \"expr-{i}\"" in result.stdout + result.stderr or (
            f"expr-{i}," in result.stdout + result.stderr
        ):
            errors[expression.source] = result.stdout + result.stderr
    # promtool stops at the first error on some versions: check one by one to name them all
    if not errors:
        for i, expression in enumerate(expressions):
            single = workdir / f"expression-{i}.yml"
            single.write_text(yaml.safe_dump({"groups": [groups[i]]}, sort_keys=False))
            one = run([promtool, "check", "rules", str(single)])
            if one.returncode != 0:
                errors[expression.source] = one.stdout + one.stderr
    return errors or {"(promtool)": result.stdout + result.stderr}


def copy_rules_with_short_for(
    dest: Path, duration: str = "10s", rules_dir: Path = RULES_DIR, window: str | None = None,
    replace: dict[str, str] | None = None,
) -> list[Path]:
    """The rule files with every alert's `for:` set to `duration`, for the live truth test
    (see an alert fire within seconds instead of minutes), and, with `window`, every alert's
    `[5m]` rate window set to it (see an alert resolve once the fault has left the window,
    seconds after it ends instead of five minutes), and every `replace` key in an alert's
    expression by its value. Returns the written files."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(rules_dir.glob("*.yml")):
        content = yaml.safe_load(path.read_text())
        for group in content["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rule["for"] = duration
                    if window is not None:
                        rule["expr"] = str(rule["expr"]).replace("[5m]", f"[{window}]")
                    for old, new in (replace or {}).items():
                        rule["expr"] = str(rule["expr"]).replace(old, new)
        target = dest / path.name
        target.write_text(yaml.safe_dump(content, sort_keys=False))
        written.append(target)
    return written
