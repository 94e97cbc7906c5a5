"""The environment for running the `bytebot` CLI (or a stack) as a subprocess in tests: ours,
less any security variable of the shell, with the repository's import roots."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli_env(**extra: str) -> dict[str, str]:
    """Our environment without any security variable of the shell, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("BYTEBOT_") and ("TOKEN" in k or "TLS" in k or "AUTH" in k))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "protos")])
    env.update(extra)
    return env
