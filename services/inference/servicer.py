"""InferenceService: DetectText, FindText, ListModels, GetDeviceInfo over one backend.

OCR is blocking and CPU-bound: it runs in a small thread pool (``inference_workers``; Tesseract
and onnxruntime release the GIL), never on the event loop. The backend is chosen when the
servicer is built (no import of coremltools unless coreml is chosen) and loaded by the start-up
step ``ane_service_init`` (models + one warm-up inference); until then RPCs answer UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from bytebot.common.v1 import common_pb2
from bytebot.inference.v1 import inference_pb2, inference_pb2_grpc
from google.protobuf import duration_pb2
from PIL import Image, ImageDraw, ImageFont
from prometheus_client import CollectorRegistry, Histogram

from libs.observability import buckets
from libs.observability.logging import get_logger
from libs.status.errors import FieldViolation, InvalidArgument, Unavailable
from services.inference import imaging, matching
from services.inference.backends.base import Backend, ModelDescriptor, Rect, TextRegion
from services.inference.backends.select import choose_backend
from services.inference.config import InferenceSettings
from services.inference.cpu.backend import CpuBackend, CpuOptions

log = get_logger(__name__)

ANE_BUCKETS = buckets.ANE_SECONDS
_MODES = {
    inference_pb2.MATCH_MODE_UNSPECIFIED: matching.Mode.CASE_INSENSITIVE,
    inference_pb2.MATCH_MODE_EXACT: matching.Mode.EXACT,
    inference_pb2.MATCH_MODE_CASE_INSENSITIVE: matching.Mode.CASE_INSENSITIVE,
    inference_pb2.MATCH_MODE_CONTAINS: matching.Mode.CONTAINS,
    inference_pb2.MATCH_MODE_FUZZY: matching.Mode.FUZZY,
}
PROBE_WORD = "ready"


def make_backend(settings: InferenceSettings) -> Backend:
    kind = choose_backend(settings.backend)
    options = CpuOptions(
        tesseract_threads=max(1, settings.ocr_threads), bands=settings.ocr_bands,
        upscale=settings.ocr_upscale, upscale_height=settings.ocr_upscale_height,
        low_confidence=settings.ocr_low_confidence,
        max_fallback_crops=settings.ocr_max_fallback_crops,
        fallback_columns=settings.ocr_fallback_columns,
        use_rapidocr=settings.ocr_use_rapidocr, cache_entries=settings.ocr_cache_entries,
        tessdata=settings.tessdata_dir,
        concurrent_requests=max(1, settings.inference_workers) + 1)
    if kind == "coreml":
        from services.inference.coreml.backend import CoreMLBackend  # lazy: coremltools

        return CoreMLBackend(options, settings.coreml_model_path,
                             settings.coreml_compute_units)
    return CpuBackend(options)


def probe_image(counter: int) -> np.ndarray:
    """A small image with the probe word and a changing number (so no cache answers it)."""
    img = Image.new("RGB", (260, 48), "#ffffff")
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 22) \
        if _has_dejavu() else ImageFont.load_default(22)
    ImageDraw.Draw(img).text((10, 10), f"{PROBE_WORD} {counter % 1000}", font=font,
                             fill="#000000")
    return np.asarray(img)


def _has_dejavu() -> bool:
    import os

    return os.path.exists("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, settings: InferenceSettings, registry: CollectorRegistry,
                 backend: Backend | None = None) -> None:
        self.settings = settings
        self.backend = backend or make_backend(settings)
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.inference_workers),
                                        thread_name_prefix="inference")
        self._loaded = False
        self._probe_counter = itertools.count(1)
        self.processing = Histogram(
            "bytebot_ane_processing_duration_seconds",
            "Time spent running vision models on one request (decoding excluded).",
            ["model", "backend"], buckets=ANE_BUCKETS, registry=registry)
        # The one series this server will ever fill exists (at zero) from the start, so
        # dashboards and absent()-style alerts see the service before its first request.
        self.processing.labels(model=self.backend.model_name, backend=self.backend.name)

    # -- lifecycle -------------------------------------------------------------------------
    async def init_models(self) -> str:
        """Start-up step ``ane_service_init``: load the models, run one warm-up inference."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self.backend.load)
        found = await loop.run_in_executor(self._pool, self._probe)
        self._loaded = True
        log.info("inference backend ready", backend=self.backend.name,
                 model=self.backend.model_name, warmup_words=found)
        return f"loaded ({self.backend.name})"

    async def check(self) -> None:
        """Readiness check ``ane_service``: a real tiny inference must read the probe word."""
        if not self._loaded:
            raise RuntimeError("models not loaded")
        # Not the request pool: a busy server must still answer its probe.
        await asyncio.to_thread(self._probe)

    def _probe(self) -> str:
        image = probe_image(next(self._probe_counter))
        regions = self.backend.detect(image, use_cache=False)
        text = " ".join(r.text for r in regions)
        if PROBE_WORD not in text.lower():
            raise RuntimeError(f"probe inference read {text!r}, expected {PROBE_WORD!r}")
        return text

    async def close(self) -> None:
        self._pool.shutdown(wait=True)
        await asyncio.to_thread(self.backend.close)

    # -- RPCs ------------------------------------------------------------------------------
    async def DetectText(self, request: Any, context: Any) -> Any:
        violations = imaging.check_fraction(request.min_confidence, "min_confidence")
        decoded, region = self._decode(request, violations)
        regions, elapsed = await self._run(self.backend.detect, decoded.rgb, region,
                                           float(request.min_confidence))
        return inference_pb2.DetectTextResponse(
            regions=[_region_pb(r) for r in regions], model=self.backend.model_name,
            backend=self.backend.name, processing_time=_duration(elapsed),
            image_size=common_pb2.Size(width=decoded.width, height=decoded.height))

    async def FindText(self, request: Any, context: Any) -> Any:
        violations: list[FieldViolation] = []
        query = request.query
        if not query.strip():
            violations.append(FieldViolation("query", "must not be empty"))
        elif len(query) > matching.MAX_QUERY_LENGTH:
            violations.append(FieldViolation(
                "query", f"is {len(query)} characters, more than {matching.MAX_QUERY_LENGTH}"))
        options = self._options(request, violations)
        decoded, region = self._decode(request, violations)
        regions, elapsed = await self._run(self.backend.detect, decoded.rgb, region, 0.0)
        found = matching.find(regions, query, options)
        if not found and self.settings.find_thorough_on_miss:
            # The fast pass missed it: the thorough (slow) pass, only now.
            more, extra = await self._run(self.backend.detect_more, decoded.rgb, region)
            elapsed += extra
            found = matching.find(more, query, options)
        return inference_pb2.FindTextResponse(
            matches=[inference_pb2.TextMatch(
                region=_region_pb(m.region),
                center=common_pb2.Point(x=m.center[0], y=m.center[1]), score=m.score)
                for m in found],
            model=self.backend.model_name, backend=self.backend.name,
            processing_time=_duration(elapsed))

    async def ListModels(self, request: Any, context: Any) -> Any:
        return inference_pb2.ListModelsResponse(
            models=[_model_pb(m) for m in self.backend.models()])

    async def GetDeviceInfo(self, request: Any, context: Any) -> Any:
        info = self.backend.device_info()
        return inference_pb2.GetDeviceInfoResponse(
            backend=info.backend, compute_units=info.compute_units, platform=info.platform,
            models=[_model_pb(m) for m in self.backend.models()], cpu_count=info.cpu_count,
            details=info.details)

    # -- helpers ---------------------------------------------------------------------------
    def _options(self, request: Any, violations: list[FieldViolation]) -> matching.MatchOptions:
        o = request.options
        mode = _MODES.get(o.mode)
        if mode is None:
            violations.append(FieldViolation("options.mode", f"unknown match mode {o.mode}"))
            mode = matching.Mode.CASE_INSENSITIVE
        violations += imaging.check_fraction(o.min_similarity, "options.min_similarity")
        if not 0 <= o.max_results <= matching.MAX_RESULTS_LIMIT:
            violations.append(FieldViolation(
                "options.max_results",
                f"must be between 0 and {matching.MAX_RESULTS_LIMIT}, got {o.max_results}"))
        return matching.MatchOptions(
            mode=mode, min_similarity=o.min_similarity or matching.DEFAULT_MIN_SIMILARITY,
            whole_word=o.whole_word, max_results=o.max_results or matching.DEFAULT_MAX_RESULTS)

    def _decode(self, request: Any, violations: list[FieldViolation]
                ) -> tuple[imaging.Decoded, Rect | None]:
        """Decodes the image and checks the region; raises INVALID_ARGUMENT with every
        violation found (the ones collected by the caller included)."""
        name = request.DESCRIPTOR.name
        if not request.HasField("image"):
            raise InvalidArgument(f"invalid {name}: image is required",
                                  [*violations, FieldViolation("image", "is required")])
        if violations:  # cheap checks first: no decoding for a request that is bad anyway
            raise InvalidArgument(f"invalid {name}: " + "; ".join(
                f"{v.field} {v.description}" for v in violations), violations)
        try:
            decoded = imaging.decode_image(request.image.data, request.image.format,
                                           self.settings.max_image_bytes,
                                           self.settings.max_image_pixels)
            region = None
            if request.HasField("region"):
                r = request.region
                region = imaging.check_region(r.x, r.y, r.width, r.height,
                                              decoded.width, decoded.height)
        except imaging.BadInput as e:
            raise InvalidArgument(f"invalid {name}: {e}", e.violations) from None
        return decoded, region

    async def _run(self, fn: Any, *args: Any) -> tuple[Any, float]:
        if not self._loaded:
            raise Unavailable("the inference models are still loading; retry shortly")
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        result = await loop.run_in_executor(self._pool, fn, *args)
        elapsed = time.perf_counter() - started
        self.processing.labels(model=self.backend.model_name,
                               backend=self.backend.name).observe(elapsed)
        return result, elapsed


def _duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


def _region_pb(r: TextRegion) -> Any:
    pb = inference_pb2.TextRegion(
        text=r.text, confidence=r.confidence,
        box=common_pb2.Rect(x=r.box.x, y=r.box.y, width=r.box.width, height=r.box.height))
    if r.line is not None:
        pb.line = r.line
    return pb


def _model_pb(m: ModelDescriptor) -> Any:
    return inference_pb2.ModelInfo(
        name=m.name, version=m.version, task=m.task, backend=m.backend, format=m.format,
        input_shape=list(m.input_shape), loaded=m.loaded, description=m.description)


__all__ = ["ANE_BUCKETS", "InferenceServicer", "make_backend"]
