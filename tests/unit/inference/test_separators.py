"""Tokens whose separators Tesseract dropped, confirmed by PP-OCR (``cpu/separators``)."""

from __future__ import annotations

from services.inference.cpu.engines import OcrWord
from services.inference.cpu.separators import candidates, confirmed


def word(text: str, x: int, width: int, y: int = 10, height: int = 15) -> OcrWord:
    return OcrWord(text, (x, y, width, height), 0.9, 0)


def test_a_name_cut_before_its_extension_is_a_candidate_and_prose_is_not() -> None:
    line = [word("package-lock", 20, 73), word("json", 97, 24), word("12 KB", 200, 30)]
    found = candidates(line)
    assert [[w.text for w in c.words] for c in found] == [["package-lock", "json"]]
    assert found[0].box == (20, 10, 101, 15)
    # A space is wider than half the line: "Save as" "PDF" is two words, no candidate.
    assert candidates([word("Save", 0, 30), word("as", 40, 14), word("PDF", 70, 24)]) == []


def test_an_icon_read_before_a_name_starts_no_candidate() -> None:
    line = [word("e", 0, 8), word("requirementstxt", 12, 90)]
    assert [[w.text for w in c.words] for c in candidates(line)] == [["requirementstxt"]]
    assert candidates([word("parse", 0, 30)]) == []  # no extension glued on


def test_a_reading_confirms_only_added_separators() -> None:
    cut = (word("package-lock", 20, 73), word("json", 97, 24))
    assert confirmed(cut, "package-lock.json") == "package-lock.json"
    assert confirmed(cut, "packagelock.json") is None  # a letter differs: PP-OCR's guess
    assert confirmed(cut, "package-lock json") is None  # PP-OCR read a space
    glued = (word("Exportcsv", 0, 60),)
    assert confirmed(glued, "Export.csv") == "Export.csv"
    assert confirmed(glued, "Exportcsv") is None  # nothing to repair
    assert confirmed(glued, "Ex.portcsv") is None  # not before an extension
    # Case follows Tesseract; the dot PP-OCR saw is kept.
    assert confirmed((word("Payroll", 0, 46), word("JPG", 46, 14)), "payroll.jpg") \
        == "Payroll.JPG"


def test_a_cut_inside_a_name_joins_but_two_words_run_together_do_not() -> None:
    # Tesseract cut "module_contract.txt" inside a letter run, 1 px apart.
    parts = (word("modu", 0, 30), word("le_contract.txt", 31, 90))
    assert confirmed(parts, "module_contract.txt") == "module_contract.txt"
    # ... or a kerning gap apart (a quarter of the line's height), still less than a space.
    gap = round(0.25 * parts[0].box[3])
    parts = (word("modu", 0, 30), word("le_contract.txt", 30 + gap, 90))
    assert confirmed(parts, "module_contract.txt") == "module_contract.txt"
    # A separator at the cut joins whatever the gap.
    parts = (word("Thesis.", 0, 40), word("payroll.jpg", 46, 60))
    assert confirmed(parts, "Thesis.payroll.jpg") == "Thesis.payroll.jpg"
    # Two words a space apart that PP-OCR ran together stay two.
    parts = (word("Trash", 0, 34), word("notes.txt", 40, 56))
    assert confirmed(parts, "Trashnotes.txt") is None


def test_a_camel_case_word_ending_like_an_extension_is_no_candidate() -> None:
    assert candidates([word("parseJSON", 0, 60)]) == []
    assert [c.words[0].text for c in candidates([word("ReportCSV", 0, 60)])] == []
    assert [c.words[0].text for c in candidates([word("reportcsv", 0, 60)])] == ["reportcsv"]
