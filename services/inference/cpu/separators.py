"""File names whose separators Tesseract dropped, confirmed by a second engine.

The pixel repairs in ``tokens`` put a dropped dot back only where they can see it alone; at
9-12 px a serif font's dot touches the glyph beside it ("package-lock" "json", "Exportcsv"),
and the pixels cannot tell it from a foot serif. Such a token is re-read whole by the PP-OCR
recogniser and its reading taken only when it *confirms* Tesseract's: the same characters
(ignoring case), with nothing but separators (``.``, ``_``, ``-``) added where Tesseract cut
or glued, and ending in a file extension. PP-OCR's own misreads ("Tras.h") never pass, and
prose never becomes a token (PP-OCR reads a space between words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce

from services.inference.cpu.engines import OcrWord
from services.inference.cpu.tokens import EXTENSIONS, pair_height, union

_SEPARATORS = "._-"
# A word whose tail is an extension with no dot before it ("Exportcsv", "copyjson").
_GLUED = re.compile(r"^[A-Za-z0-9_-]*[A-Za-z0-9](" + "|".join(
    sorted((e for e in EXTENSIONS if len(e) >= 3), key=len, reverse=True)) + r")$",
    re.IGNORECASE)
# Tesseract's cut is closer than a space: at most this share of the line's height.
_MAX_GAP = 0.5
MIN_CONFIDENCE = 0.9
# A cut with no separator PP-OCR adds ("modu" "le_contract.txt") is a gap Tesseract made in a
# word: closer than a space, this share of the line's height.
_MAX_UNMARKED_CUT = 0.3


@dataclass(frozen=True)
class Candidate:
    """Adjacent words of one line, left to right, that may be one file name, and the box
    around them to read again."""

    words: tuple[OcrWord, ...]
    box: tuple[int, int, int, int]


def _extension(text: str) -> bool:
    tail = text.rsplit(".", 1)[-1].lower()
    return tail in EXTENSIONS


def _starts_name(text: str) -> bool:
    return len(text) >= 3 and (text[0].isalnum() or text[0] in "._")


def candidates(line: list[OcrWord]) -> list[Candidate]:
    """Runs of adjacent words (left to right, one line) closer than half the line's height
    whose last part is or ends in an extension ("Payroll" "JPG", "Demo_banner_inventory"
    ".h", "modu" "le_contract.txt"), and single words with an extension glued on without
    its dot."""
    out: list[Candidate] = []
    i = 0
    while i < len(line):
        run = [line[i]]
        # An icon beside a name reads as a mark or two ("e", "®0"): no name starts there.
        while _starts_name(line[i].text) and i + len(run) < len(line):
            a, b = run[-1], line[i + len(run)]
            if b.box[0] - (a.box[0] + a.box[2]) > _MAX_GAP * pair_height(a, b):
                break
            run.append(b)
        # The shortest run ending in an extension, from its first word.
        end = next((k for k in range(1, len(run)) if _extension(run[k].text)), None)
        if end is not None:
            parts = tuple(run[:end + 1])
            out.append(Candidate(parts, reduce(union, (w.box for w in parts))))
            i += end + 1
            continue
        w = line[i]
        glued = _GLUED.match(w.text) if "." not in w.text else None
        # "parseJSON" is a camelCase word, not a name with its dot dropped.
        if glued and not (glued.group(1).isupper() and w.text[glued.start(1) - 1].islower()):
            out.append(Candidate((w,), w.box))
        i += 1
    return out


def confirmed(parts: tuple[OcrWord, ...], reading: str) -> str | None:
    """The token ``reading`` spells when it is the parts' characters with only separators
    added at the cuts (for one glued word, one before its extension), ending in an extension
    and not prose: every cut is at a separator or closer than a space (three tenths of the
    line's height). Otherwise None. Case follows Tesseract's reading."""
    reading = reading.strip()
    if not reading or any(ch.isspace() for ch in reading) or not _extension(reading):
        return None
    text = "".join(w.text for w in parts)
    cuts = [sum(len(w.text) for w in parts[:k]) for k in range(1, len(parts))]
    got = _align(text, reading, set(cuts) if cuts else None)
    if got is None or (not cuts and got == text):
        return None
    added = 0
    for k, cut in enumerate(cuts):
        a, b = parts[k], parts[k + 1]
        at = cut + added
        while at < len(got) and got[at] in _SEPARATORS and got[at] not in b.text[:1]:
            added += 1  # a separator PP-OCR added at this cut
            at += 1
        beside = got[at - 1:at + 1]
        if not any(ch in _SEPARATORS for ch in beside) \
                and b.box[0] - (a.box[0] + a.box[2]) > _MAX_UNMARKED_CUT * pair_height(a, b):
            return None  # two words PP-OCR ran together
    return got


def _align(text: str, reading: str, cuts: set[int] | None) -> str | None:
    """``text`` with the separators ``reading`` adds, where it adds them only at ``cuts``
    (character offsets into ``text``; None = anywhere, at most once); None if ``reading``
    differs otherwise."""
    out: list[str] = []
    i = 0
    added = 0
    for ch in reading:
        if i < len(text) and ch.lower() == text[i].lower():
            out.append(text[i])
            i += 1
        elif ch in _SEPARATORS and (i in cuts if cuts is not None else added == 0) and i > 0:
            out.append(ch)
            added += 1
        else:
            return None
    return "".join(out) if i == len(text) else None


__all__ = ["MIN_CONFIDENCE", "Candidate", "candidates", "confirmed"]
