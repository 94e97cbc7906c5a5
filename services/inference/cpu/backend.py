"""The CPU backend: UI preprocessing + Tesseract, with PP-OCR where Tesseract is unsure.

One DetectText pass (``detect``):
1. ``preprocess.prepare``: text-like blobs, each painted dark-on-white on a clean page (box
   borders and fills gone, dark themes and coloured buttons normalised), optionally upscaled.
2. Tesseract on that page, cut into horizontal bands between blobs that
   hold equal shares of the reading (``_blob_cost``), each cropped to the columns holding
   text, read in parallel (``tesseract_threads``; tesserocr releases the GIL). Each band is
   upscaled so its text's blobs are ``upscale_height`` px tall (1x..2x; a band's much
   smaller text, a 9-10 px status bar, is read apart at its own scale).
3. Blobs no confident Tesseract word covers (typically short labels inside buttons) are read
   again by the PP-OCR recogniser from the original pixels, at most ``max_fallback_crops`` per
   frame, in one batch.
4. Repairs checked against the pixels (``tokens``, ``terminal``), then two more PP-OCR
   opinions on what Tesseract commonly gets wrong in desktop tokens: dots it did not see
   in file names (``separators``) and look-alike characters in tokens mixing letters and
   digits (``lookalikes``), each taken only where it confirms Tesseract's reading otherwise.
Results are cached by frame pixels (``cache.FrameCache``).

``detect_more`` (FindText when the query is missing) adds a full PP-OCR detection +
recognition of the frame, merged with the fast pass: slow (seconds), but only on a miss.
"""

from __future__ import annotations

import itertools
import os
import platform
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from services.inference.backends.base import DeviceInfo, ModelDescriptor, Rect, TextRegion
from services.inference.backends.cache import FrameCache, frame_key
from services.inference.cpu import lookalikes, preprocess, separators, terminal, tokens
from services.inference.cpu.engines import (
    OcrWord,
    RapidRecognizer,
    TesseractPool,
    find_tessdata,
    split_line,
)

MODEL_NAME = "ui-ocr-cpu"
MODEL_VERSION = "1"
# White margin kept around the text of a band (pixels of the original frame).
_BAND_MARGIN = 12
_NUMBER = re.compile(r"^[.,:]?\d+([.,:]\d+)*$")
_LETTERS = re.compile(r"^[A-Za-z]{1,3}$")


@dataclass
class CpuOptions:
    tesseract_threads: int = 2
    bands: int = 4
    upscale: float = 1.25
    # > 0: the upscale of each band from its text: the blob height (px) it is scaled to.
    upscale_height: float = 24.0
    upscale_min: float = 1.0
    upscale_max: float = 2.0
    low_confidence: float = 0.6
    max_fallback_crops: int = 40
    # And at most this many PP-OCR input columns (a crop costs 48 * width / height columns,
    # 48 at least): short labels are cheap, a long path costs as much as a dozen of them.
    # 0 = count only.
    fallback_columns: int = 2500
    # Stretches of ink inside a read blob that no word covers, read on their own: at most
    # this many a frame, the smallest first; only numbers are taken from them (and letters
    # a repair joins). A terminal of ls -l rows holds three or four a row (link count, the
    # "j" of "j.smith", a dot): 24 left a screen's link counts unread.
    max_gap_crops: int = 48
    # File names Tesseract cut or glued where a dot it did not see sits ("Payroll" "JPG"):
    # at most this many a frame are read again whole, kept only where PP-OCR confirms them.
    max_separator_crops: int = 8
    # Tokens mixing letters and digits that Tesseract is unsure of ("o_brienl1", "export-03"):
    # at most this many a frame are read again, look-alikes taken where PP-OCR differs by
    # nothing else.
    max_lookalike_crops: int = 8
    # ... and at most this many PP-OCR input columns for them (a long token costs ~80 ms of
    # CPU: 7 of them took 569 ms on one tune frame).
    lookalike_columns: int = 1500
    # PP-OCR pads a batch of crops to this width at least (its default is 320 at height 48).
    fallback_min_width: int = 48
    use_rapidocr: bool = True
    # PP-OCR's output layer cut to Latin script (cpu/latin_head.py): same readings of Latin
    # text at 14-18 % less CPU per crop (bench/pp_ocr_latin_head.py).
    latin_recognizer: bool = True
    cache_entries: int = 16
    tessdata: str | None = None
    # Requests that may run at once (the servicer's workers + its readiness check).
    concurrent_requests: int = 3


class CpuBackend:
    name = "cpu"
    model_name = MODEL_NAME

    def __init__(self, options: CpuOptions | None = None) -> None:
        self.options = options or CpuOptions()
        self._tess: TesseractPool | None = None
        self._rapid: RapidRecognizer | None = None
        self._bands: ThreadPoolExecutor | None = None
        self._cache: FrameCache[list[TextRegion]] = FrameCache(self.options.cache_entries)
        self._more_cache: FrameCache[list[TextRegion]] = FrameCache(
            max(1, self.options.cache_entries // 4))
        # Consecutive screens differ in a few places: unchanged bands of the normalised page
        # and unchanged crops are not read again.
        self._band_cache: FrameCache[list[OcrWord]] = FrameCache(8 * self.options.cache_entries)
        self._crop_cache: FrameCache[tuple[str, float]] = FrameCache(
            32 * self.options.cache_entries)

    # -- lifecycle ---------------------------------------------------------------------
    def load(self) -> None:
        threads = max(1, self.options.tesseract_threads)
        # Each request in flight reads up to `threads` bands at once, each with its own API.
        slots = max(1, self.options.concurrent_requests) * threads
        self._tess = TesseractPool(slots, find_tessdata(self.options.tessdata))
        self._bands = ThreadPoolExecutor(max_workers=slots,
                                         thread_name_prefix="tesseract-band")
        if self.options.use_rapidocr:
            self._rapid = RapidRecognizer(threads=max(1, min(os.cpu_count() or 1, 2)),
                                          crop_min_width=self.options.fallback_min_width,
                                          latin_only=self.options.latin_recognizer)

    def clear_caches(self) -> None:
        for cache in (self._cache, self._more_cache, self._band_cache, self._crop_cache):
            cache.clear()

    def close(self) -> None:
        if self._bands:
            self._bands.shutdown(wait=True)
        if self._tess:
            self._tess.close()

    # -- passes ------------------------------------------------------------------------
    def detect(self, image: np.ndarray, region: Rect | None = None,
               min_confidence: float = 0.0, use_cache: bool = True) -> list[TextRegion]:
        key = frame_key(image, region, "fast")
        regions = self._cache.get(key) if use_cache else None
        if regions is None:
            crop, dx, dy = _crop(image, region)
            regions = [r.__class__(r.text, r.box.shifted(dx, dy), r.confidence, r.line)
                       for r in self._fast_pass(crop)]
            self._cache.put(key, regions)
        return [r for r in regions if r.confidence >= min_confidence]

    def detect_more(self, image: np.ndarray, region: Rect | None = None) -> list[TextRegion]:
        fast = self.detect(image, region)
        if self._rapid is None:
            return fast
        key = frame_key(image, region, "more")
        merged = self._more_cache.get(key)
        if merged is None:
            crop, dx, dy = _crop(image, region)
            extra = [_to_region(w, dx, dy, line_offset=10_000)
                     for w in self._rapid.read_frame(crop)]
            merged = list(fast)
            for r in extra:
                if not any(_overlap(r.box, f.box) > 0.5 and f.text.lower() == r.text.lower()
                           for f in fast):
                    merged.append(r)
            self._more_cache.put(key, merged)
        return merged

    def _fast_pass(self, rgb: np.ndarray) -> list[TextRegion]:
        assert self._tess is not None and self._bands is not None, "backend not loaded"
        prepared = self._prepare(rgb)
        page = prepared.page
        n_bands = max(self.options.bands, self.options.tesseract_threads)
        bands = _bands(prepared.blobs, rgb.shape[0], n_bands)
        jobs = []
        for top, bottom in bands:
            inside = [b for b in prepared.blobs if top <= b.y + b.height // 2 < bottom]
            if not inside:  # nothing drawn: no need to ask Tesseract
                continue
            for scale, group, others in self._scale_groups(inside):
                # Only the columns holding text: Tesseract's thresholding and layout analysis
                # cost in proportion to the pixels they are given, white or not.
                left = max(0, min(b.x for b in group) - _BAND_MARGIN)
                right = min(page.shape[1], max(b.x + b.width for b in group) + _BAND_MARGIN)
                band = page[top:bottom, left:right]
                if others:  # another group's text is read at its own scale
                    band = band.copy()
                    for b in others:
                        band[max(0, b.y - 3 - top):max(0, b.y + b.height + 3 - top),
                             max(0, b.x - 3 - left):max(0, b.x + b.width + 3 - left)] = 255
                if scale != 1.0:
                    band = cv2.resize(band, None, fx=scale, fy=scale,
                                      interpolation=cv2.INTER_CUBIC)
                jobs.append((sum(_blob_cost(b) for b in group), top, left, scale, band))
        # The costliest first: with more bands than cores the short ones fill in at the end.
        jobs.sort(key=lambda j: -j[0])
        futures = []
        for _cost, top, left, scale, band in jobs:
            key = frame_key(band, scale)
            cached = self._band_cache.get(key)
            if cached is not None:
                futures.append((top, left, scale, None, cached))
            else:
                futures.append((top, left, scale, key,
                                self._bands.submit(self._tess.recognize, band)))
        words: list[OcrWord] = []
        line_base = 0
        for top, left, scale, key, fut in sorted(futures, key=lambda f: (f[0], f[1])):
            if key is None:
                band_words = fut
            else:
                band_words = fut.result()
                self._band_cache.put(key, band_words)
            for w in band_words:
                x, y, bw, bh = w.box
                words.append(OcrWord(w.text, (round(x / scale) + left, round(y / scale) + top,
                                              max(1, round(bw / scale)), max(1, round(bh / scale))),
                                     w.confidence, w.line + line_base))
            line_base += (max((w.line for w in band_words), default=-1) + 1)
        ink = prepared.page < tokens.INK_LEVEL
        words, tentative = self._second_opinion(rgb, prepared, ink, words, line_base)
        words = _joined_only(tokens.repair(words, prepared.page), tentative)
        words = terminal.repair(words, ink)
        words = self._confirm_separators(rgb, words)
        words = self._settle_lookalikes(rgb, words)
        return _reading_order([_to_region(w, 0, 0) for w in words])

    def _scale_groups(self, blobs: list[preprocess.Blob]
                      ) -> list[tuple[float, list[preprocess.Blob], list[preprocess.Blob]]]:
        """(scale, blobs read at it, the band's other blobs) for one band. A fixed
        ``upscale`` unless ``upscale_height`` is set: then each blob wants the scale that
        brings its height there (within ``upscale_min``..``upscale_max``), and a band whose
        small text (a 9-10 px status bar) wants much more than the rest reads it apart."""
        o = self.options
        if o.upscale_height <= 0:
            return [(o.upscale if o.upscale > 0 else 1.0, blobs, [])]

        def want(b: preprocess.Blob) -> float:
            return min(o.upscale_max, max(o.upscale_min, o.upscale_height / max(1, b.height)))

        wants = [want(b) for b in blobs]
        base = float(np.median(wants))
        small = [b for b, w in zip(blobs, wants, strict=True) if w >= base * 1.3]
        if not small or len(small) == len(blobs):
            return [(round(base, 2), blobs, [])]
        rest = [b for b, w in zip(blobs, wants, strict=True) if w < base * 1.3]
        small_scale = float(np.median([want(b) for b in small]))
        return [(round(float(np.median([want(b) for b in rest])), 2), rest, small),
                (round(small_scale, 2), small, rest)]

    def _prepare(self, rgb: np.ndarray) -> preprocess.Prepared:
        return preprocess.prepare(rgb)

    def _second_opinion(self, rgb: np.ndarray, prepared: preprocess.Prepared,
                        ink: np.ndarray, words: list[OcrWord], line_base: int
                        ) -> tuple[list[OcrWord], _Tentative]:
        """PP-OCR reads the blobs Tesseract left uncovered or was unsure about, and the
        stretches of ink inside a read blob that no word covers: where those read as a
        number (a day or link count Tesseract dropped from an ``ls -l`` row, the decimals of
        "128.3"), it is added; a stretch read as a few letters ("j" of "j.smith") is added
        as *tentative* (returned apart, as (text, box)): the caller keeps it only if a repair
        joins it to its neighbour. ``ink``: the page's ink mask."""
        o = self.options
        tentative: _Tentative = set()
        if self._rapid is None or o.max_fallback_crops <= 0:
            return words, tentative
        todo: list[_Job] = []  # (kind, blob, the words it replaces)
        gaps: list[_Job] = []
        for blob in prepared.blobs:
            inside = [w for w in words if _center_in(w.box, blob.box)]
            crossing = [w for w in words if _y_overlaps(w.box, blob.box)
                        and _x_overlap(w.box, blob.box) > 0]
            # Coverage by any confident word crossing the blob, not only those centred in it:
            # a blob cut off a longer word ("photo_0" of photo_0042.JPG) is read already.
            covered = sum(_x_overlap(w.box, blob.box) for w in crossing
                          if w.confidence >= o.low_confidence)
            if covered < 0.6 * blob.width:
                # Read from the rows and columns of its ink only: a field's or a button's
                # border around the text (the page has lost it; the frame has not) makes
                # PP-OCR misread ("invoc/testdemomain_banner.ododt").
                todo.append(("blob", _inked(blob, ink), inside))
            if o.max_gap_crops > 0 and crossing:
                gaps += [("gap", g, []) for g in _unread_stretches(blob, crossing, ink)]
        todo = _within_budget(todo, o.max_fallback_crops, o.fallback_columns)
        # A blob read again whole needs none of its stretches read.
        whole = [job[1] for job in todo]
        gaps = [g for g in gaps if not any(_center_in(g[1].box, b.box) for b in whole)]
        todo += _within_budget(gaps, o.max_gap_crops, 0)
        if not todo:
            return words, tentative
        # A stretch's neighbours are words already read: its crop must not take in their
        # glyphs (a "4" of "2024" beside a dropped underscore).
        results = self._read_crops(
            rgb, [job[1].box for job in todo],
            side=[2 if kind == "gap" else max(3, blob.height // 4) for kind, blob, _ in todo])
        replaced: set[int] = set()
        added: list[OcrWord] = []
        for i, ((kind, blob, inside), (text, conf)) in enumerate(
                zip(todo, results, strict=True)):
            old_conf = min((w.confidence for w in inside), default=0.0)
            if not text.strip() or conf < max(0.5, old_conf):
                continue
            if 3 * len(text.strip()) <= sum(len(w.text) for w in inside):
                continue  # a fraction of what Tesseract read there ("e" for a whole line)
            if len(text.strip()) == 1 and not text.strip().isalnum():
                # A lone mark: a selected row's underscore read as an en dash (at 0.55 by
                # the Latin recogniser, whose softmax gives the dropped scripts' share to
                # what is left). No word to click is found that way.
                continue
            if kind == "gap" and not _NUMBER.match(text.strip()):
                if _LETTERS.match(text.strip()):
                    # A stretch is its ink's exact extent; words are boxed with a pixel
                    # to spare, which the repairs' look at the gap expects.
                    x, y, bw, bh = blob.box
                    w = OcrWord(text.strip(), (x - 1, y, bw + 2, bh), conf, line_base + i)
                    tentative.add((w.text, w.box))
                    added.append(w)
                continue
            replaced.update(id(w) for w in inside)
            added.extend(split_line(text, blob.box, conf, line_base + i))
        return [w for w in words if id(w) not in replaced] + added, tentative

    def _confirm_separators(self, rgb: np.ndarray, words: list[OcrWord]) -> list[OcrWord]:
        """``separators``: tokens Tesseract cut or glued at a dot it did not see, read again
        whole and joined where PP-OCR's reading confirms them."""
        limit = self.options.max_separator_crops
        if self._rapid is None or limit <= 0:
            return words
        found = [c for line in tokens.lines(words) for c in separators.candidates(line)]
        found = found[:limit]
        if not found:
            return words
        # PP-OCR sees a 1-2 px dot in one crop of a token and not in another a few pixels
        # larger: those the first crop does not confirm are read again, cropped tight.
        tokens_of: dict[int, str] = {}
        for side, pad in ((None, None), (2, 2)):
            todo = [i for i in range(len(found)) if i not in tokens_of]
            boxes = [found[i].box for i in todo]
            readings = self._read_crops(rgb, boxes, None if side is None else [side] * len(todo),
                                        pad)
            for i, (text, conf) in zip(todo, readings, strict=True):
                token = separators.confirmed(found[i].words, text) \
                    if conf >= separators.MIN_CONFIDENCE else None
                if token is not None:
                    tokens_of[i] = token
        replaced: set[int] = set()
        joined: list[OcrWord] = []
        for i, token in tokens_of.items():
            cand = found[i]
            replaced.update(id(w) for w in cand.words)
            joined.append(OcrWord(token, cand.box, min(w.confidence for w in cand.words),
                                  cand.words[0].line))
        return [w for w in words if id(w) not in replaced] + joined

    def _settle_lookalikes(self, rgb: np.ndarray, words: list[OcrWord]) -> list[OcrWord]:
        """``lookalikes``: mixed tokens Tesseract is unsure of, read again; look-alike
        characters taken from PP-OCR where its reading differs by nothing else."""
        limit = self.options.max_lookalike_crops
        if self._rapid is None or limit <= 0:
            return words
        found = lookalikes.candidates(words, limit, self.options.lookalike_columns)
        if not found:
            return words
        fixed: dict[int, OcrWord] = {}
        for w, (text, conf) in zip(found, self._read_crops(rgb, [w.box for w in found], None),
                                   strict=True):
            token = lookalikes.settled(w.text, text) \
                if conf >= lookalikes.MIN_READING_CONFIDENCE else None
            if token is not None:
                fixed[id(w)] = OcrWord(token, w.box, conf, w.line)
        return [fixed.get(id(w), w) for w in words]

    def _read_crops(self, rgb: np.ndarray, boxes: list[tuple[int, int, int, int]],
                    side: list[int] | None, pad: int | None = None) -> list[tuple[str, float]]:
        """PP-OCR readings of ``boxes`` of the frame, each padded by ``pad`` (a quarter of
        its height, 3 px at least, if None) above and below and by ``side[i]`` (the same pad
        if None) left and right; cached by crop pixels."""
        assert self._rapid is not None
        height, width = rgb.shape[:2]
        keys, crops = [], []
        for i, (x, y, bw, bh) in enumerate(boxes):
            py = max(3, bh // 4) if pad is None else pad
            sx = py if side is None else side[i]
            x0, y0 = max(0, x - sx), max(0, y - py)
            x1, y1 = min(width, x + bw + sx), min(height, y + bh + py)
            crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
            keys.append(frame_key(crop))
            crops.append(crop)
        results: list[tuple[str, float] | None] = [self._crop_cache.get(k) for k in keys]
        missing = [i for i, r in enumerate(results) if r is None]
        for i, res in zip(missing, self._rapid.recognize_crops([crops[i] for i in missing]),
                          strict=True):
            results[i] = res
            self._crop_cache.put(keys[i], res)
        return [r or ("", 0.0) for r in results]

    # -- descriptions ------------------------------------------------------------------
    def models(self) -> list[ModelDescriptor]:
        loaded = self._tess is not None
        out = [
            ModelDescriptor(MODEL_NAME, MODEL_VERSION, "ocr", "cpu", "pipeline", (), loaded,
                            "UI preprocessing + Tesseract LSTM, PP-OCR on uncertain regions"),
            ModelDescriptor("tesseract-eng", self._tess.version if self._tess else "", "ocr",
                            "cpu", "traineddata", (), loaded, "Tesseract 5 LSTM, English"),
        ]
        if self.options.use_rapidocr:
            rapid_loaded = self._rapid is not None
            out += [
                ModelDescriptor("ppocr-det", "PP-OCRv6-small", "text-detection", "cpu", "onnx",
                                (1, 3, -1, -1), rapid_loaded, "PP-OCR text detector (rapidocr)"),
                ModelDescriptor("ppocr-rec", "PP-OCRv6-small", "text-recognition", "cpu",
                                "onnx", (-1, 3, 48, -1), rapid_loaded,
                                "PP-OCR text-line recogniser (rapidocr)"),
            ]
        return out

    def device_info(self) -> DeviceInfo:
        details = {"tesseract_threads": str(self.options.tesseract_threads),
                   "upscale": str(self.options.upscale),
                   "max_fallback_crops": str(self.options.max_fallback_crops),
                   "cache_hits": str(self._cache.hits), "cache_misses": str(self._cache.misses)}
        if self._tess:
            details["tesseract"] = self._tess.version
        try:
            import onnxruntime

            details["onnxruntime"] = onnxruntime.__version__
        except ImportError:
            pass
        return DeviceInfo(backend="cpu", compute_units="CPU_ONLY", platform=platform_name(),
                          cpu_count=os.cpu_count() or 1, details=details)


def platform_name() -> str:
    system = platform.system()
    if system == "Darwin":
        return f"macOS-{platform.mac_ver()[0]}-{platform.machine()}"
    return f"{system}-{platform.release()}-{platform.machine()}"


def _crop(image: np.ndarray, region: Rect | None) -> tuple[np.ndarray, int, int]:
    if region is None:
        return image, 0, 0
    return image[region.y:region.bottom, region.x:region.right], region.x, region.y


def _blob_cost(b: preprocess.Blob) -> float:
    """Tesseract's LSTM scales each line to a fixed height, so reading a line costs in
    proportion to its aspect ratio (plus its ~4 px padding), not to its pixel count."""
    return b.width / (b.height + 8)


def _bands(blobs: list[preprocess.Blob], height: int, count: int) -> list[tuple[int, int]]:
    """Splits [0, height) into up to ``count`` bands at rows no blob crosses, each holding
    about the same amount of reading (``_blob_cost``), so parallel bands finish together."""
    if count <= 1 or height < 200 or not blobs:
        return [(0, height)]
    busy = np.zeros(height + 1, dtype=bool)
    cost = np.zeros(height + 1)
    for b in blobs:
        busy[max(0, b.y - 2): b.y + b.height + 2] = True
        cost[min(height, b.y + b.height // 2)] += _blob_cost(b)
    cumulative = np.cumsum(cost)
    total = cumulative[-1]
    cuts = [0]
    for k in range(1, count):
        # The row where the k-th share of the reading ends, then the nearest free row.
        target = int(np.searchsorted(cumulative, total * k / count))
        free = np.flatnonzero(~busy[cuts[-1] + 20: height - 20]) + cuts[-1] + 20
        if free.size == 0:
            break
        cut = int(free[np.argmin(np.abs(free - target))])
        if cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(height)
    return list(itertools.pairwise(cuts))


def _to_region(w: OcrWord, dx: int, dy: int, line_offset: int = 0) -> TextRegion:
    x, y, bw, bh = w.box
    return TextRegion(w.text, Rect(x + dx, y + dy, bw, bh), w.confidence, w.line + line_offset)


_Job = tuple[str, preprocess.Blob, list[OcrWord]]
# Words a repair must join to a neighbour to be kept, as (text, box).
_Tentative = set[tuple[str, tuple[int, int, int, int]]]


def _within_budget(todo: list[_Job], crops: int, columns: int) -> list[_Job]:
    """The smallest ``crops`` blobs (short labels, buttons: where Tesseract fails and PP-OCR
    is cheap), then as many of them as ``columns`` PP-OCR input columns allow (a crop costs
    48 * width / height, 48 at least; 0 = no limit), narrowest first."""
    todo = sorted(todo, key=lambda t: t[1].width * t[1].height)[:crops]
    if columns <= 0:
        return todo
    kept = []
    for job in sorted(todo, key=lambda t: t[1].width / t[1].height):
        blob = job[1]
        cost = max(48.0, 48.0 * blob.width / max(1, blob.height))
        if cost > columns:
            break
        columns -= cost
        kept.append(job)
    return kept


def _inked(blob: preprocess.Blob, ink: np.ndarray) -> preprocess.Blob:
    """The blob cut to the rows and columns holding ink (the blob itself if it has none)."""
    inside = ink[blob.y:blob.y + blob.height, blob.x:blob.x + blob.width]
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return blob
    return preprocess.Blob(blob.x + int(cols[0]), blob.y + int(rows[0]),
                           int(cols[-1] - cols[0]) + 1, int(rows[-1] - rows[0]) + 1)


def _unread_stretches(blob: preprocess.Blob, words: list[OcrWord],
                      ink: np.ndarray) -> list[preprocess.Blob]:
    """Runs of the blob's ink columns that no word box covers (boxes widened by a quarter
    of the line's height; glyph gaps up to 2 px bridged), a narrow glyph wide at least and
    as tall as half the line, as blobs of the blob's rows."""
    cols = ink[blob.y:blob.y + blob.height, blob.x:blob.x + blob.width].any(axis=0)
    # A word Tesseract dropped stands a space away from its neighbours; ink closer to a
    # read word than that is the rest of one of its glyphs (the tail of "2024"'s 4).
    margin = max(2, round(0.25 * blob.height))
    for w in words:
        left = max(0, w.box[0] - blob.x - margin)
        cols[left:max(left, w.box[0] + w.box[2] - blob.x + margin)] = False
    out: list[preprocess.Blob] = []
    inked = np.flatnonzero(cols)
    if inked.size == 0:
        return out
    # Split the inked columns where more than 2 blank columns part them.
    breaks = np.flatnonzero(np.diff(inked) > 3)
    rows_of = ink[blob.y:blob.y + blob.height, blob.x:blob.x + blob.width]
    for run in np.split(inked, breaks + 1):
        start, end = int(run[0]), int(run[-1]) + 1
        if end - start < max(2, 0.2 * blob.height):
            continue
        # A dropped digit is as tall as the line's digits; a dropped underscore, dot or
        # dash is not a word of its own (the token repairs see those marks).
        rows = np.flatnonzero(rows_of[:, start:end].any(axis=1))
        if rows.size and rows[-1] - rows[0] + 1 >= 0.5 * blob.height:
            out.append(preprocess.Blob(blob.x + start, blob.y, end - start, blob.height))
    return out


def _joined_only(words: list[OcrWord], tentative: _Tentative) -> list[OcrWord]:
    """Letters read from an unread stretch count only as part of a token the repairs joined
    them into ("j" + "." + "smith"): alone they were PP-OCR's guess."""
    return [w for w in words if (w.text, w.box) not in tentative]


def _center_in(box: tuple[int, int, int, int], blob: tuple[int, int, int, int]) -> bool:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return blob[0] - 2 <= cx <= blob[0] + blob[2] + 2 and blob[1] - 2 <= cy <= blob[1] + blob[3] + 2


def _x_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    return max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))


def _y_overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether the boxes share at least half of the smaller one's height."""
    inter = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return inter >= 0.5 * min(a[3], b[3])


def _overlap(a: Rect, b: Rect) -> float:
    """Intersection over the smaller box."""
    ix = max(0, min(a.right, b.right) - max(a.x, b.x))
    iy = max(0, min(a.bottom, b.bottom) - max(a.y, b.y))
    smaller = min(a.width * a.height, b.width * b.height) or 1
    return ix * iy / smaller


def _reading_order(regions: list[TextRegion]) -> list[TextRegion]:
    """Top to bottom, then left to right; lines renumbered 0.. in that order."""
    if not regions:
        return []
    by_line: dict[int | None, list[TextRegion]] = {}
    for r in regions:
        by_line.setdefault(r.line, []).append(r)
    lines = sorted(by_line.values(), key=lambda rs: (min(r.box.y for r in rs),
                                                     min(r.box.x for r in rs)))
    out = []
    for i, rs in enumerate(lines):
        for r in sorted(rs, key=lambda r: r.box.x):
            out.append(TextRegion(r.text, r.box, r.confidence, i))
    return out
