"""`buf lint` (STANDARD + COMMENTS, configured in protos/buf.yaml) and `buf format` pass."""

from __future__ import annotations

import subprocess

import pytest

from tests.unit.protos.conftest import REPO

BUF = REPO / "node_modules" / ".bin" / "buf"
needs_buf = pytest.mark.skipif(
    not BUF.exists(), reason="node_modules/.bin/buf is absent: run `npm ci` at the repo root"
)


@needs_buf
def test_buf_lint_is_clean():
    result = subprocess.run(
        [str(BUF), "lint", "protos"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"buf lint failed:\n{result.stdout}{result.stderr}"


@needs_buf
def test_buf_lint_enforces_comments(tmp_path):
    # Proves the configuration really enables the COMMENTS category (not just STANDARD).
    (tmp_path / "buf.yaml").write_text((REPO / "protos" / "buf.yaml").read_text())
    package = tmp_path / "sample" / "v1"
    package.mkdir(parents=True)
    (package / "sample.proto").write_text(
        'syntax = "proto3";\n\npackage sample.v1;\n\n// Documented.\n'
        "message Sample {\n  string undocumented = 1;\n}\n"
    )
    result = subprocess.run(
        [str(BUF), "lint"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert 'Field "undocumented" should have a non-empty comment' in result.stdout + result.stderr


@needs_buf
def test_protos_are_buf_formatted():
    result = subprocess.run(
        [str(BUF), "format", "--diff", "--exit-code", "protos"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"run `npx buf format -w protos`:\n{result.stdout}{result.stderr}"
    )
