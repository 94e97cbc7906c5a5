"""The e-mail and Slack notifications of every alert, rendered by `amtool template render` with
deploy/alertmanager/templates, firing and resolved. The alerts' labels and annotations are the
ones promtool proves the rules produce (tests/deploy/notification_text.py)."""

from __future__ import annotations

import pytest

from tests.deploy.notification_text import (
    RECEIVER_OF,
    TEMPLATES,
    alert_entry,
    firing_examples,
    has_real_value,
    notification_data,
    render,
    text_problems,
)

EXAMPLES = firing_examples()


def test_every_alert_of_the_source_has_an_example():
    assert len(EXAMPLES) == 8, sorted(EXAMPLES)
    for name, (labels, notes) in EXAMPLES.items():
        assert labels["severity"] in RECEIVER_OF, name
        # every description says something measured (value, count or the instance)
        assert has_real_value(notes["description"]), (name, notes)


@pytest.mark.parametrize("alertname", sorted(EXAMPLES))
@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("status", ["firing", "resolved"])
def test_notification_text(alertname, template, status, tmp_path):
    labels, notes = EXAMPLES[alertname]
    data = notification_data(RECEIVER_OF[labels["severity"]], status,
                             [alert_entry(labels, notes, status)], "http://alertmanager:9093")
    text = render(template, data, tmp_path)
    assert text_problems(text, labels, notes, with_body=TEMPLATES[template]) == [], text
    if template == "bytebot.email.subject":
        assert text.startswith(f"[Bytebot] {status.upper()}"), text
        if status == "firing":
            assert text.startswith("[Bytebot] FIRING:1 "), text
    if template == "bytebot.slack.title":
        assert text.startswith("Critical Alert:" if status == "firing" else "Resolved:"), text
    if template == "bytebot.email.text":
        assert f"Status: {status}" in text, text


def test_a_group_of_two_alerts_lists_both(tmp_path):
    labels, notes = EXAMPLES["BytebotServiceDown"]
    other = {**labels, "instance": "10.0.0.7:9464"}
    other_annotations = {**notes, "description": notes["description"].replace(
        labels["instance"], other["instance"])}
    data = notification_data("critical-alerts", "firing", [
        alert_entry(labels, notes, "firing"),
        alert_entry(other, other_annotations, "firing"),
    ], "http://alertmanager:9093")
    subject = render("bytebot.email.subject", data, tmp_path)
    assert subject.startswith("[Bytebot] FIRING:2 "), subject
    body = render("bytebot.email.text", data, tmp_path)
    assert notes["description"] in body and other_annotations["description"] in body
