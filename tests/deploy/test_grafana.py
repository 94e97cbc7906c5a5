"""deploy/grafana: the four dashboards are type-checked against npm @grafana/schema (the
version of the Grafana we target, pinned in package.json) with `tsc --strict`, they are what
generate_dashboards.py writes, and the provisioning files point at them."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.deploy.tooling import GRAFANA_DIR, NODE_BIN, REPO, load_yaml, output, run, tool

HERE = Path(__file__).resolve().parent / "grafana"
GRAFANA_VERSION = "13.2.3"
DASHBOARDS = {
    "application-overview.json": ["Request Rate", "Response Time Percentiles", "Error Rate"],
    "task-processing.json": ["Task Throughput", "Task Duration", "Task Success Rate",
                             "Queue Length", "Worker Utilization"],
    "computer-operations.json": ["Mouse Operations", "Keyboard Operations",
                                 "Screenshot Latency", "OCR Processing Time",
                                 "ANE Utilization"],
    "system-performance.json": ["CPU Usage per Pod", "Memory Usage per Pod",
                                "Database Connection Pool", "Network I/O", "Storage I/O"],
}
# A dashboard with three mistakes the type check must catch (see test_typecheck).
BROKEN = {
    "schemaVersion": 41,
    "title": "broken",
    "panels": [{
        "type": "stat", "id": 1, "title": "x",
        "fieldConfig": {"defaults": {"unit": "s"}, "overides": []},
        "targets": [{"refId": "A", "expr": "up"}],
        "options": {},
    }],
    "graphTooltip": "shared",
}


def _load(name: str) -> dict:
    return json.loads((GRAFANA_DIR / "dashboards" / name).read_text())


def _typescript_for(name: str, dashboard: dict) -> str:
    """The dashboard as TypeScript object literals: the whole dashboard as a Dashboard, and
    each panel's options, custom field config and queries as their panel plugin's types."""
    lines = [
        "import type { DashboardJson, PromQuery, PanelOptions, PanelCustomFieldConfig }"
        " from './schema_types';",
        f"// {name}",
        f"export const dashboard: DashboardJson = {json.dumps(dashboard, indent=1)};",
    ]
    for panel in dashboard.get("panels", []):
        kind, pid = json.dumps(panel["type"]), panel["id"]
        custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
        lines += [
            f"export const options{pid}: PanelOptions[{kind}] = {json.dumps(panel['options'])};",
            f"export const custom{pid}: PanelCustomFieldConfig[{kind}] = {json.dumps(custom)};",
            f"export const targets{pid}: PromQuery[] = {json.dumps(panel['targets'])};",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def tsc_result(tmp_path_factory):
    """One tsc run over every dashboard plus BROKEN (tsc start-up dominates the cost)."""
    tsc = tool("tsc", NODE_BIN / "tsc")
    assert (REPO / "node_modules" / "@grafana" / "schema").exists(), "run `npm ci` first"
    installed = json.loads(
        (REPO / "node_modules" / "@grafana" / "schema" / "package.json").read_text()
    )["version"]
    assert installed == GRAFANA_VERSION
    work = tmp_path_factory.mktemp("grafana-tsc")
    os.symlink(REPO / "node_modules", work / "node_modules")
    shutil.copy(HERE / "schema_types.ts", work / "schema_types.ts")
    for name in DASHBOARDS:
        (work / name.replace(".json", ".ts")).write_text(_typescript_for(name, _load(name)))
    (work / "broken.ts").write_text(_typescript_for("broken", BROKEN))
    (work / "tsconfig.json").write_text(json.dumps({
        "extends": str(HERE / "tsconfig.base.json"), "include": ["*.ts"],
    }))
    return run([tsc, "-p", str(work / "tsconfig.json")], cwd=work)


def test_dashboards_typecheck_against_grafana_schema(tsc_result):
    errors = [line for line in tsc_result.stdout.splitlines() if "error TS" in line]
    assert errors, output(tsc_result)  # BROKEN must fail, or the check checks nothing
    ours = [e for e in errors if not e.startswith("broken.ts")]
    assert ours == [], output(tsc_result)


def test_typecheck_catches_wrong_keys_types_and_options(tsc_result):
    errors = [e for e in tsc_result.stdout.splitlines() if e.startswith("broken.ts")]
    codes = [re.search(r"error (TS\d+)", e).group(1) for e in errors]
    assert codes == ["TS2353", "TS2322", "TS2740"], output(tsc_result)
    assert """'"overides"' does not exist""" in errors[0]  # misspelt key
    assert "DashboardCursorSync" in errors[1]  # graphTooltip must be 0, 1 or 2
    assert "colorMode" in errors[2]  # a stat panel's required options are missing


def test_json_is_what_the_generator_writes():
    result = run([str(REPO / ".venv" / "bin" / "python"),
                  str(GRAFANA_DIR / "generate_dashboards.py"), "--check"])
    assert result.returncode == 0, output(result)


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_has_the_sources_panels(name):
    dashboard = _load(name)
    titles = [p["title"] for p in dashboard["panels"]]
    for title in DASHBOARDS[name]:
        assert title in titles, f"{name}: no panel {title!r}"
    assert len(set(titles)) == len(titles)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in dashboard["panels"]:
        x, w = panel["gridPos"]["x"], panel["gridPos"]["w"]
        assert 0 <= x and x + w <= 24, f"{name}: {panel['title']} outside the grid"


def test_dashboards_use_the_provisioned_datasource_and_unique_uids():
    provisioning = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")
    (datasource,) = provisioning["datasources"]
    assert datasource["type"] == "prometheus"
    uids = set()
    for name in DASHBOARDS:
        dashboard = _load(name)
        uids.add(dashboard["uid"])
        for panel in dashboard["panels"]:
            refs = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
            for ref in refs:
                assert ref == {"type": "prometheus", "uid": datasource["uid"]}
    assert len(uids) == len(DASHBOARDS)


def test_dashboard_provider_serves_a_folder_of_json_files():
    provisioning = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "bytebot.yml")
    assert provisioning["apiVersion"] == 1
    (provider,) = provisioning["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
    assert sorted(p.name for p in (GRAFANA_DIR / "dashboards").iterdir()) == sorted(DASHBOARDS)
