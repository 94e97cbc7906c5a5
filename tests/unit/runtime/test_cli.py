from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from libs.runtime import cli


def test_unknown_service_is_a_clear_error(capsys):
    assert cli.main(["serve", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown service 'nope'" in err and "tasks-api" in err


def test_service_whose_module_does_not_exist_yet(capsys, monkeypatch):
    from libs.runtime import registry

    monkeypatch.setitem(registry.registrations(), "ghost", "services.ghost.config:SERVICE")
    assert cli.main(["serve", "ghost"]) == 2
    err = capsys.readouterr().err
    assert "service 'ghost' is not available" in err
    assert "services.ghost.config:SERVICE" in err and "No module named 'services.ghost'" in err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("libs.runtime.testing:", "not of the form package.module:ATTRIBUTE"),
        ("libs.runtime.testing:NOPE", "has no NOPE"),
        ("libs.runtime.testing:build", "is a function, not a ServiceEntry"),
    ],
)
def test_bad_entry_paths(capsys, target, message):
    assert cli.main(["serve", target]) == 2
    assert message in capsys.readouterr().err


def test_bad_setting_exits_2_naming_it(capsys):
    args = ["serve", "libs.runtime.testing:ENTRY", "--set", "grpc_port=abc"]
    assert cli.main(args) == 2
    assert "grpc_port" in capsys.readouterr().err
    assert cli.main(["serve", "libs.runtime.testing:ENTRY", "--set", "bogus=1"]) == 2
    assert "unknown setting 'bogus'" in capsys.readouterr().err


def test_services_lists_the_registry(capsys):
    assert cli.main(["services"]) == 0
    out = capsys.readouterr().out
    for name in ("tasks-api", "tasks-worker", "computer", "inference", "telemetry"):
        assert name in out


def test_subcommands_are_registered_lazily(tmp_path, monkeypatch, capsys):
    (tmp_path / "hello_plugin.py").write_text(
        textwrap.dedent(
            """
            def register(subparsers):
                parser = subparsers.add_parser("hello", help="say hello")
                parser.add_argument("name")
                parser.set_defaults(func=lambda args: print(f"hello {args.name}") or 3)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.SUBCOMMANDS, "hello", ("hello_plugin:register", "say hello"))
    monkeypatch.setitem(cli.SUBCOMMANDS, "broken", ("no_such_plugin_mod:register", "broken"))
    sys.modules.pop("hello_plugin", None)
    assert cli.main(["services"]) == 0
    assert "hello_plugin" not in sys.modules  # running another command does not import it
    capsys.readouterr()
    assert cli.main(["hello", "world"]) == 3
    assert capsys.readouterr().out == "hello world\n"
    # a subcommand whose module does not exist is listed, and explains itself when run
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "[not installed]" in capsys.readouterr().out
    assert cli.main(["broken"]) == 2
    assert "no_such_plugin_mod does not exist" in capsys.readouterr().err


def test_console_script_is_installed():
    """`pip install -e .` puts `bytebot` next to the interpreter (pyproject [project.scripts])."""
    from pathlib import Path

    script = Path(sys.executable).parent / "bytebot"
    assert script.exists(), "run: .venv/bin/pip install -e /work/main --no-deps"
    result = subprocess.run(
        [str(script), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "--grpc-port" in result.stdout and "--http-port" in result.stdout
