"""Look-alike characters Tesseract mistook in tokens that mix letters and digits, settled by a
second engine.

In an e-mail address, a version tag or a host name there is no dictionary to tell ``l`` from
``1`` or ``O`` from ``0``: Tesseract reads ``o_brienl1``, ``caroll2``, ``export-03.csv``,
``j.smithS@``, ``frank@1aptop``, and its confidence drops. Such a word, when Tesseract is
unsure of it, is read again by the PP-OCR recogniser, and its reading taken only where it
*differs by look-alikes alone*: the same length, and every character it changes is one of a
look-alike class of Tesseract's (``l`` for ``1``, never ``x`` for ``1``). PP-OCR's other
misreads never pass, and a word it reads otherwise keeps Tesseract's reading.
"""

from __future__ import annotations

import re

from services.inference.cpu.engines import OcrWord

# Characters either engine reads for another at 9-14 px (each class one look).
CLASSES = ("l1I|i!", "O0oQD", "S5s$", "B8", "Z2z", "G6@", "g9q", "IJ")
# And one way only: PP-OCR reads a terminal font's dots as commas ("li,wei@corp,example").
_ONE_WAY = {(",", ".")}
# Every character some look-alike may replace.
_ALIKE_CHARS = frozenset("".join(CLASSES)) | {a for a, _b in _ONE_WAY}
# A token where letters and digits meet, or an address.
_MIXED = re.compile(r"\d.*[A-Za-z]|[A-Za-z].*\d|@")
# Tesseract is sure of most words it reads right (tune split: 9 in 10 of the mixed tokens it
# misread stood below this, a third of those it read right).
MAX_CONFIDENCE = 0.9
# Letters (and marks) that stand for a digit, and the other way round.
_LETTER_ALIKES = frozenset("lI|i!OoQDSs$BZzGg@q,")
# PP-OCR's own look-alike slips ("1ocalhost", "0_brien") come at 0.97-0.99; its right
# readings of such tokens at 0.99 and above (tune split).
MIN_READING_CONFIDENCE = 0.99


def _alike(a: str, b: str) -> bool:
    """Whether ``b`` may stand for Tesseract's ``a``."""
    return (a, b) in _ONE_WAY or any(a in c and b in c for c in CLASSES)


def candidates(words: list[OcrWord], limit: int, columns: int = 0) -> list[OcrWord]:
    """Up to ``limit`` mixed tokens Tesseract is unsure of, the least sure first, within
    ``columns`` PP-OCR input columns (48 * width / height a crop; 0 = no limit): a long
    token costs the recogniser more than its width, its attention spans the whole line."""
    found = [w for w in words if len(w.text) >= 3 and w.confidence < MAX_CONFIDENCE
             and _MIXED.search(w.text) and any(ch in _ALIKE_CHARS for ch in w.text)]
    out = []
    for w in sorted(found, key=lambda w: (not _suspect(w.text), w.confidence))[:limit]:
        cost = 48 * w.box[2] / max(1, w.box[3])
        if columns > 0:
            if cost > columns:
                continue
            columns -= cost
        out.append(w)
    return out


def _suspect(text: str) -> bool:
    """An address, or a letter look-alike beside a digit ("l1", "S@", "2G"): where the
    misreads are, read first."""
    return "@" in text or any(
        ch in _LETTER_ALIKES and any(0 <= j < len(text) and text[j].isdigit()
                                     for j in (i - 1, i + 1))
        for i, ch in enumerate(text))


def settled(text: str, reading: str) -> str | None:
    """``text`` with the look-alikes ``reading`` puts in their place, or None when the two
    differ in anything else (length, a space, one character for an unlike one) or not at
    all. Where they differ only in case, ``text`` keeps its own. One glyph Tesseract read
    twice ("o_brienl17": the "1" as "l1") may go, where ``reading`` has it once."""
    reading = reading.strip()
    if any(ch.isspace() for ch in reading) or reading == text:
        return None
    if len(reading) == len(text) - 1:
        for k in range(len(text)):
            # Two different look-alikes side by side ("l1"); a double letter ("ll") is no
            # glyph read twice, and PP-OCR's own slip is to read it once.
            twice = any(0 <= j < len(text) and text[k] != text[j] and _alike(text[k], text[j])
                        for j in (k - 1, k + 1))
            if twice:
                once = _substituted(text[:k] + text[k + 1:], reading)
                if once is not None:
                    return once
        return None
    if len(reading) != len(text):
        return None
    got = _substituted(text, reading)
    return got if got is not None and got != text else None


def _substituted(text: str, reading: str) -> str | None:
    """``text`` with ``reading``'s look-alikes at the same places; None if anything else
    differs (the lengths are equal)."""
    out = []
    for a, b in zip(text, reading, strict=True):
        if a.lower() == b.lower():
            out.append(a)
        elif _alike(a, b):
            out.append(b)
        else:
            return None
    return "".join(out)


__all__ = ["CLASSES", "MAX_CONFIDENCE", "MIN_READING_CONFIDENCE", "candidates", "settled"]
