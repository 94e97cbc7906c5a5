"""Bazel's protobuf genrule produces exactly what tools/gen_protos.py committed.

Run by `bazel test //tools/bazel:generated_code_test`. It proves two things:
- the `bytebot` modules Bazel tests import are the genrule's outputs (in bazel-out), not the
  copies committed next to the protos;
- the genrule (//tools/bazel:defs.bzl proto_py_library) and tools/gen_protos.py agree byte for
  byte, so the two code generators cannot drift apart.
"""

from __future__ import annotations

import importlib
import os
import sys
import unittest
from pathlib import Path

# The editable install maps `bytebot` to the source tree; under Bazel it must not be used.
sys.meta_path[:] = [
    f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")
]

from tools import gen_protos  # noqa: E402

# This file is a symlink from the runfiles into the checkout: its real path gives the checkout.
CHECKOUT_PROTOS = Path(__file__).resolve().parents[2] / "protos"


class GeneratedCodeTest(unittest.TestCase):
    def setUp(self) -> None:
        bytebot = importlib.import_module("bytebot")
        self.bazel_root = Path(bytebot.__file__).parent.parent

    def test_bytebot_modules_come_from_the_genrule(self) -> None:
        from bytebot.tasks.v1 import tasks_pb2, tasks_pb2_grpc

        for module in (tasks_pb2, tasks_pb2_grpc):
            real = os.path.realpath(module.__file__)
            self.assertIn("/bazel-out/", real, f"{module.__name__} imported from {real}")
            self.assertFalse(real.startswith(str(CHECKOUT_PROTOS)), real)

    def test_genrule_outputs_match_gen_protos(self) -> None:
        bazel = {
            p.relative_to(self.bazel_root): p for p in gen_protos.generated_files(self.bazel_root)
        }
        committed = {
            p.relative_to(CHECKOUT_PROTOS): p for p in gen_protos.generated_files(CHECKOUT_PROTOS)
        }
        self.assertTrue(bazel, "the genrule produced nothing")
        self.assertEqual(sorted(map(str, committed.keys() - bazel.keys())), [], "not generated")
        self.assertEqual(sorted(map(str, bazel.keys() - committed.keys())), [], "not committed")
        differ = sorted(str(r) for r in bazel if bazel[r].read_bytes() != committed[r].read_bytes())
        self.assertEqual(
            differ,
            [],
            "genrule output differs from the committed code (run tools/gen_protos.py, or align "
            "tools/bazel/defs.bzl proto_py_library with it)",
        )


if __name__ == "__main__":
    unittest.main()
