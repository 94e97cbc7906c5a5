"""Backend choice at start-up, and coremltools kept out of a CPU service's process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.inference.backends import select

REPO = Path(__file__).resolve().parents[3]


def test_cpu_is_always_cpu() -> None:
    assert select.choose_backend("cpu", system="Darwin") == "cpu"


def test_auto_is_cpu_off_macos() -> None:
    assert select.choose_backend("auto", system="Linux") == "cpu"
    assert select.choose_backend("", system="Linux") == "cpu"


def test_auto_on_macos_depends_on_the_core_ml_bridge(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setattr(select, "coreml_bridge_path", lambda: None)
    assert select.choose_backend("auto", system="Darwin") == "cpu"
    bridge = tmp_path / "libcoremlpython.so"
    bridge.touch()
    monkeypatch.setattr(select, "coreml_bridge_path", lambda: bridge)
    assert select.choose_backend("auto", system="Darwin") == "coreml"
    assert select.choose_backend("coreml", system="Darwin") == "coreml"


def test_coreml_requested_where_it_cannot_run_is_a_start_up_error() -> None:
    with pytest.raises(ValueError, match="macOS"):
        select.choose_backend("coreml", system="Linux")


def test_unknown_backend_name() -> None:
    with pytest.raises(ValueError, match="auto, cpu, coreml"):
        select.choose_backend("gpu")


def test_bridge_lookup_does_not_import_coremltools() -> None:
    code = ("import sys; from services.inference.backends.select import coreml_bridge_path, "
            "coreml_available; coreml_bridge_path(); coreml_available(); "
            "assert 'coremltools' not in sys.modules, 'imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=60, env=_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_starting_the_cpu_backend_does_not_import_coremltools() -> None:
    """Importing the service and loading its cpu backend (as start-up does) leaves
    coremltools unimported, whether or not it is installed."""
    code = "\n".join([
        "import sys",
        "import services.inference.main",
        "from services.inference.config import InferenceSettings",
        "from services.inference.servicer import make_backend",
        "b = make_backend(InferenceSettings(backend='auto', ocr_use_rapidocr=False))",
        "b.load()",
        "assert b.name == 'cpu'",
        "b.close()",
        "print('coremltools' in sys.modules)",
    ])
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=120, env=_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "protos")])
    return env
