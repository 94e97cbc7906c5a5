"""FileRoot confinement on a real file system (no display needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from libs.status.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from services.computer.files import FileRoot


@pytest.fixture
def root(tmp_path: Path) -> FileRoot:
    (tmp_path / "root").mkdir()
    return FileRoot(tmp_path / "root", max_bytes=1000)


def test_round_trip_and_media_types(root: FileRoot) -> None:
    written = root.write("a/b/c.json", b"{}")
    assert written == root.root.resolve() / "a" / "b" / "c.json"
    content = root.read("a/b/c.json")
    assert (content.data, content.media_type) == (b"{}", "application/json")
    assert not list(written.parent.glob(".*.tmp"))  # the temporary file was renamed


@pytest.mark.parametrize("path", ["..", "../x", "a/../../x", "/etc/hostname", "/", "."])
def test_escapes_are_refused(root: FileRoot, path: str) -> None:
    with pytest.raises(PermissionDenied):
        root.resolve(path)


def test_symlink_swapped_in_after_the_check_is_not_followed(root: FileRoot, tmp_path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    root.write("f.txt", b"mine")
    real = root.resolve("f.txt")
    real.unlink()
    real.symlink_to(outside)  # what an attacker racing the check would leave behind
    with pytest.raises(PermissionDenied):
        root.read("f.txt")  # resolve() sees the link now and refuses
    assert outside.read_text() == "secret"


def test_limits_and_missing(root: FileRoot) -> None:
    with pytest.raises(InvalidArgument):
        root.write("big", b"x" * 1001)
    (root.root / "big").write_bytes(b"x" * 1001)
    with pytest.raises(FailedPrecondition):
        root.read("big")
    with pytest.raises(NotFound):
        root.read("missing")
    with pytest.raises(InvalidArgument):
        root.resolve("a\x00b")


def test_over_long_path_component_is_invalid_argument_not_internal(tmp_path):
    # found by the fuzzer: a 1,000-character name used to escape as OSError (ENAMETOOLONG)
    files = FileRoot(tmp_path)
    for action in (lambda: files.read("h" * 1000), lambda: files.write("d/" + "h" * 256, b"x")):
        with pytest.raises(InvalidArgument) as error:
            action()
        assert [v.field for v in error.value.violations] == ["path"]
    assert files.write("h" * 255, b"ok").name == "h" * 255  # the longest legal name works
