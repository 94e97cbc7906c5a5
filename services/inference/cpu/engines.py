"""Thin wrappers over the two OCR engines the CPU backend combines.

- ``TesseractPool``: tesserocr (Tesseract 5 LSTM, Debian's ``tesseract-ocr-eng``): fast full-page
  OCR. One ``PyTessBaseAPI`` per concurrent caller (an API object is not thread-safe);
  tesserocr releases the GIL while recognising, so two bands of a frame run on two cores.
- ``RapidRecognizer``: RapidOCR's PP-OCR ONNX models shipped inside the ``rapidocr`` wheel
  (detector + recogniser, onnxruntime): slower, more accurate. Paths are given explicitly so it
  never looks for, nor downloads, other models.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)


def find_tessdata(explicit: str | None = None, lang: str = "eng") -> str:
    """The tessdata directory holding ``<lang>.traineddata``; raises FileNotFoundError."""
    candidates = [explicit] if explicit else []
    if os.environ.get("TESSDATA_PREFIX"):
        candidates.append(os.environ["TESSDATA_PREFIX"])
    candidates += list(TESSDATA_CANDIDATES)
    for c in candidates:
        if c and (Path(c) / f"{lang}.traineddata").is_file():
            return str(Path(c)) + "/"
    raise FileNotFoundError(f"no {lang}.traineddata in {candidates} (install tesseract-ocr-{lang})")


@dataclass(frozen=True)
class OcrWord:
    text: str
    box: tuple[int, int, int, int]  # x, y, w, h in the image given to the engine
    confidence: float  # 0-1
    line: int


class TesseractPool:
    """A fixed set of Tesseract API objects, lent out one per concurrent call."""

    def __init__(self, size: int, tessdata: str, lang: str = "eng",
                 retry_inverted: bool = False, psm: int | None = None) -> None:
        import tesserocr

        self._tesserocr = tesserocr
        self.tessdata = tessdata
        self.lang = lang
        self._apis: queue.Queue = queue.Queue()
        for _ in range(size):
            api = tesserocr.PyTessBaseAPI(path=tessdata, lang=lang,
                                          psm=tesserocr.PSM.SPARSE_TEXT if psm is None else psm,
                                          oem=tesserocr.OEM.LSTM_ONLY)
            # The backend normalises polarity itself; Tesseract's own retry of unsure lines
            # inverted then only costs time. Raw screenshots (light-on-dark) need it.
            api.SetVariable("tessedit_do_invert", "1" if retry_inverted else "0")
            self._apis.put(api)
        self.size = size

    @property
    def version(self) -> str:
        return self._tesserocr.tesseract_version().split()[1]

    @contextmanager
    def _api(self) -> Iterator[object]:
        api = self._apis.get(timeout=60)
        try:
            yield api
        finally:
            self._apis.put(api)

    def recognize(self, gray: np.ndarray) -> list[OcrWord]:
        """Words of a grey page (dark text on white)."""
        from PIL import Image

        t = self._tesserocr
        level = t.RIL.WORD
        words: list[OcrWord] = []
        with self._api() as api:
            api.SetImage(Image.fromarray(gray))
            api.Recognize()
            iterator = api.GetIterator()
            line = -1
            for r in t.iterate_level(iterator, level):
                if r.IsAtBeginningOf(t.RIL.TEXTLINE):
                    line += 1
                try:
                    text = r.GetUTF8Text(level)
                except RuntimeError:  # an empty word: tesserocr raises instead of ""
                    continue
                text = (text or "").strip()
                bbox = r.BoundingBox(level)
                if not text or bbox is None:
                    continue
                x0, y0, x1, y1 = bbox
                words.append(OcrWord(text, (x0, y0, x1 - x0, y1 - y0),
                                     max(0.0, min(1.0, r.Confidence(level) / 100.0)),
                                     max(line, 0)))
        return words

    def close(self) -> None:
        while not self._apis.empty():
            self._apis.get_nowait().End()


RAPIDOCR_MODELS = ("PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx",
                   "ch_ppocr_mobile_v2.0_cls_mobile.onnx")


def rapidocr_model_dir() -> Path:
    """The models folder inside the installed ``rapidocr`` wheel (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("rapidocr is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class RapidRecognizer:
    """PP-OCR recognition of crops, and full detection + recognition of a frame."""

    def __init__(self, threads: int, crop_min_width: int = 48, latin_only: bool = True) -> None:
        from rapidocr import RapidOCR

        models = rapidocr_model_dir()
        det, rec, cls = (models / name for name in RAPIDOCR_MODELS)
        for path in (det, rec, cls):
            if not path.is_file():
                raise FileNotFoundError(f"rapidocr model missing: {path}")
        source = rec
        if latin_only:
            from services.inference.cpu.latin_head import latin_model

            # Fails loudly: a wheel whose recogniser this cut does not fit is an upgrade to
            # look at, not something to run on silently at a fifth more CPU.
            rec = latin_model(rec)
        self._engine = RapidOCR(params={
            "Global.log_level": "error",
            "Global.use_cls": False,  # screen text is upright
            "Det.model_path": str(det),
            "Rec.model_path": str(rec),
            "Cls.model_path": str(cls),
            "Rec.rec_batch_num": 8,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })
        self._rec = self._engine._load_rec_model()
        # PaddleOCR pads every line of a batch to at least 320 px (at height 48): a short
        # label (a 16x45 px crop becomes 48x135) then costs the network 2.4x its own width.
        # Padding only to the widest crop of the batch reads the same text at a fraction of
        # the cost (tune split: 0.064 vs 0.265 s of CPU for a frame's 6 smallest blobs).
        channels, height, _width = self._rec.rec_image_shape[:3]
        self._rec.rec_image_shape = [channels, height, max(height, crop_min_width)]
        from rapidocr.ch_ppocr_rec.typings import TextRecInput

        self._rec_input = TextRecInput
        self.det_model, self.rec_model = det.stem, source.stem

    def recognize_crops(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence) of each RGB crop (one text line each)."""
        if not crops:
            return []
        out = self._rec(self._rec_input(img=crops))
        return [(str(t), float(s)) for t, s in zip(out.txts, out.scores, strict=True)]

    def read_frame(self, rgb: np.ndarray) -> list[OcrWord]:
        """Detect + recognise a whole frame; words with boxes (lines split on spaces)."""
        result = self._engine(rgb, use_cls=False, return_word_box=True)
        words: list[OcrWord] = []
        if result.boxes is None or result.txts is None:
            return words
        word_results = getattr(result, "word_results", None) or ()
        for line, (poly, text, score) in enumerate(
                zip(result.boxes, result.txts, result.scores, strict=True)):
            per_word = word_results[line] if line < len(word_results) else ()
            if per_word:
                for wtext, wscore, wpoly in per_word:
                    if wpoly is None or not str(wtext).strip():
                        continue
                    words.append(OcrWord(str(wtext).strip(), _poly_box(wpoly), float(wscore),
                                         line))
            else:
                words.extend(split_line(str(text), _poly_box(poly), float(score), line))
        return words


def _poly_box(poly: object) -> tuple[int, int, int, int]:
    pts = np.asarray(poly, dtype=np.float32).reshape(-1, 2)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return (int(x0), int(y0), round(x1 - x0), round(y1 - y0))


def split_line(text: str, box: tuple[int, int, int, int], confidence: float,
               line: int) -> list[OcrWord]:
    """Splits a recognised line into words, boxes shared out by character count."""
    tokens = text.split()
    if not tokens:
        return []
    x, y, w, h = box
    total = sum(len(t) for t in tokens) + (len(tokens) - 1)
    words, pos = [], 0
    for tok in tokens:
        x0 = x + round(w * pos / total)
        x1 = x + round(w * (pos + len(tok)) / total)
        words.append(OcrWord(tok, (x0, y, max(1, x1 - x0), h), confidence, line))
        pos += len(tok) + 1
    return words
