"""Every PromQL expression in deploy/ (rules + dashboards) parses with promtool and names only
metrics the services or the standard exporters export (tests/deploy/metric_catalog.py).
The live truth test checks the same inventory against a running stack."""

from __future__ import annotations

import json

import pytest

from tests.deploy.metric_catalog import (
    ALLOWED,
    SERVICE_METRICS,
    service_metrics_used,
)
from tests.deploy.promql_inventory import (
    Expression,
    all_expressions,
    copy_rules_with_short_for,
    dashboard_expressions,
    metric_names,
    promtool_parse,
    recorded_names,
    rule_expressions,
    selectors,
    to_promql,
)
from tests.deploy.tooling import GRAFANA_DIR, load_yaml, output, run, tool


@pytest.fixture(scope="module")
def expressions() -> list[Expression]:
    return all_expressions()


def test_inventory_covers_every_rule_and_every_dashboard_target(expressions):
    rules = list(rule_expressions())
    assert len(rules) == 16  # 8 alerts + 8 recording rules
    targets = 0
    for path in (GRAFANA_DIR / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            targets += len(panel["targets"])
    assert len(list(dashboard_expressions())) == targets
    assert len(expressions) == len(rules) + targets


def test_every_expression_parses_with_promtool(expressions, tmp_path):
    assert promtool_parse(expressions, tmp_path) == {}


def test_a_broken_expression_is_reported_by_name(tmp_path):
    broken = [
        Expression("good", "up", "up"),
        Expression("bad", "sum(rate(up[5m])", "sum(rate(up[5m])"),
    ]
    errors = promtool_parse(broken, tmp_path)
    assert list(errors) == ["bad"]
    assert "parse error" in errors["bad"]


def test_every_metric_is_exported_by_a_service_or_a_standard_exporter(expressions):
    unknown = {
        e.source: sorted(metric_names(e.promql) - ALLOWED)
        for e in expressions
        if metric_names(e.promql) - ALLOWED
    }
    assert unknown == {}


def test_every_expression_selects_at_least_one_metric(expressions):
    assert [e.source for e in expressions if not metric_names(e.promql)] == []


def test_rules_and_dashboards_use_the_service_metrics_of_design_section_4(expressions):
    used = set().union(*(metric_names(e.promql) for e in expressions))
    assert not used & recorded_names(), "dashboards query raw metrics, not recorded series"
    used_by_services = service_metrics_used(used)
    # the metric names the source document's alerts and dashboards are built on
    for name in (
        "bytebot_api_requests_total",
        "bytebot_tasks_total",
        "bytebot_task_queue_length",
        "bytebot_database_connections_active",
        "bytebot_task_duration_seconds_bucket",
        "bytebot_computer_operations_total",
        "bytebot_computer_operation_duration_seconds_bucket",
        "bytebot_ane_processing_duration_seconds_bucket",
        "bytebot_websocket_connections_active",
        "grpc_server_handling_seconds_bucket",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ):
        assert name in used_by_services, name
    assert used_by_services <= SERVICE_METRICS


@pytest.mark.parametrize(
    ("promql", "names"),
    [
        ("up", {"up"}),
        ('up{job=~"bytebot-.*"} == 0', {"up"}),
        (
            'sum by (job) (rate(a_total{status_code=~"5.."}[5m])) / on (job) group_left '
            "sum(rate(b_total[5m])) by (job)",
            {"a_total", "b_total"},
        ),
        (
            'histogram_quantile(0.95, sum by (le, job) (rate(c_bucket{le!="+Inf"}[5m:1m])))',
            {"c_bucket"},
        ),
        ("1e3 * d offset 5m > bool 0.5", {"d"}),
        ('label_replace(e, "dst", "$1", "src", "(.*)")', {"e"}),
        ('count_values("version", f) or on (instance) g', {"f", "g"}),
        ("max_over_time(rate(h_total[1m])[10m:]) unless ignoring (pod) i", {"h_total", "i"}),
        ("job:requests:rate5m > 1", {"job:requests:rate5m"}),
    ],
)
def test_metric_names_finds_selectors_only(promql, names):
    assert metric_names(promql) == names


@pytest.mark.parametrize(
    ("promql", "found"),
    [
        ('up{job=~"bytebot-.*"} == 0', {'up{job=~"bytebot-.*"}'}),
        (
            'sum by (job) (rate(a_total{code=~"5..", x="{b}"}[5m])) / sum(rate(a_total[5m]))',
            {'a_total{code=~"5..", x="{b}"}', "a_total"},
        ),
        ('histogram_quantile(0.9, sum by (le) (rate(c_bucket { le!="x" }[5m])))',
         {'c_bucket { le!="x" }'}),
        ('label_replace(e, "dst", "$1", "src", "up")', {"e"}),
    ],
)
def test_selectors_keep_their_matchers(promql, found):
    assert selectors(promql) == found


def test_every_expression_has_a_selector_for_each_metric_it_names(expressions):
    for e in expressions:
        assert {s.split("{")[0].strip() for s in selectors(e.promql)} == metric_names(e.promql)


def test_grafana_variables_are_replaced_and_unknown_ones_rejected():
    assert to_promql("rate(x[$__rate_interval])") == "rate(x[5m])"
    with pytest.raises(ValueError, match="unknown Grafana variables"):
        to_promql('rate(x{job="$job"}[5m])')


def test_short_for_copy_of_the_rules_is_valid(tmp_path):
    files = copy_rules_with_short_for(tmp_path / "rules", "5s")
    result = run([tool("promtool"), "check", "rules", *map(str, files)])
    assert result.returncode == 0, output(result)
    alerts = [r for f in files for g in load_yaml(f)["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) == 8 and {a["for"] for a in alerts} == {"5s"}
