"""Settings of the inference service (every field is a ``BYTEBOT_<FIELD>`` variable)."""

from __future__ import annotations

from typing import Annotated, Literal

from bytebot.inference.v1 import inference_pb2
from pydantic import Field

from libs.env_settings import Folded, NonNegativeInt, Port, PositiveInt
from libs.runtime.config import ServiceSettings
from libs.runtime.registry import ServiceDefinition

# The registration (pyproject [project.entry-points."bytebot.services"], libs.runtime.registry)
SERVICE = ServiceDefinition(
    name="inference",
    grpc_port=50054,
    http_port=9467,
    entry="services.inference.main:ENTRY",
    grpc_services=(inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name,),
    prometheus_job="bytebot-inference",
    address_env="BYTEBOT_INFERENCE_ADDRESS",
)

MIB = 1024 * 1024

# The choices services.inference.backends.select.BACKENDS and
# services.inference.tools.detector_model.COMPUTE_UNITS know, written as types so a bad value
# fails at start-up (a test keeps them equal).
Backend = Literal["auto", "cpu", "coreml"]
ComputeUnits = Literal["ALL", "CPU_AND_NE", "CPU_AND_GPU", "CPU_ONLY"]
Fraction = Annotated[float, Field(ge=0, le=1)]


class InferenceSettings(ServiceSettings):
    grpc_port: Port = SERVICE.grpc_port
    http_port: Port = SERVICE.http_port
    # "auto" (coreml on macOS with the Core ML bridge, else cpu), "cpu" or "coreml".
    backend: Annotated[Backend, Folded] = "auto"
    # Requests running OCR at once (a thread pool; Tesseract releases the GIL).
    inference_workers: PositiveInt = 2
    # Tesseract threads per request (the frame is cut into bands read in parallel).
    ocr_threads: PositiveInt = 2
    ocr_bands: PositiveInt = 4
    # Each band of the page is upscaled before Tesseract so its text is this many pixels
    # tall (1x..2x; small UI fonts read better larger, at a cost in time). 0: a fixed
    # `ocr_upscale` for every band instead.
    ocr_upscale_height: Annotated[float, Field(ge=0)] = 24.0
    ocr_upscale: Annotated[float, Field(gt=0)] = 1.25
    # Words below this confidence are read again by PP-OCR: at most this many crops a frame,
    # and at most this many PP-OCR input columns (a crop costs 48 * width / height).
    ocr_low_confidence: Fraction = 0.6
    ocr_max_fallback_crops: NonNegativeInt = 40
    ocr_fallback_columns: NonNegativeInt = 2500
    # PP-OCR (rapidocr, ONNX models from its wheel) for uncertain regions and FindText misses.
    ocr_use_rapidocr: bool = True
    # FindText: when the fast pass does not find the query, read the frame again with PP-OCR
    # detection + recognition (seconds on 2 cores; cached per frame). Off: answer at once.
    find_thorough_on_miss: bool = True
    # Results kept per frame hash (consecutive identical screens are not read twice).
    ocr_cache_entries: NonNegativeInt = 16
    tessdata_dir: str | None = None
    # Core ML backend: the .mlpackage (built by `python -m services.inference.tools.convert`;
    # unset: built once into ~/.cache/bytebot/models) and the compute units.
    coreml_model_path: str | None = None
    coreml_compute_units: ComputeUnits = "CPU_AND_NE"
    # Input limits.
    max_image_bytes: PositiveInt = 16 * MIB
    max_image_pixels: PositiveInt = 40_000_000
