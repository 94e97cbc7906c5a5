from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from tests.unit.protos.descriptors import compile_descriptor_set

REPO = Path(__file__).resolve().parents[3]
PROTO_ROOT = REPO / "protos"


def repo_proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))


@pytest.fixture(scope="session")
def repo_descriptor_set(tmp_path_factory) -> descriptor_pb2.FileDescriptorSet:
    """All of protos/ compiled once, with comments and source positions."""
    files = repo_proto_files()
    assert files, f"no .proto files under {PROTO_ROOT}"
    return compile_descriptor_set(PROTO_ROOT, files, tmp_path_factory.mktemp("fds"))
