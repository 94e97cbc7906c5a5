"""deploy/alertmanager: amtool check-config (with the real templates), routing of critical,
warning and other alerts with `amtool config routes test`, templates rendered by amtool, and
no secret inline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.deploy.tooling import ALERTMANAGER_DIR, load_yaml, output, run, tool

CONFIG = ALERTMANAGER_DIR / "alertmanager.yml"
SECRET_KEYS = {
    "smtp_auth_password", "smtp_auth_secret", "auth_password", "auth_secret", "password",
    "api_url", "slack_api_url", "service_key", "routing_key", "api_key", "bot_token",
    "webhook_url", "credentials",
}


def _amtool() -> str:
    return tool("amtool")


def _config_with_real_templates(tmp_path: Path) -> Path:
    """The config with its template glob pointing at deploy/alertmanager/templates: amtool
    skips templates that do not exist, so the absolute production path would check none."""
    text = CONFIG.read_text().replace(
        "/etc/alertmanager/templates/", f"{ALERTMANAGER_DIR / 'templates'}/"
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    return path


def test_config_passes_amtool_check_config():
    result = run([_amtool(), "check-config", str(CONFIG)])
    assert result.returncode == 0, output(result)
    assert "3 receivers" in result.stdout


def test_config_with_its_templates_passes_amtool_check_config(tmp_path):
    result = run([_amtool(), "check-config", str(_config_with_real_templates(tmp_path))])
    assert result.returncode == 0, output(result)
    assert "1 templates" in result.stdout


def test_a_broken_template_fails_the_check(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "bad.tmpl").write_text('{{ define "x" }}{{ .Alerts | nosuchfunc }}{{ end }}')
    text = CONFIG.read_text().replace("/etc/alertmanager/templates/", f"{templates}/")
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    assert run([_amtool(), "check-config", str(path)]).returncode != 0


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=BytebotServiceDown", "severity=critical", "job=bytebot-api"],
         "critical-alerts"),
        (["alertname=BytebotHighErrorRate", "severity=critical", "cluster=bytebot-production"],
         "critical-alerts"),
        (["alertname=BytebotTaskQueueBacklog", "severity=warning"], "warning-alerts"),
        (["alertname=BytebotHighDiskUsage", "severity=warning", "instance=node-1:9100"],
         "warning-alerts"),
        (["alertname=Watchdog", "severity=none"], "default-receiver"),
        (["alertname=SomethingWithoutSeverity"], "default-receiver"),
    ],
)
def test_routes(labels, receiver):
    result = run([
        _amtool(), "config", "routes", "test", f"--config.file={CONFIG}",
        f"--verify.receivers={receiver}", *labels,
    ])
    assert result.returncode == 0, output(result)
    assert result.stdout.strip() == receiver


def test_a_wrong_route_expectation_fails():
    result = run([
        _amtool(), "config", "routes", "test", f"--config.file={CONFIG}",
        "--verify.receivers=default-receiver", "severity=critical",
    ])
    assert result.returncode != 0


def test_critical_is_fast_and_frequent_warning_is_a_30_minute_digest():
    config = load_yaml(CONFIG)
    routes = {r["receiver"]: r for r in config["route"]["routes"]}
    critical, warning = routes["critical-alerts"], routes["warning-alerts"]
    assert critical["group_wait"] == "5s" and critical["repeat_interval"] == "5m"
    assert warning["group_interval"] == "30m" and warning["repeat_interval"] == "30m"
    receivers = {r["name"]: r for r in config["receivers"]}
    assert set(receivers) == {"default-receiver", "critical-alerts", "warning-alerts"}
    assert receivers["critical-alerts"]["email_configs"]
    assert receivers["critical-alerts"]["slack_configs"]
    assert receivers["warning-alerts"]["email_configs"]
    assert "slack_configs" not in receivers["warning-alerts"]


def _keys(node: object) -> list[tuple[str, object]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((key, value))
            found.extend(_keys(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_keys(item))
    return found


def test_no_secret_is_inline():
    config = load_yaml(CONFIG)
    inline = [k for k, _ in _keys(config) if k in SECRET_KEYS]
    assert inline == []
    files = dict(_keys(config))
    assert files["smtp_auth_password_file"].startswith("/etc/alertmanager/secrets/")
    (slack,) = config["receivers"][1]["slack_configs"]
    assert slack["api_url_file"].startswith("/etc/alertmanager/secrets/")
    assert "hooks.slack.com" not in CONFIG.read_text()


@pytest.mark.parametrize(
    "template",
    ["bytebot.email.subject", "bytebot.email.text", "bytebot.slack.title", "bytebot.slack.text"],
)
def test_templates_render_the_alerts_annotations(template, tmp_path):
    alert = {
        "status": "firing",
        "labels": {"alertname": "BytebotServiceDown", "severity": "critical",
                   "job": "bytebot-api"},
        "annotations": {
            "summary": "Bytebot service bytebot-api is down",
            "description": "Service bytebot-api (10.0.0.1:9464) has been down for more than "
                           "2 minutes.",
            "runbook_url": "https://docs.bytebot.com/runbooks/service-down",
        },
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "0123456789abcdef",
    }
    data = {
        "receiver": "critical-alerts", "status": "firing", "alerts": [alert],
        "groupLabels": {"alertname": "BytebotServiceDown"},
        "commonLabels": alert["labels"], "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager:9093",
    }
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data))
    result = run([
        _amtool(), "template", "render",
        f"--template.glob={ALERTMANAGER_DIR / 'templates' / '*.tmpl'}",
        f'--template.text={{{{ template "{template}" . }}}}',
        f"--template.data={data_file}",
    ])
    assert result.returncode == 0, output(result)
    assert "Bytebot service bytebot-api is down" in result.stdout
    if template.endswith("text"):
        assert "https://docs.bytebot.com/runbooks/service-down" in result.stdout
        assert "has been down for more than 2 minutes" in result.stdout


def test_every_template_the_config_uses_is_defined():
    defined = set()
    for path in (ALERTMANAGER_DIR / "templates").glob("*.tmpl"):
        text = path.read_text()
        defined.update(part.split('"')[1] for part in text.split("{{ define ")[1:])
    used = set()
    for _key, value in _keys(yaml.safe_load(CONFIG.read_text())):
        if isinstance(value, str) and "{{ template" in value:
            used.update(p.split('"')[1] for p in value.split("{{ template ")[1:])
    assert used and used <= defined
