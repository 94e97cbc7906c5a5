"""The text-stroke detector as a Core ML model, built with coremltools' MIL builder.

The model computes on the Neural Engine what ``services.inference.cpu.preprocess.stroke_maps``
computes with OpenCV: the grey image and its morphological black-hat and top-hat (thin dark and
thin bright strokes, i.e. glyphs of either polarity; flat fills vanish): ``dark_strokes`` and
``bright_strokes``. A third output, ``edges``, is the energy of a fixed bank of oriented 3x3
derivative filters (Sobel, Scharr, diagonal, Laplacian) that separates glyph texture from
smooth gradients; it also gives the model real weight tensors for int8 / palettised
compression.

Everything is built from the MIL ops (no torch, no weights from anywhere): conversion runs on
Linux; prediction needs macOS (Core ML).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_NAME = "ui-text-detector"
MODEL_VERSION = "1.0.0"
DEFAULT_SHAPE = (1, 3, 960, 1280)  # pads 1280x720 and 1280x960 screens
STROKE_KERNEL = 9
COMPUTE_UNITS = ("ALL", "CPU_AND_NE", "CPU_AND_GPU", "CPU_ONLY")
QUANTIZATIONS = ("none", "int8", "palettize8", "palettize4")
INPUT_NAME = "image"
OUTPUT_NAMES = ("dark_strokes", "bright_strokes", "edges")


@dataclass(frozen=True)
class BuildOptions:
    height: int = DEFAULT_SHAPE[2]
    width: int = DEFAULT_SHAPE[3]
    compute_units: str = "CPU_AND_NE"
    quantize: str = "none"
    version: str = MODEL_VERSION


def filter_bank() -> np.ndarray:
    """16 fixed oriented 3x3 derivative filters, shape (16, 1, 3, 3)."""
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    scharr_x = np.array([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]], dtype=np.float32) / 4
    diag = np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], dtype=np.float32)
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)
    lap8 = np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.float32) / 2
    base = [sobel_x, sobel_x.T, scharr_x, scharr_x.T, diag, np.rot90(diag), lap, lap8]
    bank = base + [-f for f in base]
    return np.stack(bank).astype(np.float32)[:, None, :, :] / 255.0


def build_program(height: int, width: int) -> Any:
    """The MIL program: RGB float (1, 3, H, W) in 0-255 → three (1, 1, H, W) maps."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    grey_w = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)
    bank = filter_bank()
    k = [STROKE_KERNEL, STROKE_KERNEL]
    one = [1, 1]

    def dilate(x: Any) -> Any:
        return mb.max_pool(x=x, kernel_sizes=k, strides=one, pad_type="same")

    def erode(x: Any) -> Any:
        return mb.mul(x=dilate(mb.mul(x=x, y=-1.0)), y=-1.0)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, height, width))],
                opset_version=ct.target.iOS16)
    def prog(image: Any) -> Any:
        grey = mb.conv(x=image, weight=grey_w, name="grey")
        closing = erode(dilate(grey))
        opening = dilate(erode(grey))
        black_hat = mb.sub(x=closing, y=grey, name=OUTPUT_NAMES[0])
        top_hat = mb.sub(x=grey, y=opening, name=OUTPUT_NAMES[1])
        responses = mb.conv(x=grey, weight=bank, pad_type="same", name="filter_bank")
        edges = mb.reduce_sum(x=mb.abs(x=responses), axes=[1], keep_dims=True,
                              name=OUTPUT_NAMES[2])
        return black_hat, top_hat, edges

    return prog


def compute_unit(name: str) -> Any:
    import coremltools as ct

    if name not in COMPUTE_UNITS:
        raise ValueError(f"compute units must be one of {', '.join(COMPUTE_UNITS)}, got {name!r}")
    return getattr(ct.ComputeUnit, name)


def build_model(options: BuildOptions) -> Any:
    """Converts the program into an ML program (``ct.models.MLModel``), compressed as asked."""
    import coremltools as ct

    if options.quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZATIONS)}")
    if options.height < 16 or options.width < 16:
        raise ValueError("input height and width must be at least 16")
    model = ct.convert(build_program(options.height, options.width), convert_to="mlprogram",
                       compute_units=compute_unit(options.compute_units),
                       minimum_deployment_target=ct.target.iOS16)
    model = compress(model, options.quantize)
    shape = (1, 3, options.height, options.width)
    model.short_description = ("UI text-stroke detector: dark/bright stroke (black-hat, "
                               "top-hat) and oriented-edge energy maps of an RGB screenshot")
    model.version = options.version
    model.author = "bytebot inference service"
    model.user_defined_metadata.update({
        "name": MODEL_NAME,
        "version": options.version,
        "input_shape": ",".join(str(d) for d in shape),
        "compute_units": options.compute_units,
        "quantization": options.quantize,
        "stroke_kernel": str(STROKE_KERNEL),
    })
    return model


def compress(model: Any, quantize: str) -> Any:
    """int8 linear weights or 8/4-bit palettes (uniform LUT: no scikit-learn needed)."""
    if quantize == "none":
        return model
    from coremltools.optimize.coreml import (
        OpLinearQuantizerConfig,
        OpPalettizerConfig,
        OptimizationConfig,
        linear_quantize_weights,
        palettize_weights,
    )

    # Our weight tensors are small; the default threshold (2048 elements) would skip them.
    if quantize == "int8":
        config = OptimizationConfig(global_config=OpLinearQuantizerConfig(
            mode="linear_symmetric", dtype="int8", weight_threshold=1))
        return linear_quantize_weights(model, config)
    nbits = 8 if quantize == "palettize8" else 4
    config = OptimizationConfig(global_config=OpPalettizerConfig(
        nbits=nbits, mode="uniform", weight_threshold=1))
    return palettize_weights(model, config)


def save(model: Any, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix != ".mlpackage":
        raise ValueError(f"the output must end in .mlpackage, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path


def load(path: str | Path, compute_units: str = "CPU_AND_NE",
         skip_model_load: bool = False) -> Any:
    """Loads a saved ``.mlpackage`` (``skip_model_load`` on Linux: inspect, don't compile)."""
    import coremltools as ct

    return ct.models.MLModel(str(path), compute_units=compute_unit(compute_units),
                             skip_model_load=skip_model_load)


def describe(model: Any) -> dict[str, Any]:
    """Inputs, outputs (name → shape) and metadata of a model."""
    spec = model.get_spec()

    def shape(feature: Any) -> tuple[int, ...]:
        return tuple(int(d) for d in feature.type.multiArrayType.shape)

    return {
        "inputs": {f.name: shape(f) for f in spec.description.input},
        "outputs": {f.name: shape(f) for f in spec.description.output},
        "metadata": dict(model.user_defined_metadata),
        "version": model.version,
        "ops": sorted(_op_types(spec)),
    }


def _op_types(spec: Any) -> set[str]:
    ops: set[str] = set()
    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            ops.update(op.type for op in block.operations)
    return ops
