"""deploy/prometheus: configs checked by promtool, alert and recording rules unit-tested by
`promtool test rules`, and the scrape jobs matched against the stack's real ports."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from libs.stack import prometheus as stack_prometheus
from libs.stack.layout import LOCAL_STACK, local_stack
from tests.deploy.tooling import DEPLOY, PROMETHEUS_DIR, RULES_DIR, load_yaml, output, run, tool

ALERTS = {
    "BytebotServiceDown": "critical",
    "BytebotHighErrorRate": "critical",
    "BytebotDatabaseConnectionFailure": "critical",
    "BytebotHighMemoryUsage": "critical",
    "BytebotHighResponseTime": "warning",
    "BytebotHighTaskFailureRate": "warning",
    "BytebotTaskQueueBacklog": "warning",
    "BytebotHighDiskUsage": "warning",
}
# scrape job -> service name of the local stack (libs/stack/layout.py)
JOB_SERVICE = {
    "bytebot-api": "tasks-api",
    "bytebot-worker": "tasks-worker",
    "bytebot-computer": "computer",
    "bytebot-inference": "inference",
    "bytebot-telemetry": "telemetry",
}
RUNBOOK_URL = re.compile(r"^https://docs\.bytebot\.com/runbooks/([a-z0-9-]+)$")
# Meta labels Prometheus' Kubernetes SD sets, per role (prometheus.io docs, kubernetes_sd_config).
ENDPOINTS_META = re.compile(
    r"__meta_kubernetes_(namespace|endpoints_name|endpoints_label_\w+|endpoint_hostname"
    r"|endpoint_node_name|endpoint_ready|endpoint_port_name|endpoint_port_protocol"
    r"|endpoint_address_target_kind|endpoint_address_target_name|service_name"
    r"|service_label_\w+|service_annotation_\w+|pod_name|pod_ip|pod_label_\w+|pod_uid"
    r"|pod_container_name|pod_container_port_name|pod_container_port_number|pod_node_name"
    r"|pod_ready|pod_phase)$"
)
NODE_META = re.compile(
    r"__meta_kubernetes_node_(name|provider_id|label_\w+|labelpresent_\w+|annotation_\w+"
    r"|address_\w+)$"
)


def _alert_rules() -> dict[str, dict]:
    rules = {}
    for group in load_yaml(RULES_DIR / "alerts.yml")["groups"]:
        for rule in group["rules"]:
            rules[rule["alert"]] = rule
    return rules


def _recording_rules() -> dict[str, dict]:
    return {
        rule["record"]: rule
        for group in load_yaml(RULES_DIR / "recording.yml")["groups"]
        for rule in group["rules"]
    }


def test_rule_files_pass_promtool_check():
    files = sorted(str(p) for p in RULES_DIR.glob("*.yml"))
    assert len(files) == 2
    result = run([tool("promtool"), "check", "rules", *files])
    assert result.returncode == 0, output(result)
    assert "SUCCESS: 8 rules found" in result.stdout


@pytest.mark.parametrize(
    "test_file", ["alerts.test.yml", "alerts.boundaries.test.yml", "recording.test.yml"]
)
def test_rule_unit_tests_pass(test_file):
    result = run([tool("promtool"), "test", "rules", test_file], cwd=PROMETHEUS_DIR / "tests")
    assert result.returncode == 0, output(result)
    assert "SUCCESS" in result.stdout


def test_the_sources_eight_alerts_with_severity_and_annotations():
    rules = _alert_rules()
    assert {name: r["labels"]["severity"] for name, r in rules.items()} == ALERTS
    for name, rule in rules.items():
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], name
        match = RUNBOOK_URL.match(annotations["runbook_url"])
        assert match, f"{name}: runbook_url {annotations['runbook_url']!r}"
        runbook = DEPLOY / "runbooks" / f"{match.group(1)}.md"
        assert runbook.exists(), f"{name}: no runbook {runbook}"
        assert name in runbook.read_text(), f"{runbook} does not describe {name}"
        assert "for" in rule, f"{name} must wait before firing"


def test_alerts_use_seconds_and_the_5xx_mapping():
    rules = _alert_rules()
    assert not any("http_request_duration_ms" in r["expr"] for r in rules.values())
    response = rules["BytebotHighResponseTime"]["expr"]
    assert "grpc_server_handling_seconds_bucket" in response and "> 2\n" in response + "\n"
    assert 'status_code=~"5.."' in rules["BytebotHighErrorRate"]["expr"]
    memory = rules["BytebotHighMemoryUsage"]["expr"]
    assert "process_resident_memory_bytes" in memory
    assert "container_spec_memory_limit_bytes" in memory


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    tests = load_yaml(PROMETHEUS_DIR / "tests" / "alerts.test.yml")["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
            for alert in check["exp_alerts"]:
                # the exact labels and annotations a receiver gets
                assert alert["exp_labels"]["severity"] == ALERTS[check["alertname"]]
                assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url"}
    assert firing == set(ALERTS), f"alerts never shown firing: {set(ALERTS) - firing}"
    assert quiet == set(ALERTS), f"alerts never shown quiet: {set(ALERTS) - quiet}"


def test_recording_rules_are_named_level_metric_operations_and_all_tested():
    rules = _recording_rules()
    for name in rules:
        assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", name), name
    tested = set()
    for case in load_yaml(PROMETHEUS_DIR / "tests" / "recording.test.yml")["tests"]:
        tested.update(check["expr"] for check in case.get("promql_expr_test", []))
    assert tested == set(rules)


def test_local_config_passes_promtool_check_config():
    # rule_files are relative to the config's folder, so the real rules are checked with it
    result = run([tool("promtool"), "check", "config", "prometheus.local.yml"], cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, output(result)
    assert "SUCCESS: 2 rule files found" in result.stdout


def test_local_config_scrapes_the_stacks_real_ports():
    config = load_yaml(PROMETHEUS_DIR / "prometheus.local.yml")
    targets = {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in config["scrape_configs"]
    }
    ports = {s.name: s.http_port for s in LOCAL_STACK}
    for job, service in JOB_SERVICE.items():
        assert targets[job] == [f"127.0.0.1:{ports[service]}"], job


def _kubernetes_config_for_promtool(tmp_path: Path) -> Path:
    """prometheus.yml as promtool 2.42 from Debian can check it.

    Debian builds Prometheus without Kubernetes service discovery, so its promtool rejects
    `kubernetes_sd_configs` as an unknown field. Everything else is kept as written: each
    kubernetes_sd_configs block becomes a file_sd_configs block (relabelling unchanged), and
    absolute paths (rules, service-account files) point into tmp_path, where the real rules
    are copied. The Kubernetes SD blocks themselves are checked by the next test.
    """
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    targets = tmp_path / "targets.json"
    targets.write_text("[]")

    def replace_sd(block: dict) -> None:
        if "kubernetes_sd_configs" in block:
            del block["kubernetes_sd_configs"]
            block["file_sd_configs"] = [{"files": [str(targets)]}]

    for job in config["scrape_configs"]:
        replace_sd(job)
    for alertmanager in config["alerting"]["alertmanagers"]:
        replace_sd(alertmanager)
    rules = tmp_path / "etc" / "prometheus" / "rules"
    shutil.copytree(RULES_DIR, rules)
    secrets = tmp_path / "serviceaccount"
    secrets.mkdir()
    (secrets / "ca.crt").write_text("placeholder")
    (secrets / "token").write_text("placeholder")
    text = yaml.safe_dump(config, sort_keys=False)
    text = text.replace("/etc/prometheus/rules/", f"{rules}/")
    text = text.replace("/var/run/secrets/kubernetes.io/serviceaccount/", f"{secrets}/")
    path = tmp_path / "prometheus.yml"
    path.write_text(text)
    return path


def test_kubernetes_config_passes_promtool_check_config(tmp_path):
    path = _kubernetes_config_for_promtool(tmp_path)
    result = run([tool("promtool"), "check", "config", str(path)])
    assert result.returncode == 0, output(result)
    assert "SUCCESS: 2 rule files found" in result.stdout


def test_kubernetes_sd_keeps_every_bytebot_service_by_name_and_metrics_port():
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(JOB_SERVICE) | {"node-exporter", "kubernetes-cadvisor"} == set(jobs)
    for name in JOB_SERVICE:
        job = jobs[name]
        (sd,) = job["kubernetes_sd_configs"]
        assert sd == {"role": "endpoints", "namespaces": {"names": ["bytebot-production"]}}
        keeps = {
            tuple(r["source_labels"]): r["regex"]
            for r in job["relabel_configs"]
            if r.get("action") == "keep"
        }
        assert keeps == {
            ("__meta_kubernetes_service_name",): name,
            ("__meta_kubernetes_endpoint_port_name",): "metrics",
        }
        targets = {r.get("target_label") for r in job["relabel_configs"]}
        assert {"namespace", "pod", "container"} <= targets, "needed by the memory/CPU joins"
    for name in ("node-exporter", "kubernetes-cadvisor"):
        assert jobs[name]["kubernetes_sd_configs"] == [{"role": "node"}]


def test_kubernetes_sd_relabelling_uses_real_meta_labels():
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    blocks = [*config["scrape_configs"], *config["alerting"]["alertmanagers"]]
    for block in blocks:
        (sd,) = block["kubernetes_sd_configs"]
        meta = ENDPOINTS_META if sd["role"] == "endpoints" else NODE_META
        assert sd["role"] in {"endpoints", "node"}
        for rule in block.get("relabel_configs", []):
            for label in rule.get("source_labels", []):
                if label.startswith("__meta_kubernetes_"):
                    assert meta.match(label), f"{label} is not set by role {sd['role']}"


def test_the_stacks_node_exporter_is_scraped_under_the_deploy_job_name(tmp_path):
    # `bytebot up --with-prometheus` scrapes its node exporter as prometheus.yml scrapes nodes
    deploy_jobs = {j["job_name"] for j in load_yaml(PROMETHEUS_DIR / "prometheus.yml")[
        "scrape_configs"]}
    assert stack_prometheus.NODE_EXPORTER_JOB in deploy_jobs
    text = stack_prometheus.scrape_config(local_stack(1000), node_exporter_port=10100)
    config = yaml.safe_load(text)
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert jobs[stack_prometheus.NODE_EXPORTER_JOB] == ["127.0.0.1:10100"]
    path = tmp_path / "prometheus.yml"
    path.write_text(text)
    result = run([tool("promtool"), "check", "config", str(path)])
    assert result.returncode == 0, output(result)
    argv = stack_prometheus.node_exporter_command("node_exporter", "127.0.0.1:10100", tmp_path)
    assert {"--collector.filesystem", "--collector.textfile", "--collector.cpu"} <= set(argv)
