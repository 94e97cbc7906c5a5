"""Static bearer tokens from a file, stored hashed.

File format (a Kubernetes Secret mounted as a file works as is), one token per line:

    # comment lines and blank lines are ignored
    sha256:<64 hex digits of sha256(token)>  <subject>  <roles, comma-separated>
    sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 worker-1 worker
    sha256:...                                                               alice   user,admin

Why sha256 and not a slow hash: tokens are random 256-bit values (`new_token()`), so a fast
hash cannot be brute-forced, and the digest is a dictionary key: one lookup per call instead
of a slow verification against every line. A leaked file therefore reveals no usable token.
Digests are compared with `hmac.compare_digest` after the lookup.

Create a token and its line:  python -m libs.security.tokens alice user,admin
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass

from libs.security.identity import Identity

PREFIX = "sha256:"
_RELOAD_CHECK_SECONDS = 2.0


class TokenFileError(ValueError):
    """The tokens file cannot be used; the message names the file and line."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_line(token: str, subject: str, roles: str) -> str:
    return f"{PREFIX}{hash_token(token)} {subject} {roles}"


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: str
    identity: Identity


def parse_tokens(text: str, source: str = "<tokens>") -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        where = f"{source}:{number}"
        if len(parts) not in (2, 3):
            raise TokenFileError(f"{where}: expected 'sha256:<hex> subject roles'")
        hashed, subject = parts[0], parts[1]
        roles = parts[2] if len(parts) == 3 else "user"
        if not hashed.startswith(PREFIX):
            raise TokenFileError(f"{where}: only sha256:<hex> hashes are supported")
        digest = hashed[len(PREFIX):].lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise TokenFileError(f"{where}: the sha256 digest must be 64 hex digits")
        role_set = frozenset(r for r in roles.split(",") if r)
        entries[digest] = _Entry(digest, Identity(subject, role_set, "token"))
    return entries


class TokenStore:
    """The tokens of a file; re-read when the file changes (a rotated Secret)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._mtime: float | None = None
        self._checked = 0.0
        self._load()  # a bad file fails at start-up, not at the first call

    def _load(self) -> None:
        try:
            stat = os.stat(self.path)
            with open(self.path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise TokenFileError(f"cannot read tokens file {self.path}: {exc.strerror}") from None
        self._entries = parse_tokens(text, self.path)
        self._mtime = stat.st_mtime

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < _RELOAD_CHECK_SECONDS:
            return
        with self._lock:
            self._checked = now
            try:
                if os.stat(self.path).st_mtime != self._mtime:
                    self._load()
            except (OSError, TokenFileError):
                pass  # keep the last good set; a half-written Secret must not lock everyone out

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, token: str) -> Identity | None:
        self._maybe_reload()
        digest = hash_token(token)
        entry = self._entries.get(digest)
        if entry is None or not hmac.compare_digest(entry.digest, digest):
            return None
        return entry.identity


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m libs.security.tokens SUBJECT [ROLES]", file=sys.stderr)
        return 2
    token = new_token()
    print(f"token (give to the client, store nowhere else): {token}")
    print(f"tokens file line: {token_line(token, argv[0], argv[1] if len(argv) > 1 else 'user')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
