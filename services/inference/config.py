"""Settings of the inference service (every field is a ``BYTEBOT_<FIELD>`` variable)."""

from __future__ import annotations

from dataclasses import dataclass

from bytebot.inference.v1 import inference_pb2

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


@dataclass
class InferenceSettings(ServiceSettings):
    grpc_port: int = SERVICE.grpc_port
    http_port: int = SERVICE.http_port
    # "auto" (coreml on macOS with the Core ML bridge, else cpu), "cpu" or "coreml".
    backend: str = "auto"
    # Requests running OCR at once (a thread pool; Tesseract releases the GIL).
    inference_workers: int = 2
    # Tesseract threads per request (the frame is cut into bands read in parallel).
    ocr_threads: int = 2
    ocr_bands: int = 4
    # Page upscale before Tesseract: small UI fonts read better larger (costs time).
    ocr_upscale: float = 1.25
    # Words below this confidence are read again by PP-OCR, at most this many crops a frame.
    ocr_low_confidence: float = 0.6
    ocr_max_fallback_crops: int = 6
    # PP-OCR (rapidocr, ONNX models from its wheel) for uncertain regions and FindText misses.
    ocr_use_rapidocr: bool = True
    # FindText: when the fast pass does not find the query, read the frame again with PP-OCR
    # detection + recognition (seconds on 2 cores; cached per frame). Off: answer at once.
    find_thorough_on_miss: bool = True
    # Results kept per frame hash (consecutive identical screens are not read twice).
    ocr_cache_entries: int = 16
    tessdata_dir: str | None = None
    # Core ML backend: the .mlpackage (built by `python -m services.inference.tools.convert`;
    # unset: built once into ~/.cache/bytebot/models) and the compute units.
    coreml_model_path: str | None = None
    coreml_compute_units: str = "CPU_AND_NE"
    # Input limits.
    max_image_bytes: int = 16 * MIB
    max_image_pixels: int = 40_000_000
