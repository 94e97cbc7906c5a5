"""write_file/read_file confinement and the application action, through the gRPC API."""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import pytest
from bytebot.computer.v1 import computer_pb2 as pb
from Xlib.display import Display

from tests.integration.computer.conftest import wait_until


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failure:
        call()
    return failure.value.code()


def test_write_then_read_relative_and_absolute(stub, file_root: Path) -> None:
    written = stub.WriteFile(pb.WriteFileRequest(path="notes/today.txt", data=b"hello\n"))
    assert Path(written.path) == file_root.resolve() / "notes" / "today.txt"
    assert written.size == 6
    assert (file_root / "notes" / "today.txt").read_bytes() == b"hello\n"
    got = stub.ReadFile(pb.ReadFileRequest(path=str(file_root / "notes" / "today.txt")))
    assert (got.data, got.name, got.size, got.media_type) == (
        b"hello\n", "today.txt", 6, "text/plain")
    stub.WriteFile(pb.WriteFileRequest(path="notes/today.txt", data=b"replaced"))
    assert stub.ReadFile(pb.ReadFileRequest(path="notes/today.txt")).data == b"replaced"
    stub.WriteFile(pb.WriteFileRequest(path="pic.png", data=b"\x89PNG"))
    assert stub.ReadFile(pb.ReadFileRequest(path="pic.png")).media_type == "image/png"
    stub.WriteFile(pb.WriteFileRequest(path="blob.unknownext", data=b""))
    assert stub.ReadFile(pb.ReadFileRequest(path="blob.unknownext")).media_type == (
        "application/octet-stream")


@pytest.mark.parametrize("path", [
    "../escape.txt", "notes/../../escape.txt", "/etc/passwd", "/tmp/bytebot-escape.txt", "~/x",
])
def test_paths_leaving_the_root_are_permission_denied(stub, path: str) -> None:
    assert code_of(lambda: stub.ReadFile(pb.ReadFileRequest(path=path))) == (
        grpc.StatusCode.PERMISSION_DENIED)
    assert code_of(lambda: stub.WriteFile(pb.WriteFileRequest(path=path, data=b"x"))) == (
        grpc.StatusCode.PERMISSION_DENIED)
    assert not Path("/tmp/bytebot-escape.txt").exists()


def test_symlinks_leading_out_are_permission_denied(stub, file_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (file_root / "link-dir").symlink_to(outside)
    (file_root / "link-file").symlink_to(outside / "secret.txt")
    (file_root / "dangling").symlink_to(outside / "new.txt")
    for path in ("link-dir/secret.txt", "link-file"):
        assert code_of(lambda p=path: stub.ReadFile(pb.ReadFileRequest(path=p))) == (
            grpc.StatusCode.PERMISSION_DENIED)
    for path in ("link-dir/new.txt", "link-file", "dangling"):
        assert code_of(lambda p=path: stub.WriteFile(pb.WriteFileRequest(path=p, data=b"x"))) == (
            grpc.StatusCode.PERMISSION_DENIED)
    assert (outside / "secret.txt").read_text() == "secret"
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    # A symlink that stays inside the root is fine.
    (file_root / "inside.txt").write_text("in")
    (file_root / "inside-link").symlink_to(file_root / "inside.txt")
    assert stub.ReadFile(pb.ReadFileRequest(path="inside-link")).data == b"in"


def test_missing_directory_and_oversized_files(stub, file_root: Path) -> None:
    assert code_of(lambda: stub.ReadFile(pb.ReadFileRequest(path="nope.txt"))) == (
        grpc.StatusCode.NOT_FOUND)
    (file_root / "adir").mkdir()
    assert code_of(lambda: stub.ReadFile(pb.ReadFileRequest(path="adir"))) == (
        grpc.StatusCode.FAILED_PRECONDITION)
    with open(file_root / "huge.bin", "wb") as f:  # sparse: no 51 MB written to disk
        f.truncate(51 * 1024 * 1024)
    assert code_of(lambda: stub.ReadFile(pb.ReadFileRequest(path="huge.bin"))) == (
        grpc.StatusCode.FAILED_PRECONDITION)
    os.mkfifo(file_root / "fifo")
    assert code_of(lambda: stub.ReadFile(pb.ReadFileRequest(path="fifo"))) == (
        grpc.StatusCode.FAILED_PRECONDITION)


def test_application_names_and_missing_programs(stub) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        stub.Application(pb.ApplicationRequest(application="notepad"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "firefox" in failure.value.details() and "terminal" in failure.value.details()
    with pytest.raises(grpc.RpcError) as failure:
        stub.Application(pb.ApplicationRequest(application="missingapp"))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "bytebot-no-such-program" in failure.value.details()
    assert "not installed" in failure.value.details()


def test_application_launches_then_focuses(stub, xvfb, file_root: Path) -> None:
    first = stub.Application(pb.ApplicationRequest(application="recorder"))
    assert (first.application, first.launched) == ("recorder", True)
    events = file_root / "launched" / "events.jsonl"
    wait_until(lambda: events.exists() and '"ready"' in events.read_text(), 15, "the app window")
    display = Display(xvfb.display)
    try:
        # Something else takes the focus; `application` gives it back to the app's window.
        display.screen().root.set_input_focus(0, 0)  # RevertToNone, focus None
        display.sync()
        second = stub.Application(pb.ApplicationRequest(application="recorder"))
        assert second.launched is False

        def focused_class() -> tuple[str, str] | None:
            window = display.get_input_focus().focus
            while window and not isinstance(window, int):
                wm_class = window.get_wm_class()
                if wm_class:
                    return wm_class
                window = window.query_tree().parent
            return None

        assert wait_until(focused_class, what="focus")[1] == "Recorder"
    finally:
        display.close()


def test_desktop_shows_the_desktop(stub) -> None:
    reply = stub.Application(pb.ApplicationRequest(application="desktop"))
    assert reply.launched is False
