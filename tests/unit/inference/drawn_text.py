"""Text drawn for the token tests: a page of black-on-white text and the OCR words a
reader would box on it (``page_and_words``, ``one_word``), in a font chosen per block
(``drawn_in``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from services.inference.cpu.engines import OcrWord


def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(f"/usr/share/fonts/truetype/{path}", size)


FONT = font("dejavu/DejaVuSans.ttf", 15)


@contextmanager
def drawn_in(face: ImageFont.FreeTypeFont) -> Iterator[None]:
    """Text drawn by the helpers below uses ``face`` inside the block."""
    global FONT
    saved, FONT = FONT, face
    try:
        yield
    finally:
        FONT = saved


def page_and_words(text: str, read: list[str]) -> tuple[np.ndarray, list[OcrWord]]:
    """``text`` drawn black on white; OCR words ``read`` with boxes of the substrings they
    stand for (found left to right in ``text``, as an OCR engine would box them)."""
    img = Image.new("L", (600, 40), 255)
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), text, font=FONT, fill=0)
    words, pos = [], 0
    for token in read:
        core = token.rstrip("!")  # a misread mark stands for the glyph drawn there
        start = text.index(core[:3], pos)
        end = start + len(core)
        x0 = 10 + FONT.getlength(text[:start])
        x_left, t, r, b = draw.textbbox((x0, 10), text[start:end], font=FONT)
        words.append(OcrWord(token, (int(x_left), int(t), int(r - x_left), int(b - t)), 0.9, 0))
        pos = end
    return np.asarray(img), words


def texts(words: list[OcrWord]) -> list[str]:
    return [w.text for w in words]


def one_word(text: str, read: str) -> tuple[np.ndarray, list[OcrWord]]:
    """``text`` drawn, read as the single word ``read`` boxed over all of its ink."""
    img = Image.new("L", (600, 40), 255)
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), text, font=FONT, fill=0)
    left, top, right, bottom = draw.textbbox((10, 10), text, font=FONT)
    return np.asarray(img), [OcrWord(read, (left, top, right - left, bottom - top), 0.9, 0)]


__all__ = ["FONT", "drawn_in", "font", "one_word", "page_and_words", "texts"]
