"""Shared helpers of the deploy-asset tests: where things are and how the real tools run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"
ALERTMANAGER_DIR = DEPLOY / "alertmanager"
GRAFANA_DIR = DEPLOY / "grafana"
KUBERNETES_DIR = DEPLOY / "kubernetes"
NODE_BIN = REPO / "node_modules" / ".bin"
VENV_BIN = REPO / ".venv" / "bin"

TOOL_TIMEOUT = 120


def tool(name: str, *candidates: Path) -> str:
    """The path of a required command-line tool; a missing tool is a failure, not a skip,
    because these checks are the point of the tests (CI installs every one of them)."""
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise AssertionError(
            f"{name} is not installed; the deploy checks need it (see deploy/README.md)"
        )
    return found


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool, capture its output; the caller asserts on returncode with the output."""
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def load_yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text())


def load_yaml_all(text: str) -> list[dict[str, object]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]
