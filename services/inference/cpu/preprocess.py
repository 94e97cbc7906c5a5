"""UI-screenshot preprocessing for OCR: find text-like blobs, normalise each to dark-on-light.

Screens mix polarities (dark themes, white labels on blue primary buttons, selected rows) and
draw boxes around text (buttons, fields, cards). Tesseract expects dark text on a plain light
page and loses labels inside boxes. We therefore:

1. take the morphological top-hats of the grey image (thin dark and thin bright features,
   i.e. glyph strokes; large flat fills such as button backgrounds vanish),
2. drop long straight runs (box borders, separators),
3. merge the remaining ink into word/line blobs (connected components after a horizontal
   dilation), keeping blobs shaped like text,
4. paint every blob onto a white page, contrast-stretched so its ink is black, whichever
   polarity it had (decided per blob from its median = its background).

The blobs double as a cheap text detector: regions the OCR pass leaves uncovered are the
candidates the accurate recogniser looks at.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_STROKE_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
_HLINE_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (35, 1))
_VLINE_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (1, 23))
_MERGE_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 3))
INK_THRESHOLD = 28


@dataclass(frozen=True)
class Blob:
    """A text-like region: (x, y, width, height) in the preprocessed image's pixels."""

    x: int
    y: int
    width: int
    height: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.width, self.height)


@dataclass
class Prepared:
    page: np.ndarray  # uint8 grey, dark text on white
    blobs: list[Blob]


def to_gray(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def stroke_maps(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thin dark and thin bright features (black-hat, top-hat): glyphs of either polarity."""
    return (cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, _STROKE_KERNEL),
            cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, _STROKE_KERNEL))


def find_blobs(gray: np.ndarray, maps: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[list[Blob], np.ndarray]:
    """Text-like blobs of a grey image and the ink mask they come from. ``maps`` are the
    stroke maps when something else (the Core ML detector) computed them."""
    ink = np.zeros_like(gray)
    # Each polarity separately: in their union the gaps between letters light up too, and a
    # text line would look like a long horizontal run.
    for strokes in maps if maps is not None else stroke_maps(gray):
        mask = (strokes > INK_THRESHOLD).astype(np.uint8)
        lines = cv2.bitwise_or(cv2.morphologyEx(mask, cv2.MORPH_OPEN, _HLINE_KERNEL),
                               cv2.morphologyEx(mask, cv2.MORPH_OPEN, _VLINE_KERNEL))
        mask[cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0] = 0
        _drop_isolated_uprights(mask)
        ink |= mask
    ink *= 255
    merged = cv2.dilate(ink, _MERGE_KERNEL)
    n, _, stats, _ = cv2.connectedComponentsWithStats(merged, connectivity=8)
    blobs = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        # Text: a few pixels to a few dozen tall, not a lone speck. (Bold digits merge into
        # solid blocks, so fill ratio says nothing; flat fills never reach here anyway.)
        if h < 5 or h > 80 or w < 3 or area < 12:
            continue
        blobs.append(Blob(x, y, w, h))
    return blobs, ink


def _drop_isolated_uprights(ink: np.ndarray, reach: int = 3) -> None:
    """Removes thin, tall marks with no ink of the same polarity beside them: short box sides
    the line filter cannot see and the narrow strips of background between two buttons. A
    glyph like "l" has neighbours in its word; a box side stands alone (its label is at least
    the box's padding away)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    width = ink.shape[1]
    for i in range(1, n):
        x, y, w, h, _area = (int(v) for v in stats[i])
        if w > 9 or h < 10:
            continue
        y0, y1 = y, y + h
        left = ink[y0:y1, max(0, x - reach):x]
        right = ink[y0:y1, x + w:min(width, x + w + reach)]
        if not left.any() and not right.any():
            ink[labels == i] = 0


def prepare(rgb: np.ndarray, pad: int = 3,
            maps: tuple[np.ndarray, np.ndarray] | None = None) -> Prepared:
    """The normalised page (blobs painted black-on-white) and the blobs."""
    gray = to_gray(rgb)
    blobs, _ = find_blobs(gray, maps)
    page = np.full_like(gray, 255)
    height, width = gray.shape
    for b in blobs:
        x0, y0 = max(0, b.x - pad), max(0, b.y - pad)
        x1, y1 = min(width, b.x + b.width + pad), min(height, b.y + b.height + pad)
        crop = gray[y0:y1, x0:x1].astype(np.int32)
        bg = int(np.median(crop))
        lo, hi = int(crop.min()), int(crop.max())
        # Polarity: the ink is whatever lies farthest from the background level.
        if bg - lo >= hi - bg:
            span = max(bg - lo, 1)
            norm = (crop - lo) * 255 // span
        else:
            span = max(hi - bg, 1)
            norm = (hi - crop) * 255 // span
        norm = np.clip(norm, 0, 255).astype(np.uint8)
        page[y0:y1, x0:x1] = np.minimum(page[y0:y1, x0:x1], norm)
    return Prepared(page=page, blobs=blobs)
