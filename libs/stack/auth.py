"""`bytebot up --auth`: token authentication for the local stack.

Each start writes fresh tokens under `<var>/auth/` (mode 0600, directory 0700):

    tokens        the servers' BYTEBOT_TOKENS_FILE: sha256 hashes only (libs.security.tokens)
    worker-token  the tasks worker's BYTEBOT_CLIENT_TOKEN_FILE (role worker)
    cli-token     for people: export BYTEBOT_CLIENT_TOKEN_FILE=<var>/auth/cli-token
                  (subject "developer", roles user,admin: sees every task of the stack)

Fresh tokens on every start (not reused) keep the hashes and the plaintext files in step;
a shell that exported the cli-token path keeps working, since clients re-read the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from libs.security.tokens import new_token, token_line

WORKER_SUBJECT = "tasks-worker"
CLI_SUBJECT = "developer"
CLI_ROLES = "user,admin"


@dataclass(frozen=True)
class StackAuth:
    tokens_file: Path
    worker_token_file: Path
    cli_token_file: Path

    def server_env(self) -> dict[str, str]:
        """What every service of the stack gets."""
        return {"BYTEBOT_AUTH_MODE": "token", "BYTEBOT_TOKENS_FILE": str(self.tokens_file)}

    def worker_env(self) -> dict[str, str]:
        """What the tasks worker gets on top: its own token for its outgoing calls."""
        return {"BYTEBOT_CLIENT_TOKEN_FILE": str(self.worker_token_file)}


def _write_private(path: Path, text: str) -> None:
    # created 0600 from the start: never world-readable, not even for a moment
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT


def generate(var_dir: Path) -> StackAuth:
    folder = var_dir / "auth"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    worker, cli = new_token(), new_token()
    auth = StackAuth(folder / "tokens", folder / "worker-token", folder / "cli-token")
    _write_private(auth.tokens_file, "\n".join([
        "# bytebot up --auth: sha256 of each token (the tokens are in worker-token, cli-token)",
        token_line(worker, WORKER_SUBJECT, "worker"),
        token_line(cli, CLI_SUBJECT, CLI_ROLES),
    ]) + "\n")
    _write_private(auth.worker_token_file, worker + "\n")
    _write_private(auth.cli_token_file, cli + "\n")
    return auth


__all__ = ["CLI_ROLES", "CLI_SUBJECT", "WORKER_SUBJECT", "StackAuth", "generate"]
