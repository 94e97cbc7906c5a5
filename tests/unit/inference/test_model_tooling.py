"""Model tooling with coremltools on Linux: convert, save, reload, inspect, quantize; and the
documented prediction error off macOS. Small input shapes keep this fast."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ct = pytest.importorskip("coremltools", reason="coremltools is not installed "
                         "(pip install -e '.[coreml]'); the model tooling needs it")

from services.inference.tools import detector_model as dm  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
SHAPE = dict(height=48, width=64)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = dm.build_model(dm.BuildOptions(**SHAPE, version="9.9.9"))
    return dm.save(model, tmp_path_factory.mktemp("m") / "det.mlpackage")


def test_convert_save_reload_inputs_outputs_and_metadata(saved: Path) -> None:
    assert (saved / "Manifest.json").is_file()
    model = dm.load(saved, "CPU_AND_NE", skip_model_load=True)
    info = dm.describe(model)
    assert info["inputs"] == {"image": (1, 3, 48, 64)}
    assert info["outputs"] == {name: (1, 1, 48, 64) for name in dm.OUTPUT_NAMES}
    meta = info["metadata"]
    assert meta["version"] == "9.9.9" and meta["name"] == dm.MODEL_NAME
    assert meta["input_shape"] == "1,3,48,64" and meta["compute_units"] == "CPU_AND_NE"
    assert {"conv", "max_pool"} <= set(info["ops"])


@pytest.mark.parametrize(("quantize", "op"), [
    ("int8", "constexpr_affine_dequantize"),
    ("palettize4", "constexpr_lut_to_dense"),
])
def test_quantized_models_carry_compressed_weights(tmp_path: Path, quantize: str,
                                                  op: str) -> None:
    model = dm.build_model(dm.BuildOptions(**SHAPE, quantize=quantize))
    path = dm.save(model, tmp_path / f"{quantize}.mlpackage")
    info = dm.describe(dm.load(path, skip_model_load=True))
    assert op in info["ops"], info["ops"]
    assert info["metadata"]["quantization"] == quantize


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="quantize"):
        dm.build_model(dm.BuildOptions(**SHAPE, quantize="int3"))
    with pytest.raises(ValueError, match="compute units"):
        dm.compute_unit("NEURAL")
    with pytest.raises(ValueError, match=r"\.mlpackage"):
        dm.save(object(), "model.onnx")


def test_filter_bank_is_zero_mean_derivatives() -> None:
    bank = dm.filter_bank()
    assert bank.shape == (16, 1, 3, 3)
    assert np.allclose(bank.sum(axis=(1, 2, 3)), 0)


@pytest.mark.skipif(platform.system() == "Darwin", reason="prediction works on macOS")
def test_prediction_is_only_supported_on_macos(saved: Path) -> None:
    model = dm.load(saved, skip_model_load=True)
    with pytest.raises(Exception, match="only supported on macOS"):
        model.predict({"image": np.zeros((1, 3, 48, 64), np.float32)})


def test_convert_command(tmp_path: Path) -> None:
    out = tmp_path / "cli.mlpackage"
    run = subprocess.run(
        [sys.executable, "-m", "services.inference.tools.convert", "--output", str(out),
         "--height", "32", "--width", "32", "--quantize", "palettize8", "--check"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert out.is_dir() and f"saved {out}" in run.stdout
    assert '"quantization": "palettize8"' in run.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "services.inference.tools.convert", "--output",
         str(tmp_path / "x.onnx"), "--height", "32", "--width", "32"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and ".mlpackage" in bad.stderr
