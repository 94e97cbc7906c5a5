"""`bytebot db upgrade|current|downgrade` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from libs.runtime.cli import main


def test_db_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "current", "--database-url", url]) == 1
    assert "run `bytebot db upgrade`" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "at revision 0003_task_fence" in capsys.readouterr().out
    assert main(["db", "current", "--database-url", url]) == 0
    assert "up to date" in capsys.readouterr().out
    # One step down and up again: a database made before request_id gets it.
    assert main(["db", "downgrade", "0001_initial", "--database-url", url]) == 0
    assert main(["db", "current", "--database-url", url]) == 1
    capsys.readouterr()
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "at revision 0003_task_fence" in capsys.readouterr().out
    assert main(["db", "downgrade", "base", "--database-url", url]) == 0
    assert main(["db", "current", "--database-url", url]) == 1


def test_db_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BYTEBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert main(["db", "upgrade"]) == 0
    assert str(tmp_path / "env.db") in capsys.readouterr().out
