"""What an on-call person reads: the alerts' notification data and the checks of its text.

Shared by the `amtool template render` test (tests/deploy/test_alert_notifications.py) and
the live truth test (a real Alertmanager posting to a webhook in the test).

The alerts' labels and annotations come from deploy/prometheus/tests/alerts.boundaries.test.yml:
promtool proves the rules produce exactly those (values expanded), so the rendered text is the
text of a real firing alert, not a hand-written sample.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.deploy.tooling import (
    ALERTMANAGER_DIR,
    DEPLOY,
    PROMETHEUS_DIR,
    load_yaml,
    output,
    run,
    tool,
)

RUNBOOKS = DEPLOY / "runbooks"
RUNBOOK_URL = re.compile(r"^https://docs\.bytebot\.com/runbooks/([a-z0-9-]+)$")
BOUNDARY_TESTS = PROMETHEUS_DIR / "tests" / "alerts.boundaries.test.yml"
# receiver of each severity (deploy/alertmanager/alertmanager.yml)
RECEIVER_OF = {"critical": "critical-alerts", "warning": "warning-alerts"}


def firing_examples() -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """alertname -> (labels, annotations) of its first firing case in the boundary tests."""
    examples: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for case in load_yaml(BOUNDARY_TESTS)["tests"]:  # type: ignore[index]
        for check in case.get("alert_rule_test", []):
            for alert in check["exp_alerts"]:
                name = check["alertname"]
                labels = {"alertname": name, **{k: str(v) for k, v in alert["exp_labels"].items()}}
                examples.setdefault(name, (labels, dict(alert["exp_annotations"])))
    return examples


def runbook_file(url: str) -> Path | None:
    """The deploy/runbooks file a runbook URL names, if it exists."""
    match = RUNBOOK_URL.match(url)
    if not match:
        return None
    path = RUNBOOKS / f"{match.group(1)}.md"
    return path if path.exists() else None


def notification_data(
    receiver: str, status: str, alerts: list[dict[str, Any]], external_url: str
) -> dict[str, Any]:
    """Alertmanager's template data (the webhook payload has the same shape)."""
    common = alerts[0]["labels"] if len(alerts) == 1 else {}
    return {
        "receiver": receiver, "status": status, "alerts": alerts,
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": common,
        "commonAnnotations": alerts[0]["annotations"] if len(alerts) == 1 else {},
        "externalURL": external_url,
    }


def alert_entry(labels: dict[str, str], annotations: dict[str, str], status: str) -> dict[str, Any]:
    return {
        "status": status, "labels": labels, "annotations": annotations,
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2026-01-01T00:10:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph", "fingerprint": "0123456789abcdef",
    }


def text_problems(text: str, labels: dict[str, str], annotations: dict[str, str],
                  *, with_body: bool) -> list[str]:
    """What is wrong with a rendered notification (empty: nothing). A body must carry the
    summary, the description (with its value), a runbook URL whose file exists, and the
    alert's identifying labels; a subject or title must carry the summary."""
    problems = []
    if annotations["summary"] not in text:
        problems.append(f"summary {annotations['summary']!r} missing")
    if with_body:
        if annotations["description"] not in text:
            problems.append(f"description {annotations['description']!r} missing")
        urls = re.findall(r"https://docs\.bytebot\.com/runbooks/[a-z0-9-]+", text)
        if not urls or any(runbook_file(u) is None for u in urls):
            problems.append(f"runbook URLs {urls} do not all name a file in deploy/runbooks")
        for key in ("alertname", "job", "instance"):
            if key in labels and f"{labels[key]}" not in text:
                problems.append(f"label {key}={labels[key]} missing")
    if "<no value>" in text:
        problems.append("a template field rendered as <no value>")
    return problems


def render(template: str, data: dict[str, Any], workdir: Path) -> str:
    """`amtool template render` of one of deploy/alertmanager/templates' templates."""
    data_file = workdir / f"data-{template}.json"
    data_file.write_text(json.dumps(data))
    result = run([
        tool("amtool"), "template", "render",
        f"--template.glob={ALERTMANAGER_DIR / 'templates' / '*.tmpl'}",
        f'--template.text={{{{ template "{template}" . }}}}',
        f"--template.data={data_file}",
    ])
    assert result.returncode == 0, output(result)
    return result.stdout


# template -> whether it is a body (summary, description, runbook, labels) or a subject/title
TEMPLATES = {
    "bytebot.email.subject": False,
    "bytebot.email.text": True,
    "bytebot.slack.title": False,
    "bytebot.slack.text": True,
}


def has_real_value(description: str) -> bool:
    """The description carries a measured number (a percentage, a duration, a count), not
    only words: `… is 12.5% …`, `… is 2.5s.`, `120 tasks …`. ServiceDown and
    DatabaseConnectionFailure carry the instance instead (their value is always 0)."""
    return bool(re.search(r"\d", description))


__all__ = ["RECEIVER_OF", "RUNBOOKS", "TEMPLATES", "alert_entry", "firing_examples",
           "has_real_value", "notification_data", "render", "runbook_file", "text_problems"]
