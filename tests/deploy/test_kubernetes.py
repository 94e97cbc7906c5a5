"""deploy/kubernetes: the production overlay renders with kustomize (`kubectl kustomize`),
every rendered object passes `kubernetes-validate --strict`, and the invariants the rest of
deploy/ relies on hold (ports named grpc/metrics, gRPC probes, security, PDB/HPA)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from libs.runtime import registry
from libs.security.tokens import new_token
from tests.deploy.tooling import (
    DEPLOY,
    KUBERNETES_DIR,
    REPO,
    VENV_BIN,
    load_yaml_all,
    output,
    run,
    tool,
)

KUBERNETES_VERSION = "1.37.0"
OVERLAY = KUBERNETES_DIR / "overlays" / "production"
# the Secrets people create by hand (placeholders only; not part of the kustomization)
SECRET_EXAMPLES = sorted(OVERLAY.glob("*.example.yaml"))
AUTH_MODES = ("token", "jwt", "token+jwt")
# Deployment -> (bytebot serve <name>, gRPC port, HTTP ops port), from the service registry
# (libs/runtime/registry.py; the Deployment is named like the Prometheus job), so a newly
# registered service without its manifest fails here
SERVICES = {
    d.job: (d.name, d.grpc_port, d.http_port) for d in registry.definitions()
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[str, list[dict]]:
    kubectl = tool("kubectl", VENV_BIN / "kubectl")
    result = run([kubectl, "kustomize", str(OVERLAY)])
    assert result.returncode == 0, output(result)
    path = tmp_path_factory.mktemp("kustomize") / "production.yaml"
    path.write_text(result.stdout)
    return str(path), load_yaml_all(result.stdout)


def _objects(rendered, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in rendered[1] if o["kind"] == kind}


def test_every_rendered_object_passes_kubernetes_validate_strict(rendered):
    validate = tool("kubernetes-validate", VENV_BIN / "kubernetes-validate")
    result = run([
        validate, "--strict", "--kubernetes-version", KUBERNETES_VERSION,
        rendered[0], *map(str, SECRET_EXAMPLES),
    ])
    assert result.returncode == 0, output(result)
    assert "ERROR" not in result.stdout + result.stderr
    passed = (result.stdout + result.stderr).count("passed for resource")
    examples = [doc for path in SECRET_EXAMPLES for doc in load_yaml_all(path.read_text())]
    assert {d["metadata"]["name"] for d in examples} >= {
        "bytebot-database", "bytebot-auth", "bytebot-worker-token"}
    assert passed == len(rendered[1]) + len(examples)


def test_a_misspelt_field_fails_strict_validation(rendered, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(rendered[0]).read().replace("runAsNonRoot", "runAsNonroot", 1))
    validate = tool("kubernetes-validate", VENV_BIN / "kubernetes-validate")
    result = run([validate, "--strict", "--kubernetes-version", KUBERNETES_VERSION, str(bad)])
    assert result.returncode != 0
    assert "runAsNonroot" in result.stdout + result.stderr


def test_everything_lives_in_bytebot_production(rendered):
    for obj in rendered[1]:
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == "bytebot-production"
        else:
            assert obj["metadata"]["namespace"] == "bytebot-production", obj["metadata"]["name"]


def test_deployments_run_each_service_with_grpc_probes(rendered):
    deployments = _objects(rendered, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, (serve, grpc_port, http_port) in SERVICES.items():
        spec = deployments[name]["spec"]
        assert spec["selector"]["matchLabels"] == {"app": name}
        assert spec["template"]["metadata"]["labels"]["app"] == name
        (container,) = spec["template"]["spec"]["containers"]
        assert container["image"].startswith("registry.bytebot.com/bytebot/backend:")
        assert container["args"] == ["serve", serve]
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
            "grpc": grpc_port, "metrics": http_port,
        }
        for probe, service in (("startupProbe", "startup"), ("livenessProbe", "liveness"),
                               ("readinessProbe", "readiness")):
            assert container[probe]["grpc"] == {"port": grpc_port, "service": service}, name
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["BYTEBOT_GRPC_PORT"] == str(grpc_port)
        assert env["BYTEBOT_HTTP_PORT"] == str(http_port)
        assert container["resources"]["requests"] and container["resources"]["limits"]


def test_slow_starters_get_a_generous_startup_probe(rendered):
    deployments = _objects(rendered, "Deployment")
    for name in ("bytebot-computer", "bytebot-inference"):
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        probe = container["startupProbe"]
        assert probe["periodSeconds"] * probe["failureThreshold"] >= 300, name


def test_pods_are_restricted_non_root_read_only(rendered):
    for name, deployment in _objects(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert "hostNetwork" not in pod and "hostPID" not in pod and "hostIPC" not in pod
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert security.get("privileged", False) is False
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, name
        for volume in pod["volumes"]:
            kinds = set(volume) - {"name"}
            assert kinds in ({"emptyDir"}, {"secret"}), f"{name}: emptyDirs and Secrets only"


def test_production_runs_authenticated(rendered):
    """Every service binds 0.0.0.0, so it must authenticate (libs/security refuses to start
    open on a non-loopback address): token auth from the bytebot-auth Secret everywhere, and the
    worker carries its own token for computer + inference. No plaintext token is committed."""
    (config,) = _objects(rendered, "ConfigMap").values()
    assert config["data"]["BYTEBOT_AUTH_MODE"] == "token"
    assert config["data"]["BYTEBOT_PRODUCTION_MODE"] == "true"
    assert "BYTEBOT_INSECURE_ALLOW_OPEN" not in config["data"]
    tokens_dir = config["data"]["BYTEBOT_TOKENS_FILE"].rsplit("/", 1)[0]
    for name, deployment in _objects(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        (container,) = pod["containers"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts[tokens_dir]["readOnly"] is True, name
        assert secrets[mounts[tokens_dir]["name"]] == "bytebot-auth", name
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if name == "bytebot-worker":
            token_dir = env["BYTEBOT_CLIENT_TOKEN_FILE"].rsplit("/", 1)[0]
            assert secrets[mounts[token_dir]["name"]] == "bytebot-worker-token"
        else:
            assert "BYTEBOT_CLIENT_TOKEN_FILE" not in env, name
            assert "bytebot-worker-token" not in secrets.values(), name


def _effective_env(config: dict, container: dict) -> dict[str, str | None]:
    """What the process sees: the ConfigMap (envFrom), then the container's own env."""
    env: dict[str, str | None] = dict(config["data"])
    env.update({e["name"]: e.get("value") for e in container.get("env", [])})
    return env


def test_every_deployment_authenticates_or_opts_out_explicitly(rendered):
    """Per Deployment, after the env overrides: an auth mode (with its tokens file on a
    read-only mount of the bytebot-auth Secret) or, explicitly, insecure_allow_open."""
    (config,) = _objects(rendered, "ConfigMap").values()
    for name, deployment in _objects(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = _effective_env(config, container)
        assert env["BYTEBOT_GRPC_HOST"] == "0.0.0.0", name
        if env.get("BYTEBOT_INSECURE_ALLOW_OPEN") == "true":
            continue  # a mesh authenticates (deploy/README.md); none of ours does today
        assert env.get("BYTEBOT_AUTH_MODE") in AUTH_MODES, name
        assert env.get("BYTEBOT_PRODUCTION_MODE") == "true", name
        if "token" in env["BYTEBOT_AUTH_MODE"]:
            tokens = Path(env["BYTEBOT_TOKENS_FILE"])
            (mount,) = [m for m in container["volumeMounts"]
                        if Path(m["mountPath"]) == tokens.parent]
            assert mount["readOnly"] is True and "subPath" not in mount, name
            (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
            assert volume["secret"]["secretName"] == "bytebot-auth", name
            # the file name is the Secret's key (no items remap it away)
            assert "items" not in volume["secret"] or [
                i["path"] for i in volume["secret"]["items"]] == [tokens.name], name
        # grpc.health.v1 is exempt from auth: kubelet's plaintext gRPC probes need no token,
        # and no TLS is configured (native gRPC probes cannot speak TLS; README)
        assert not env.get("BYTEBOT_TLS_CERT_FILE"), f"{name}: TLS needs other probes"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert "grpc" in container[probe], name


def test_the_worker_has_a_client_token_file_from_its_own_secret(rendered):
    (config,) = _objects(rendered, "ConfigMap").values()
    deployments = _objects(rendered, "Deployment")
    pod = deployments["bytebot-worker"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    token_file = Path(_effective_env(config, container)["BYTEBOT_CLIENT_TOKEN_FILE"])
    (mount,) = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == token_file.parent]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    secret = volume["secret"]["secretName"]
    assert secret == "bytebot-worker-token"
    # the Secret's key is the file's name: the example creates exactly that key
    examples = [doc for path in SECRET_EXAMPLES for doc in load_yaml_all(path.read_text())]
    (example,) = [d for d in examples if d["metadata"]["name"] == secret]
    assert set(example["stringData"]) == {token_file.name}
    # nobody else mounts the plaintext token
    for name, deployment in deployments.items():
        if name != "bytebot-worker":
            volumes = deployment["spec"]["template"]["spec"]["volumes"]
            assert secret not in {v.get("secret", {}).get("secretName") for v in volumes}, name


# A token of `python -m libs.security.tokens` (secrets.token_urlsafe(32): 43 characters), a
# JWT, or a bearer header with a value: none may be committed anywhere under deploy/.
_WORD = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"Bearer\s+(?![<$A-Z_{])\S+")
_PLACEHOLDER = re.compile(r"REPLACE_[A-Z0-9_]+")


def _random_looking(word: str) -> bool:
    """Mixed case and digits: a random token, not a metric name or a placeholder."""
    return (any(c.isdigit() for c in word) and any(c.isupper() for c in word)
            and any(c.islower() for c in word))


def plaintext_tokens(text: str) -> list[str]:
    found = [w for w in _WORD.findall(text) if _random_looking(w)]
    return found + _JWT.findall(text) + _BEARER.findall(text)


def test_the_token_detector_finds_real_tokens():
    token = new_token()
    assert plaintext_tokens(f"stringData:\n  token: {token}\n") == [token]
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    assert plaintext_tokens(f"Authorization: Bearer {jwt}")
    assert plaintext_tokens("bytebot_computer_operation_duration_seconds REPLACE_WITH_X") == []


def test_no_plaintext_token_anywhere_in_deploy():
    files = [p for p in DEPLOY.rglob("*") if p.is_file()] + [REPO / "Dockerfile"]
    assert len(files) > 30
    for path in files:
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        assert plaintext_tokens(text) == [], path.relative_to(REPO)
    # the example Secrets hold placeholders and hashes only
    for path in SECRET_EXAMPLES:
        for doc in load_yaml_all(path.read_text()):
            for key, value in doc.get("stringData", {}).items():
                if key == "tokens":  # the tokens file: `sha256:<hex> subject roles` lines
                    lines = [ln.strip() for ln in value.splitlines()
                             if ln.strip() and not ln.strip().startswith("#")]
                    assert lines and all(ln.startswith("sha256:") for ln in lines), path
                elif doc["metadata"]["name"] != "bytebot-database":
                    assert _PLACEHOLDER.fullmatch(value), f"{path.name}: {key} is not a placeholder"


def test_computer_runs_its_own_xvfb_without_privileges(rendered):
    deployment = _objects(rendered, "Deployment")["bytebot-computer"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"] for e in container["env"]}
    assert "DISPLAY" not in env and "BYTEBOT_DISPLAY" not in env  # the service starts Xvfb
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/tmp", "/tmp/.X11-unix", "/home/bytebot"} <= mounts
    assert deployment["spec"]["replicas"] == 1


def test_services_name_their_ports_grpc_and_metrics(rendered):
    services = _objects(rendered, "Service")
    assert set(services) == set(SERVICES)
    for name, (_, grpc_port, http_port) in SERVICES.items():
        spec = services[name]["spec"]
        assert spec["selector"] == {"app": name}
        assert {p["name"]: (p["port"], p["targetPort"]) for p in spec["ports"]} == {
            "grpc": (grpc_port, "grpc"), "metrics": (http_port, "metrics"),
        }


def test_disruption_budgets_and_autoscalers(rendered):
    budgets = _objects(rendered, "PodDisruptionBudget")
    assert set(budgets) == set(SERVICES)
    for name, budget in budgets.items():
        assert budget["spec"]["selector"] == {"matchLabels": {"app": name}}
    scalers = _objects(rendered, "HorizontalPodAutoscaler")
    assert set(scalers) == {"bytebot-api", "bytebot-worker"}
    for name, scaler in scalers.items():
        assert scaler["apiVersion"] == "autoscaling/v2"
        assert scaler["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": name,
        }
        assert 1 < scaler["spec"]["minReplicas"] < scaler["spec"]["maxReplicas"]


def test_settings_come_from_the_configmap_and_the_database_url_from_a_secret(rendered):
    (config,) = _objects(rendered, "ConfigMap").values()
    assert config["data"]["BYTEBOT_GRPC_HOST"] == "0.0.0.0"
    assert config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(":4317")
    assert not [o for o in rendered[1] if o["kind"] == "Secret"], "no secret is committed"
    for name, deployment in _objects(rendered, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": config["metadata"]["name"]}}]
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"]
            for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})
        }
        if name in ("bytebot-api", "bytebot-worker"):
            assert refs == {"BYTEBOT_DATABASE_URL": {
                "name": "bytebot-database", "key": "BYTEBOT_DATABASE_URL"}}
        assert all("DATABASE_URL" not in (e.get("value") or "") for e in container["env"])


def test_promtail_keeps_these_pods_by_their_app_label(rendered):
    for deployment in _objects(rendered, "Deployment").values():
        app = deployment["spec"]["template"]["metadata"]["labels"]["app"]
        assert re.fullmatch("bytebot.*", app)


def test_dockerfile_builds_one_non_root_image_for_every_service():
    text = (REPO / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert "FROM python:3.11-slim" in lines
    for package in ("xvfb", "tesseract-ocr", "tesseract-ocr-eng", "fonts-dejavu-core"):
        assert package in text
    assert "useradd --uid 10001" in text
    assert "USER 10001:10001" in lines
    assert 'ENTRYPOINT ["bytebot"]' in lines
    # the run example binds 0.0.0.0, so it must show authentication (or the runtime refuses)
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert "BYTEBOT_GRPC_HOST=0.0.0.0" in header
    assert re.search(r"BYTEBOT_AUTH_MODE=(token|jwt)", header)
    assert "BYTEBOT_TOKENS_FILE=" in header and ":ro" in header
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored and "node_modules" in ignored
    for copied in ("libs", "services", "protos", "pyproject.toml", "README.md"):
        assert copied not in ignored and f"{copied}/" not in ignored
