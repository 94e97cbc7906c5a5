"""The committed generated code is exactly what `tools/gen_protos.py` produces from protos/."""

from __future__ import annotations

import subprocess
import sys

from tests.unit.protos.conftest import PROTO_ROOT, REPO
from tools import gen_protos


def test_generated_code_is_up_to_date(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "gen_protos.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr

    fresh = {p.relative_to(tmp_path): p for p in gen_protos.generated_files(tmp_path)}
    committed = {p.relative_to(PROTO_ROOT): p for p in gen_protos.generated_files(PROTO_ROOT)}
    hint = "run `.venv/bin/python tools/gen_protos.py` and commit the result"

    assert fresh, "gen_protos.py produced nothing"
    assert sorted(map(str, fresh.keys() - committed.keys())) == [], f"missing files; {hint}"
    assert sorted(map(str, committed.keys() - fresh.keys())) == [], f"extra files; {hint}"
    stale = sorted(
        str(rel) for rel in fresh if fresh[rel].read_bytes() != committed[rel].read_bytes()
    )
    assert stale == [], f"stale generated files; {hint}"


def test_every_proto_has_its_three_generated_modules():
    committed = {str(p.relative_to(PROTO_ROOT)) for p in gen_protos.generated_files(PROTO_ROOT)}
    for proto in gen_protos.proto_files():
        stem = str(proto.relative_to(PROTO_ROOT).with_suffix(""))
        for suffix in gen_protos.GENERATED_SUFFIXES:
            assert stem + suffix in committed, f"{stem + suffix} is missing"


def test_generated_services_import():
    from bytebot.computer.v1 import computer_pb2_grpc
    from bytebot.inference.v1 import inference_pb2_grpc
    from bytebot.tasks.v1 import tasks_pb2_grpc
    from bytebot.telemetry.v1 import telemetry_pb2_grpc

    assert callable(computer_pb2_grpc.add_ComputerServiceServicer_to_server)
    assert callable(inference_pb2_grpc.add_InferenceServiceServicer_to_server)
    assert callable(tasks_pb2_grpc.add_TaskServiceServicer_to_server)
    assert callable(telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server)
