"""FindText matching over recognised words: modes, whole words, phrases, order, offsets."""

from __future__ import annotations

from services.inference.backends.base import Rect, TextRegion
from services.inference.matching import MatchOptions, Mode, find, group_lines


def word(text: str, x: int, y: int, w: int | None = None, h: int = 14,
         conf: float = 0.95) -> TextRegion:
    return TextRegion(text, Rect(x, y, w or 8 * len(text), h), conf)


# A menu bar, a dialog line with two buttons, and a paragraph.
WORDS = [
    word("File", 10, 10), word("Edit", 60, 10), word("Saved", 110, 10),
    word("Save", 300, 200), word("As", 336, 200), word("Cancel", 420, 200),
    word("Unsaved", 10, 300), word("changes", 74, 300), word("will", 138, 300),
    word("be", 174, 300), word("lost.", 194, 300),
]


def texts(matches) -> list[str]:
    return [m.region.text for m in matches]


def test_case_insensitive_is_the_default_and_ignores_case() -> None:
    got = find(WORDS, "file", MatchOptions())
    assert texts(got) == ["File"]
    assert got[0].score == 1.0


def test_exact_is_case_sensitive() -> None:
    assert find(WORDS, "file", MatchOptions(mode=Mode.EXACT)) == []
    assert texts(find(WORDS, "File", MatchOptions(mode=Mode.EXACT))) == ["File"]


def test_equality_modes_do_not_match_part_of_a_word() -> None:
    assert texts(find(WORDS, "save", MatchOptions())) == ["Save"]


def test_contains_matches_inside_words_best_first() -> None:
    got = find(WORDS, "save", MatchOptions(mode=Mode.CONTAINS))
    # "Save" equals the query (score 1) and comes before "Saved" and "Unsaved".
    assert texts(got)[0] == "Save"
    assert set(texts(got)) == {"Save", "Saved", "Unsaved"}
    assert [m.score for m in got] == sorted((m.score for m in got), reverse=True)


def test_contains_whole_word_rejects_parts_of_words() -> None:
    got = find(WORDS, "save", MatchOptions(mode=Mode.CONTAINS, whole_word=True))
    assert texts(got) == ["Save"]


def test_multi_word_query_matches_adjacent_words_with_union_box_and_centre() -> None:
    got = find(WORDS, "Save As", MatchOptions())
    assert len(got) == 1
    m = got[0]
    assert m.region.text == "Save As"
    assert (m.region.box.x, m.region.box.right) == (300, 336 + 16)
    assert m.center == (300 + (352 - 300) // 2, 200 + 7)


def test_words_on_different_lines_do_not_form_a_phrase() -> None:
    assert find(WORDS, "Saved Save", MatchOptions()) == []
    assert find(WORDS, "lost. Save", MatchOptions(mode=Mode.CONTAINS)) == []


def test_fuzzy_tolerates_ocr_errors_and_respects_the_threshold() -> None:
    noisy = [word("Cance1", 10, 10), word("Subrnit", 100, 10)]
    got = find(noisy, "Cancel", MatchOptions(mode=Mode.FUZZY))
    assert texts(got) == ["Cance1"]
    assert 0.8 <= got[0].score < 1.0
    assert find(noisy, "Cancel", MatchOptions(mode=Mode.FUZZY, min_similarity=0.95)) == []
    assert texts(find(noisy, "submit", MatchOptions(mode=Mode.FUZZY, min_similarity=0.7))) \
        == ["Subrnit"]


def test_fuzzy_whole_word_compares_the_whole_candidate() -> None:
    long = [word("Preferences", 10, 10)]
    assert find(long, "Pref", MatchOptions(mode=Mode.FUZZY)) != []
    assert find(long, "Pref", MatchOptions(mode=Mode.FUZZY, whole_word=True)) == []


def test_trailing_punctuation_from_ocr_is_tolerated_with_a_lower_score() -> None:
    got = find([word("Name:", 10, 10)], "Name", MatchOptions())
    assert texts(got) == ["Name:"]
    assert got[0].score < 1.0


def test_max_results_and_order_best_then_reading_order() -> None:
    # Confidence does not reorder equal scores: reading order does (top to bottom).
    many = [word("OK", 10 + 100 * i, 400 - 50 * i, conf=0.5 + i / 20) for i in range(8)]
    got = find(many, "ok", MatchOptions(max_results=3))
    assert [m.region.box.y for m in got] == [50, 100, 150]


def test_every_occurrence_is_returned_by_score_then_reading_order() -> None:
    # "budget.ods" in a file list twice, once with OCR-glued punctuation (lower score), and
    # two on one line slightly out of vertical alignment: left comes first.
    regions = [word("budget.ods", 400, 101), word("budget.ods", 10, 100),
               word("(budget.ods)", 10, 40), word("budget.ods", 10, 200),
               word("budget.odt", 10, 300)]
    got = find(regions, "budget.ods", MatchOptions(mode=Mode.EXACT))
    assert [(m.region.box.x, m.region.box.y) for m in got] == [
        (10, 100), (400, 101), (10, 200), (10, 40)]
    assert [m.score for m in got] == [1.0, 1.0, 1.0, 0.98]


FILES = [word("budget.ods", 10, 10), word("Budget-2024_final.tar.gz", 10, 40),
         word("/home/ann/budget.ods", 10, 70), word("ann@example.org", 10, 100),
         word("budget:", 10, 130), word("README.md", 10, 160)]


def test_tokens_with_punctuation_in_equality_modes() -> None:
    assert texts(find(FILES, "budget.ods", MatchOptions(mode=Mode.EXACT))) == ["budget.ods"]
    assert find(FILES, "Budget.ods", MatchOptions(mode=Mode.EXACT)) == []
    assert texts(find(FILES, "BUDGET.ODS", MatchOptions())) == ["budget.ods"]
    assert texts(find(FILES, "readme.md", MatchOptions())) == ["README.md"]
    assert texts(find(FILES, "ann@example.org", MatchOptions(mode=Mode.EXACT))) \
        == ["ann@example.org"]
    # Equality never matches part of a token.
    assert texts(find(FILES, "budget", MatchOptions())) == ["budget:"]


def test_contains_finds_a_name_inside_file_names_and_paths() -> None:
    got = texts(find(FILES, "budget", MatchOptions(mode=Mode.CONTAINS)))
    assert set(got) == {"budget.ods", "Budget-2024_final.tar.gz", "/home/ann/budget.ods",
                        "budget:"}
    assert set(texts(find(FILES, "budget.ods", MatchOptions(mode=Mode.CONTAINS)))) == {
        "budget.ods", "/home/ann/budget.ods"}


def test_whole_word_treats_dots_dashes_underscores_as_part_of_a_token() -> None:
    ww = MatchOptions(mode=Mode.CONTAINS, whole_word=True)
    # "budget" is not a whole token of budget.ods / Budget-2024_final.tar.gz.
    assert texts(find(FILES, "budget", ww)) == ["budget:"]
    # ...but budget.ods is one in a path ("/" separates tokens).
    assert set(texts(find(FILES, "budget.ods", ww))) == {"budget.ods", "/home/ann/budget.ods"}
    assert texts(find(FILES, "example.org", ww)) == []
    assert texts(find(FILES, "ann", ww)) == ["/home/ann/budget.ods"]
    assert texts(find([word("Saved.", 10, 10)], "saved", ww)) == ["Saved."]


def test_centres_are_in_whole_image_coordinates() -> None:
    offset = [TextRegion("Submit", Rect(1000, 700, 60, 20), 0.9)]
    (m,) = find(offset, "submit", MatchOptions())
    assert m.center == (1030, 710)


def test_group_lines_orders_words_and_splits_at_wide_gaps() -> None:
    rows = [[r.text for r in row] for row in group_lines(list(reversed(WORDS)))]
    assert rows[0] == ["File", "Edit", "Saved"]
    # Two buttons side by side are not one phrase: "As" and "Cancel" are far apart.
    assert ["Save", "As"] in rows and ["Cancel"] in rows
    assert find(WORDS, "As Cancel", MatchOptions()) == []
