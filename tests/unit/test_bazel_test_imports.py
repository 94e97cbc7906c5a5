"""Bazel runs each tests/**/test_*.py as a py_test of its own (tools/bazel/defs.bzl), whose
runfiles hold the libraries and tests/support but not the other test files. A test file that
imports another one passes under pytest and fails under Bazel at collection: shared helpers
belong in a support module (tests/support, a package's conftest or services/*/testing)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_no_test_file_imports_another_test_file() -> None:
    offenders = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        for module in _imported_modules(path):
            if module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_"):
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert not offenders, "move the shared helpers to a support module:\n" + "\n".join(offenders)
