"""Every BYTEBOT_* value the production manifests give a service is a valid setting of that
service: the environment each Deployment's container sees (the ConfigMap, then its own env)
loads through the service's own settings class, so a typo in a manifest fails here with the
same one-line SettingsError that `bytebot serve` would print in the pod."""

from __future__ import annotations

import pytest

from libs.runtime import registry
from libs.runtime.cli import resolve
from libs.runtime.config import SettingsError, load_settings
from tests.deploy.tooling import KUBERNETES_DIR, VENV_BIN, load_yaml_all, output, run, tool

OVERLAY = KUBERNETES_DIR / "overlays" / "production"
SECRET_VALUE = "from-a-secret"  # valueFrom entries: the Secret's value is not in the repo


@pytest.fixture(scope="module")
def containers() -> dict[str, tuple[dict[str, str], list[str]]]:
    """Deployment name -> (the environment its container sees, its args)."""
    result = run([tool("kubectl", VENV_BIN / "kubectl"), "kustomize", str(OVERLAY)])
    assert result.returncode == 0, output(result)
    objects = load_yaml_all(result.stdout)
    configs = {o["metadata"]["name"]: o.get("data", {}) for o in objects
               if o["kind"] == "ConfigMap"}
    found = {}
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(configs[source["configMapRef"]["name"]])
        for entry in container.get("env", []):
            env[entry["name"]] = entry["value"] if "value" in entry else SECRET_VALUE
        found[deployment["metadata"]["name"]] = (env, container["args"])
    return found


@pytest.mark.parametrize("name", registry.names())
def test_each_manifest_environment_is_valid_for_its_service(containers, name):
    definition = registry.definition(name)
    env, args = containers[definition.job]
    assert args[:2] == ["serve", name]
    settings = load_settings(resolve(definition.entry).settings_cls, environ=env)
    # the manifest really was read: containers listen on every address
    assert settings.grpc_host == "0.0.0.0"
    assert settings.security.auth_mode != "none" or settings.security.insecure_allow_open


def test_a_bad_manifest_value_is_the_settings_error(containers):
    env, _ = containers[registry.definition("computer").job]
    with pytest.raises(SettingsError, match=r"^BYTEBOT_GRPC_PORT='fifty': not an integer$"):
        load_settings(resolve(registry.definition("computer").entry).settings_cls,
                      environ={**env, "BYTEBOT_GRPC_PORT": "fifty"})
