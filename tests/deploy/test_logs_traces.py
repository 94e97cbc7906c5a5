"""deploy/promtail, deploy/filebeat, deploy/otel-collector.

No promtail, filebeat or otelcol binary is installable from the registries this project uses
(Debian, PyPI, npm), so these configs cannot be run through their own checkers here. The
tests check their structure and, where it matters, against the real thing: the fields the
pipelines read are fields our logger (libs.observability.logging) really writes."""

from __future__ import annotations

import fnmatch
import io
import json
import re
from datetime import datetime

import pytest

from libs.observability import logging as bytebot_logging
from tests.deploy.tooling import DEPLOY, KUBERNETES_DIR, load_yaml

PROMTAIL = DEPLOY / "promtail" / "promtail.yml"
FILEBEAT = DEPLOY / "filebeat" / "filebeat.yml"
OTEL = DEPLOY / "otel-collector" / "config.yaml"
# DESIGN §6 fields only present inside a traced call or an RPC access log
CONTEXT_FIELDS = {"trace_id", "span_id", "grpc.service", "grpc.method", "grpc.method_type",
                  "grpc.code", "grpc.time_ms", "peer.address"}
HIGH_CARDINALITY = {"correlationId", "userId", "trace_id", "span_id", "pod", "peer.address"}
BOUNDED_LEVELS = {"debug", "info", "warn", "error", "critical"}


@pytest.fixture(scope="module")
def log_line() -> dict:
    """One line as the services write it."""
    stream = io.StringIO()
    bytebot_logging.configure("tasks-api", "1.2.3", "production", stream=stream)
    try:
        bytebot_logging.get_logger("deploy-test").warning("task created", taskId="t-1")
    finally:
        bytebot_logging.reset()
    (line,) = stream.getvalue().splitlines()
    return json.loads(line)


def _promtail_job() -> dict:
    (job,) = load_yaml(PROMTAIL)["scrape_configs"]
    return job


def _stage(stages: list[dict], name: str) -> dict:
    (stage,) = [s[name] for s in stages if name in s]
    return stage


def test_promtail_reads_fields_our_logger_writes(log_line):
    stages = _promtail_job()["pipeline_stages"]
    assert list(stages[0]) == ["cri"], "strip the CRI wrapper before parsing JSON"
    expressions = _stage(stages, "json")["expressions"]
    for name, path in expressions.items():
        key = path.strip('"')
        assert key in log_line or key in CONTEXT_FIELDS, f"{name}: {key} is never logged"
    assert {"level", "service", "timestamp"} <= set(expressions)


def test_promtail_timestamp_format_parses_our_timestamps(log_line):
    stage = _stage(_promtail_job()["pipeline_stages"], "timestamp")
    assert stage == {"source": "timestamp", "format": "RFC3339Nano"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", log_line["timestamp"])
    datetime.fromisoformat(log_line["timestamp"])


def test_promtail_labels_are_low_cardinality_only(log_line):
    job = _promtail_job()
    labels = set(_stage(job["pipeline_stages"], "labels"))
    assert labels == {"level", "service"}
    assert log_line["level"] in BOUNDED_LEVELS
    targets = {r["target_label"] for r in job["relabel_configs"] if "target_label" in r}
    assert targets == {"app", "container", "namespace", "__path__"}
    assert not (labels | targets) & HIGH_CARDINALITY
    metadata = set(_stage(job["pipeline_stages"], "structured_metadata"))
    assert metadata <= HIGH_CARDINALITY  # searchable, not indexed


def test_promtail_keeps_every_bytebot_deployment_by_app_label():
    job = _promtail_job()
    (keep,) = [r for r in job["relabel_configs"] if r.get("action") == "keep"]
    assert keep["source_labels"] == ["__meta_kubernetes_pod_label_app"]
    assert job["kubernetes_sd_configs"] == [
        {"role": "pod", "namespaces": {"names": ["bytebot-production"]}}
    ]
    apps = set()
    for path in (KUBERNETES_DIR / "base").glob("*.yaml"):
        for doc in path.read_text().split("\n---\n"):
            if "kind: Deployment" in doc:
                apps.update(re.findall(r"^        app: (\S+)$", doc, re.M))
    assert len(apps) == 5
    assert all(re.fullmatch(keep["regex"], app) for app in apps)
    assert "positions" in load_yaml(PROMTAIL) and load_yaml(PROMTAIL)["clients"][0]["url"]


def test_filebeat_reads_our_pods_container_logs():
    (source,) = load_yaml(FILEBEAT)["filebeat.inputs"]
    assert source["type"] == "filestream" and source["id"]
    assert source["parsers"] == [{"container": {"stream": "all"}}]
    (pattern,) = source["paths"]
    # kubelet's /var/log/containers/<pod>_<namespace>_<container>-<container id>.log
    ours = "/var/log/containers/bytebot-api-5c6d8f-abcde_bytebot-production_api-0123abcd.log"
    other = "/var/log/containers/coredns-1_kube-system_coredns-0123abcd.log"
    assert fnmatch.fnmatch(ours, pattern) and not fnmatch.fnmatch(other, pattern)


def test_filebeat_maps_our_json_fields_onto_ecs(log_line):
    processors = load_yaml(FILEBEAT)["processors"]
    names = [next(iter(p)) for p in processors]
    assert names.index("decode_json_fields") < names.index("rename")
    decode = _stage(processors, "decode_json_fields")
    assert decode["fields"] == ["message"] and decode["target"] == "bytebot"
    renames = _stage(processors, "rename")["fields"]
    for rename in renames:
        key = rename["from"].removeprefix("bytebot.")
        assert key in log_line or key in CONTEXT_FIELDS, f"{key} is never logged"
    targets = {r["to"] for r in renames}
    assert {"message", "log.level", "service.name", "trace.id"} <= targets
    assert _stage(processors, "timestamp")["field"] == "bytebot.timestamp"


def test_filebeat_index_has_a_matching_template():
    config = load_yaml(FILEBEAT)
    index = config["output.elasticsearch"]["index"]
    assert index.startswith("bytebot-logs-")
    assert config["setup.ilm.enabled"] is False
    assert fnmatch.fnmatch("bytebot-logs-2026.01.01", config["setup.template.pattern"])


def test_otel_collector_pipeline_is_otlp_in_limited_batched_otlp_out():
    config = load_yaml(OTEL)
    (pipeline,) = config["service"]["pipelines"].values()
    assert pipeline["receivers"] == ["otlp"]
    assert pipeline["processors"][0] == "memory_limiter", "the limiter must come first"
    assert pipeline["processors"][-1] == "batch", "batch right before the exporters"
    for kind in ("receivers", "processors", "exporters"):
        for component in pipeline[kind]:
            assert component in config[kind], f"{component} is not defined"
    for exporter in pipeline["exporters"]:
        assert exporter.split("/")[0] == "otlp"
        assert config["exporters"][exporter]["endpoint"].endswith(":4317")
    for extension in config["service"]["extensions"]:
        assert extension in config["extensions"]
    limiter = config["processors"]["memory_limiter"]
    assert limiter["check_interval"] and 0 < limiter["limit_percentage"] <= 90


def test_services_export_to_the_collectors_otlp_grpc_port():
    protocols = load_yaml(OTEL)["receivers"]["otlp"]["protocols"]
    grpc_port = protocols["grpc"]["endpoint"].rsplit(":", 1)[1]
    assert protocols["http"]["endpoint"].endswith(":4318")
    config = load_yaml(KUBERNETES_DIR / "base" / "configmap.yaml")["data"]
    assert config["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert config["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(f":{grpc_port}")
