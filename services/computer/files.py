"""write_file / read_file confined to one root folder (the user's Desktop by default).

Relative paths resolve under the root; absolute paths must lie inside it. A path with a `..`
component, an absolute path elsewhere, or one whose symlinks lead out of the root is
PERMISSION_DENIED. The check resolves every symlink first, then the final open refuses a
symlink (O_NOFOLLOW) so a link swapped in after the check cannot redirect it; a write goes to a
temporary file in the same folder that replaces the target atomically, so a reader never sees
half a file.
"""

from __future__ import annotations

import errno
import mimetypes
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from libs.actions import bounds
from libs.status.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)


@dataclass(frozen=True, slots=True)
class FileContent:
    path: Path
    data: bytes
    media_type: str


def media_type_of(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name, strict=False)
    return guessed or "application/octet-stream"


# Longest file name component Linux file systems accept (NAME_MAX).
NAME_MAX_BYTES = 255


class FileRoot:
    """The folder file actions may touch."""

    def __init__(self, root: Path, max_bytes: int = bounds.MAX_FILE_BYTES) -> None:
        self.root = root.expanduser()
        self.max_bytes = max_bytes

    def resolve(self, user_path: str) -> Path:
        """The real path `user_path` names, or PermissionDenied when it leaves the root."""
        if not user_path or "\x00" in user_path:
            raise InvalidArgument("path must be a non-empty string without NUL characters")
        given = Path(user_path).expanduser() if user_path.startswith("~") else Path(user_path)
        too_long = [part for part in given.parts if len(os.fsencode(part)) > NAME_MAX_BYTES]
        if too_long:
            # the kernel would refuse it (ENAMETOOLONG); say so instead of failing later
            raise InvalidArgument(f"invalid path {user_path[:64]!r}…", [FieldViolation(
                "path", f"each path component is limited to {NAME_MAX_BYTES} bytes; "
                f"one has {len(os.fsencode(too_long[0]))}")])
        if ".." in given.parts:
            raise PermissionDenied(f"path {user_path!r} must not contain '..'")
        root = self.root.resolve()
        candidate = given if given.is_absolute() else root / given
        real = candidate.resolve()
        if real == root or not real.is_relative_to(root):
            raise PermissionDenied(
                f"path {user_path!r} is outside the file root {str(root)!r}"
                + (" (through a symlink)" if candidate.absolute() != real else "")
            )
        return real

    def write(self, user_path: str, data: bytes) -> Path:
        if len(data) > self.max_bytes:
            raise InvalidArgument(
                f"data is {len(data)} bytes; files are limited to {self.max_bytes} bytes"
            )
        target = self.resolve(user_path)
        if target.is_dir():
            raise FailedPrecondition(f"path {user_path!r} is a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        # The parent may have been replaced by a symlink between resolve() and mkdir().
        if not target.parent.resolve().is_relative_to(self.root.resolve()):
            raise PermissionDenied(f"path {user_path!r} is outside the file root")
        # A short temp name: the target's own name may already be the longest one allowed.
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".bytebot-write-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(temp, 0o644)
            os.replace(temp, target)  # replaces a symlink itself, never follows it
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target

    def read(self, user_path: str) -> FileContent:
        target = self.resolve(user_path)
        try:  # O_NONBLOCK: opening a FIFO planted in the root must not hang the call
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            raise NotFound(f"file {user_path!r} not found under the file root") from None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise PermissionDenied(f"path {user_path!r} is a symlink") from None
            if error.errno == errno.EACCES:
                raise PermissionDenied(f"file {user_path!r} is not readable") from None
            raise
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise FailedPrecondition(f"path {user_path!r} is a directory, not a file")
            if not stat.S_ISREG(info.st_mode):
                raise FailedPrecondition(f"path {user_path!r} is not a regular file")
            if info.st_size > self.max_bytes:
                raise FailedPrecondition(
                    f"file {user_path!r} is {info.st_size} bytes; reads are limited to "
                    f"{self.max_bytes} bytes"
                )
            os.set_blocking(fd, True)
            with os.fdopen(fd, "rb", closefd=False) as source:
                data = source.read(self.max_bytes + 1)
        finally:
            os.close(fd)
        if len(data) > self.max_bytes:  # it grew while we read it
            raise FailedPrecondition(f"file {user_path!r} is larger than {self.max_bytes} bytes")
        return FileContent(target, data, media_type_of(target))
