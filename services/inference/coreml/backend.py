"""The Core ML backend (macOS): the text detector runs as an ``.mlpackage`` on the Neural Engine.

The detector model (``services.inference.tools.detector_model``) produces the stroke maps the
CPU backend computes with OpenCV; blobs, page normalisation and recognition (Tesseract, PP-OCR
on uncertain regions) are shared with the CPU backend, so both backends return the same kind
of result. coremltools is imported only here, when this backend loads: choosing it is a
start-up decision (``backends.select``), never a request that fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from services.inference.backends.base import DeviceInfo, ModelDescriptor
from services.inference.cpu import preprocess
from services.inference.cpu.backend import CpuBackend, CpuOptions

DEFAULT_MODEL_DIR = Path.home() / ".cache" / "bytebot" / "models"


class CoreMLBackend(CpuBackend):
    name = "coreml"
    model_name = "ui-ocr-coreml"

    def __init__(self, options: CpuOptions | None = None, model_path: str | None = None,
                 compute_units: str = "CPU_AND_NE") -> None:
        super().__init__(options)
        self.compute_units = compute_units
        self.model_path = Path(model_path) if model_path else None
        self._model: Any = None
        self._shape: tuple[int, int, int, int] | None = None
        self._meta: dict[str, str] = {}

    def load(self) -> None:
        from services.inference.tools import detector_model as dm

        path = self.model_path
        if path is None:
            # No model given: build the default one once (conversion takes a second).
            path = DEFAULT_MODEL_DIR / f"{dm.MODEL_NAME}-{dm.MODEL_VERSION}.mlpackage"
            if not path.exists():
                dm.save(dm.build_model(dm.BuildOptions(compute_units=self.compute_units)), path)
        if not path.exists():
            raise FileNotFoundError(f"Core ML model {path} does not exist")
        self._model = dm.load(path, self.compute_units)
        info = dm.describe(self._model)
        self._meta = info["metadata"]
        self._shape = tuple(info["inputs"][dm.INPUT_NAME])  # type: ignore[assignment]
        self.model_path = path
        super().load()

    def _prepare(self, rgb: np.ndarray) -> preprocess.Prepared:
        from services.inference.tools import detector_model as dm

        assert self._model is not None and self._shape is not None, "backend not loaded"
        _, _, mh, mw = self._shape
        h, w = rgb.shape[:2]
        maps = [np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)]
        # The model has a fixed input: tile the frame in model-sized pieces.
        for y in range(0, h, mh):
            for x in range(0, w, mw):
                tile = rgb[y:y + mh, x:x + mw]
                th, tw = tile.shape[:2]
                batch = np.zeros((1, 3, mh, mw), np.float32)
                batch[0, :, :th, :tw] = tile.transpose(2, 0, 1)
                out = self._model.predict({dm.INPUT_NAME: batch})
                for i, name in enumerate(dm.OUTPUT_NAMES[:2]):
                    m = np.clip(np.asarray(out[name])[0, 0, :th, :tw], 0, 255)
                    maps[i][y:y + th, x:x + tw] = m.astype(np.uint8)
        return preprocess.prepare(rgb, maps=(maps[0], maps[1]))

    def models(self) -> list[ModelDescriptor]:
        own = ModelDescriptor(
            self._meta.get("name", "ui-text-detector"), self._meta.get("version", ""),
            "text-detection", "coreml", "mlpackage", tuple(self._shape or ()),
            self._model is not None, f"Core ML text-stroke detector ({self.model_path})")
        # Recognition runs on the CPU models, reported as such.
        return [own, *super().models()]

    def device_info(self) -> DeviceInfo:
        info = super().device_info()
        import coremltools

        info.details["coremltools"] = coremltools.__version__
        info.details["model_path"] = str(self.model_path)
        return DeviceInfo(backend="coreml", compute_units=self.compute_units,
                          platform=info.platform, cpu_count=info.cpu_count, details=info.details)
