"""lookalikes: PP-OCR's reading settles look-alike characters in mixed tokens Tesseract is
unsure of, and nothing else; and the backend reads such a token right end to end."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from services.inference.cpu import lookalikes
from services.inference.cpu.backend import CpuBackend, CpuOptions
from services.inference.cpu.engines import OcrWord


@pytest.mark.parametrize(("tesseract", "pp_ocr", "expected"), [
    ("o_brienl1@example.com", "o_brien11@example.com", "o_brien11@example.com"),
    ("caroll2@corp.example.io", "carol12@corp.example.io", "carol12@corp.example.io"),
    ("j.smithS@example.org", "j.smith5@example.org", "j.smith5@example.org"),
    ("eve29Gexample.org", "eve29@example.org", "eve29@example.org"),
    ("Table.v3.IPG", "Table.v3.JPG", "Table.v3.JPG"),
    ("http://192,168,1,20:3000", "http://192.168.1.20:3000", "http://192.168.1.20:3000"),
    # Case alone: Tesseract's stays (a changed case is no look-alike fix).
    ("Report-Q4.xlsx", "report-Q4.XLSX", None),
    # A dot never becomes a comma: PP-OCR reads a terminal font's dots so.
    ("li.wei@corp.example.io", "li,wei@corp,example,io", None),
    # Anything but look-alikes: not taken.
    ("budget-2023.ods", "budget-2028.ods", None),
    ("o_brien17@mail.net", "o_brien7@mail.net", None),
    # One glyph read as two look-alikes ("1" as "l1") goes; a double letter stays.
    ("o_brienl17@mail.net", "o_brien17@mail.net", "o_brien17@mail.net"),
    ("hello2@mail.net", "helo2@mail.net", None),
    ("v2.tar.gz", "v2.tar gz", None),
    ("eve29@example.org", "eve29@example.org", None),
])
def test_settled_takes_look_alikes_only(tesseract: str, pp_ocr: str,
                                        expected: str | None) -> None:
    assert lookalikes.settled(tesseract, pp_ocr) == expected


def _word(text: str, confidence: float) -> OcrWord:
    return OcrWord(text, (0, 0, 10 * len(text), 12), confidence, 0)


def test_candidates_are_unsure_mixed_tokens_suspects_first_then_least_sure() -> None:
    words = [_word("caroll2@corp.io", 0.6), _word("Settings", 0.2), _word("v2.1", 0.95),
             _word("o_brienl1@x.com", 0.1), _word("2023", 0.3), _word("export-03.csv", 0.05),
             _word("build-l2.log", 0.8)]
    # Addresses and a letter look-alike beside a digit first; the rest by confidence.
    assert [w.text for w in lookalikes.candidates(words, 8)] == [
        "o_brienl1@x.com", "caroll2@corp.io", "build-l2.log", "export-03.csv"]
    assert [w.text for w in lookalikes.candidates(words, 1)] == ["o_brienl1@x.com"]
    # Within a budget of PP-OCR columns (48 * width / height each: 150 * 4 = 600 here).
    assert [w.text for w in lookalikes.candidates(words, 8, columns=1300)] == [
        "o_brienl1@x.com", "caroll2@corp.io"]


def test_an_address_whose_1_tesseract_reads_as_l_is_read_right(backend: CpuBackend) -> None:
    # DejaVu Sans at 12 px, light on black: Tesseract reads "caroll2" for "carol12" here.
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 12)
    img = Image.new("RGB", (360, 40), (0, 0, 0))
    ImageDraw.Draw(img).text((8, 12), "carol12@corp.example.io", font=font,
                             fill=(220, 220, 220))
    rgb = np.asarray(img)
    texts = [r.text for r in backend.detect(rgb, use_cache=False)]
    # The same backend with the step turned off (options are read at every call).
    backend.options.max_lookalike_crops = 0
    try:
        before = [r.text for r in backend.detect(rgb, use_cache=False)]
    finally:
        backend.options.max_lookalike_crops = CpuOptions().max_lookalike_crops
    assert before == ["caroll2@corp.example.io"]  # what this test is about still happens
    assert texts == ["carol12@corp.example.io"]
