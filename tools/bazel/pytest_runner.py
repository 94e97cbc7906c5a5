"""Runs one test file with pytest inside a Bazel py_test (see //tools/bazel:defs.bzl py_tests).

Bazel starts this with the venv's interpreter (the @bytebot_python toolchain) in the test's
runfiles directory, which mirrors the repository: pyproject.toml there makes pytest use the same
rootdir and configuration (pythonpath, markers, timeout) as a plain `pytest` run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _drop_editable_install_finder() -> None:
    # `pip install -e .` adds an import hook that maps libs/, services/ and bytebot/ to the
    # source tree. Under Bazel every module must come from the runfiles (so a missing BUILD
    # dependency fails here instead of silently importing the source tree, and the protobuf
    # modules are the genrule's outputs, not the committed copies).
    sys.meta_path[:] = [f for f in sys.meta_path if not _is_editable_finder(f)]


def _is_editable_finder(finder: object) -> bool:
    module = getattr(finder, "__module__", "") or ""
    return module.startswith("__editable__")


def _tool_path() -> str:
    # Tests run tools the way a developer's shell would: the venv's console scripts (`bytebot`,
    # `grpcurl`) and npm tools (`buf`). This file is a symlink into the real checkout, so its
    # resolved location gives the repository root even from the runfiles tree.
    repo = Path(__file__).resolve().parents[2]
    extra = [str(Path(sys.executable).parent), str(repo / "node_modules" / ".bin")]
    return os.pathsep.join([*extra, os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")])


def main(argv: list[str]) -> int:
    import pytest

    _drop_editable_install_finder()
    os.environ["PATH"] = _tool_path()
    args = [
        *argv,
        "-p",
        "no:cacheprovider",  # the runfiles tree is not a place to write .pytest_cache
    ]
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        args.append(f"--junitxml={xml}")  # per-test-case results in Bazel's test.xml
    test_filter = os.environ.get("TESTBRIDGE_TEST_ONLY")
    if test_filter:
        args += ["-k", test_filter]  # `bazel test --test_filter=EXPR`
    return pytest.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
