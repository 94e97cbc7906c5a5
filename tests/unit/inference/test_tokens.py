"""Token repairs of the CPU backend, on rendered text (the pixels decide, not the strings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFont

from services.inference.cpu.engines import OcrWord
from services.inference.cpu.tokens import repair
from tests.unit.inference.drawn_text import drawn_in, font, one_word, page_and_words, texts

DATA = Path(__file__).parent / "data"


def test_a_dropped_dot_or_underscore_rejoins_the_token() -> None:
    page, words = page_and_words("payroll.iso", ["payroll", "iso"])
    assert texts(repair(words, page)) == ["payroll.iso"]
    page, words = page_and_words("Slides_final.xlsx", ["Slides", "final.xlsx"])
    assert texts(repair(words, page)) == ["Slides_final.xlsx"]


def test_a_thin_serifs_foot_beside_a_gap_is_no_dot() -> None:
    # A real normalised page (a light table, DejaVu Serif 11 px, greyscale antialiasing):
    # "932.8" then "M..." whose box Tesseract put 5 px right of the M. The M's 1 px stem is
    # lighter than INK_LEVEL, so its foot serif alone is a small low mark in the gap.
    page = np.asarray(Image.open(DATA / "thin_serif_m.png").convert("L"))
    words = [OcrWord("932.8", (5, 8, 31, 8), 0.95, 0), OcrWord("MP", (45, 6, 16, 15), 0.96, 0)]
    assert texts(repair(words, page)) == ["932.8", "MP"]
    # And a size's unit is never glued on with a dot, whatever the pixels.
    words[1] = OcrWord("MB", words[1].box, 0.96, 0)
    assert texts(repair(words, page)) == ["932.8", "MB"]


def test_prose_words_stay_apart() -> None:
    page, words = page_and_words("Save the report now", ["Save", "the", "report", "now"])
    assert texts(repair(words, page)) == ["Save", "the", "report", "now"]
    page, words = page_and_words("Saved. Next one", ["Saved.", "Next", "one"])
    assert texts(repair(words, page)) == ["Saved.", "Next", "one"]


def test_a_size_glued_to_its_unit_is_split_at_the_space_with_boxes() -> None:
    page, words = page_and_words("505.4 GB", ["505.4GB"])
    (whole,) = words
    got = repair(words, page)
    assert texts(got) == ["505.4", "GB"]
    assert got[0].box[0] == whole.box[0] and got[1].box[0] > got[0].box[0] + got[0].box[2]
    page, words = page_and_words("91KB", ["91KB"])  # no space drawn: left alone
    assert texts(repair(words, page)) == ["91KB"]


def test_a_monospaced_decimal_point_is_no_space_before_a_unit() -> None:
    # Its dot leaves the widest gaps of the word, where the unit's space would be.
    with drawn_in(font("liberation/LiberationMono-Regular.ttf", 12)):
        for text in ("-19.0%", "+81.8%", "12.5MB"):
            page, words = one_word(text, text)
            assert texts(repair(words, page)) == [text]
        page, words = page_and_words("12.5 MB", ["12.5MB"])  # a real space still cuts
        assert texts(repair(words, page)) == ["12.5", "MB"]


def test_confused_extensions_are_mapped_back_and_other_words_are_not() -> None:
    page, words = page_and_words("index.html config.toml Client.xlsx Hello!",
                                 ["index.htm!", "config.tom!", "Client.xisx", "Hello!"])
    assert texts(repair(words, page)) == ["index.html", "config.toml", "Client.xlsx", "Hello!"]
    page, words = page_and_words("sales.tar.gz data.csv db.sql", ["sales.tar.qz", "data.csy",
                                                                  "db.sqI"])
    assert texts(repair(words, page)) == ["sales.tar.gz", "data.csv", "db.sql"]


def test_monospaced_times_and_names_rejoin_at_the_colon_and_dot() -> None:
    with drawn_in(font("dejavu/DejaVuSansMono.ttf", 14)):
        page, words = page_and_words("13:59 slides.final.rs", ["13", "59", "slides",
                                                               "final.rs"])
        assert texts(repair(words, page)) == ["13:59", "slides.final.rs"]


def _mono(size: int) -> ImageFont.FreeTypeFont:
    return font("noto/NotoSansMono-Regular.ttf", size)


def test_a_time_split_into_two_tesseract_lines_rejoins_and_its_letters_become_digits() -> None:
    with drawn_in(_mono(12)):
        page, words = page_and_words("01:56 291.3", ["01", "56", "291", "3"])
        # Sparse-text mode puts each part on a line of its own; a dotted zero read "e".
        words = [OcrWord("e1" if w.text == "01" else w.text, w.box, w.confidence, i)
                 for i, w in enumerate(words)]
        assert texts(repair(words, page)) == ["01:56", "291.3"]


def test_a_comma_is_not_taken_for_a_dot_before_a_number() -> None:
    page, words = page_and_words("items, 540.7", ["items,", "540.7"])
    assert texts(repair(words, page)) == ["items,", "540.7"]


def test_a_dot_dropped_inside_a_word_before_an_extension_is_put_back() -> None:
    page, words = page_and_words("Table.js requirements.txt", ["Table.js", "requirements.txt"])
    words = [OcrWord(w.text.replace(".", ""), w.box, w.confidence, w.line) for w in words]
    assert texts(repair(words, page)) == ["Table.js", "requirements.txt"]
    # No dot drawn: a word that merely ends like an extension stays as it is.
    page, words = page_and_words("Tablejs package-lock", ["Tablejs", "package-lock"])
    assert texts(repair(words, page)) == ["Tablejs", "package-lock"]


def test_an_icon_read_before_a_file_name_is_dropped_but_addresses_stay() -> None:
    page, words = page_and_words("e@config-utils.xlsx ann@example.org",
                                 ["e@config-utils.xlsx", "ann@example.org"])
    got = repair(words, page)
    assert texts(got) == ["config-utils.xlsx", "ann@example.org"]
    assert got[0].box[0] > words[0].box[0]


def test_a_word_boxed_over_the_next_one_after_a_separator_rejoins() -> None:
    # Tesseract boxes "new_copy." a cell too wide in monospaced fonts, over "js".
    page, words = page_and_words("new_copy.js", ["new_copy.", "js"])
    first, second = words
    x, y, w, h = first.box
    words = [OcrWord(first.text, (x, y, w + second.box[2] // 2 + 4, h), 0.9, 0), second]
    assert texts(repair(words, page)) == ["new_copy.js"]
    # Overlapping boxes without a separator are two words Tesseract boxed loosely.
    page, words = page_and_words("Open files", ["Open", "files"])
    first, second = words
    x, y, w, h = first.box
    words = [OcrWord(first.text, (x, y, w + 8, h), 0.9, 0), second]
    assert texts(repair(words, page)) == ["Open", "files"]


def test_a_hyphen_read_at_a_word_end_rejoins_but_a_spaced_dash_does_not() -> None:
    page, words = page_and_words("Test-thesis-archive.csv", ["Test", "-thesis-archive.csv"])
    assert texts(repair(words, page)) == ["Test-thesis-archive.csv"]
    page, words = page_and_words("sample-forecast.json", ["sample-", "forecast.json"])
    assert texts(repair(words, page)) == ["sample-forecast.json"]
    page, words = page_and_words("notes.txt - Files", ["notes.txt", "-", "Files"])
    assert texts(repair(words, page)) == ["notes.txt", "-", "Files"]
    page, words = page_and_words("run -v now", ["run", "-v", "now"])
    assert texts(repair(words, page)) == ["run", "-v", "now"]


def test_a_path_glued_to_the_token_before_it_is_cut_at_the_space() -> None:
    page, words = one_word("parser.txt /var/log/syslog", "parser.txt/var/log/syslog")
    got = repair(words, page)
    assert texts(got) == ["parser.txt", "/var/log/syslog"]
    assert got[0].box[0] + got[0].box[2] < got[1].box[0]
    page, words = one_word("19:59 ~/notes/plan.md", "19:59~/notes/plan.md")
    assert texts(repair(words, page)) == ["19:59", "~/notes/plan.md"]
    # No space drawn: a path's own steps and a date stay whole.
    for text in ("/home/ann/Pictures/report", "01/05/2019", "docs/report.pdf"):
        page, words = one_word(text, text)
        assert texts(repair(words, page)) == [text]


def test_a_bar_read_before_a_path_is_dropped() -> None:
    page, words = one_word("/home/frank/notes", "|/home/frank/notes")
    assert texts(repair(words, page)) == ["/home/frank/notes"]
    page, words = one_word("|a|b|", "|a|b|")
    assert texts(repair(words, page)) == ["|a|b|"]


def test_a_dot_files_dot_read_as_a_dash_is_put_back_and_a_real_dash_stays() -> None:
    page, words = one_word(".gitignore", "-gitignore")
    assert texts(repair(words, page)) == [".gitignore"]
    page, words = one_word("-verbose", "-verbose")
    assert texts(repair(words, page)) == ["-verbose"]


def test_a_file_mode_read_with_look_alikes_snaps_to_its_places() -> None:
    page, words = one_word("-rw------- drwxr-xr-x", "-IW-------")
    assert texts(repair(words[:1], page)) == ["-rw-------"]
    for text in ("-rw-r--r--", "Hello-World", "-IWXIWXIWX"):  # right, not a mode, all wrong
        page, words = one_word(text, text)
        assert texts(repair(words, page)) == [text]
    page, words = one_word("drwxr-xr-x", "druxr-xr-x")  # a terminal's w read as u
    assert texts(repair(words, page)) == ["drwxr-xr-x"]


def test_a_file_mode_cut_before_its_run_of_dashes_rejoins() -> None:
    with drawn_in(font("dejavu/DejaVuSansMono.ttf", 14)):
        page, words = page_and_words("-rw------- 1 ann", ["-rw", "-------", "1", "ann"])
    # Tesseract boxes the run of dashes only as tall as a dash, and is unsure of "-Tw".
    words[0] = OcrWord("-Tw", words[0].box, 0.26, 0)
    assert texts(repair(words, page)) == ["-rw-------", "1", "ann"]
    # Two modes a space apart stay two.
    with drawn_in(font("dejavu/DejaVuSansMono.ttf", 14)):
        page, words = page_and_words("-rw ------- x", ["-rw", "-------", "x"])
    assert texts(repair(words, page)) == ["-rw", "-------", "x"]


def test_a_shell_prompt_stays_whole_and_rejoins_after_its_host() -> None:
    with drawn_in(font("dejavu/DejaVuSansMono.ttf", 14)):
        page, words = one_word("ann@devbox:~/src$", "ann@devbox:~/src$")
        assert texts(repair(words, page)) == ["ann@devbox:~/src$"]
        page, words = page_and_words("ann@devbox:~/src$", ["ann@devbox:", "~/src$"])
        assert texts(repair(words, page)) == ["ann@devbox:~/src$"]
        page, words = page_and_words("Path: ~/src", ["Path:", "~/src"])
        assert texts(repair(words, page)) == ["Path:", "~/src"]


def test_terminal_marks_are_read_back_from_their_shapes() -> None:
    page, words = one_word("example.com", "example,com")
    assert texts(repair(words, page)) == ["example.com"]
    page, words = one_word("red,green", "red,green")  # a real comma: its tail hangs low
    assert texts(repair(words, page)) == ["red,green"]
    page, words = one_word("19:19", "19319")
    assert texts(repair(words, page)) == ["19:19"]
    page, words = one_word("19319", "19319")
    assert texts(repair(words, page)) == ["19319"]
    page, words = one_word("https://x.org", "https3//x.org")
    assert texts(repair(words, page)) == ["https://x.org"]


def test_more_terminal_marks_a_root_slash_and_a_comma_before_an_extension() -> None:
    page, words = one_word("/home/carol/Music", "fhome/carol/Music")
    assert texts(repair(words, page)) == ["/home/carol/Music"]
    page, words = one_word("fhomework", "fhomework")  # no path: a word stays
    assert texts(repair(words, page)) == ["fhomework"]
    page, words = one_word("/var/log/syslog", "Ivar/log/syslog")  # a field's sans font
    assert texts(repair(words, page)) == ["/var/log/syslog"]
    page, words = one_word("/home/carol/Desktop", "/nome/carol/Desktop")
    assert texts(repair(words, page)) == ["/home/carol/Desktop"]
    page, words = one_word("Images/photo.png", "Images/photo.png")  # not a root
    assert texts(repair(words, page)) == ["Images/photo.png"]
    page, words = one_word("ann@devbox:~$", "ann@devbox:\u201c$")
    assert texts(repair(words, page)) == ["ann@devbox:~$"]
    page, words = page_and_words("table.js", ["table,", "js"])
    assert texts(repair(words, page)) == ["table.js"]
    page, words = page_and_words("red, js", ["red,", "js"])  # a real comma, then a space
    assert texts(repair(words, page)) == ["red,", "js"]
    # A name ending in an extension after the comma, its own dots still read as commas.
    page, words = page_and_words("Letter.index.iso", ["Letter,", "index,iso"])
    assert texts(repair(words, page)) == ["Letter.index.iso"]


def test_a_comma_word_boxed_far_over_the_extension_still_shows_its_dot() -> None:
    # Tesseract's box of "scan," reaching two characters into "log": in proportion to that
    # box the dot's place falls on "l", not on the dot.
    page, words = page_and_words("project_scan.log", ["project_scan,", "log"])
    comma, ext = words
    x, y, w, h = comma.box
    reach = ext.box[0] + ext.box[2] // 2 - (x + w)
    words = [OcrWord(comma.text, (x, y, w + reach, h), 0.9, 0), ext]
    assert texts(repair(words, page)) == ["project_scan.log"]


def test_a_monospaced_underscore_filling_its_cell_rejoins_the_name() -> None:
    with drawn_in(font("dejavu/DejaVuSansMono.ttf", 14)):
        page, words = page_and_words("o_brien notes_backup", ["o", "brien", "notes",
                                                              "backup"])
        # As Tesseract boxes them: the dropped underscore inside the next word's box.
        for i in (1, 3):
            prev, word = words[i - 1], words[i]
            x = prev.box[0] + prev.box[2] + 1
            words[i] = OcrWord(word.text, (x, word.box[1], word.box[0] + word.box[2] - x,
                                           word.box[3]), 0.9, 0)
        assert texts(repair(words, page)) == ["o_brien", "notes_backup"]


def test_a_second_at_sign_between_digits_is_a_dotted_zero() -> None:
    page, words = one_word("ann@build-01:~$", "ann@build-@1:~$")
    assert texts(repair(words, page)) == ["ann@build-01:~$"]
    page, words = one_word("ann@build-1", "ann@build-1")
    assert texts(repair(words, page)) == ["ann@build-1"]


def test_numbers_cut_at_a_monospaced_colon_or_group_comma_rejoin() -> None:
    with drawn_in(font("croscore/Cousine-Regular.ttf", 10)):
        page, words = page_and_words("14:57", ["14", "57"])
        assert texts(repair(words, page)) == ["14:57"]
        page, words = page_and_words("23,629 $5,927.32", ["23,", "629", "$5,", "927.32"])
        assert texts(repair(words, page)) == ["23,629", "$5,927.32"]
        page, words = page_and_words("23, and 629", ["23,", "and", "629"])
        assert texts(repair(words, page)) == ["23,", "and", "629"]
        # The colon read with the hours, the minutes a cell away: one time; a space after
        # the colon keeps them apart.
        page, words = page_and_words("22:03 10:15:07", ["22:", "03", "10:15:", "07"])
        assert texts(repair(words, page)) == ["22:03", "10:15:07"]
        page, words = page_and_words("at 10: 45 left", ["at", "10:", "45", "left"])
        assert texts(repair(words, page)) == ["at", "10:", "45", "left"]


def test_monospaced_names_cut_at_a_mark_rejoin_and_spaced_words_do_not() -> None:
    with drawn_in(font("croscore/Cousine-Regular.ttf", 12)):
        page, words = page_and_words("Minutes_export.pdf helper-sales.svg",
                                     ["Minutes_export.", "pdf", "helper", "-sales.svg"])
        assert texts(repair(words, page)) == ["Minutes_export.pdf", "helper-sales.svg"]
        page, words = page_and_words("total -68.3% done", ["total", "-68.3%", "done"])
        assert texts(repair(words, page)) == ["total", "-68.3%", "done"]
        page, words = page_and_words("notes. next", ["notes.", "next"])  # a space typed
        assert texts(repair(words, page)) == ["notes.", "next"]


def test_dotted_zeros_read_as_at_signs_in_numbers_and_names() -> None:
    for read, truth in (("@1:50", "01:50"), ("32@.@", "320.0"), ("2025-@3-15", "2025-03-15"),
                        ("chapter-2@25.svg", "chapter-2025.svg"), ("ann@example.org", None),
                        ("ann2@3com.net", "ann2@3com.net")):
        page, words = one_word(truth or read, read)
        assert texts(repair(words, page)) == [truth or read], read


def test_a_decimal_point_dropped_inside_a_number_is_put_back_from_the_pixels() -> None:
    page, words = one_word("164.8", "1648")
    assert texts(repair(words, page)) == ["164.8"]
    page, words = one_word("1648", "1648")  # no dot drawn: the number stays
    assert texts(repair(words, page)) == ["1648"]


def test_a_form_label_glued_to_its_value_is_cut_after_the_colon() -> None:
    page, words = one_word("Amount:    letter.yaml", "Amount:letter.yaml")
    assert texts(repair(words, page)) == ["Amount:", "letter.yaml"]
    page, words = one_word("Amount:letter.yaml", "Amount:letter.yaml")  # no space drawn
    assert texts(repair(words, page)) == ["Amount:letter.yaml"]
    page, words = one_word("https://x.org", "https://x.org")
    assert texts(repair(words, page)) == ["https://x.org"]


def test_a_url_scheme_is_no_form_label() -> None:
    page, words = one_word("http:    //docs.example.com", "http://docs.example.com")
    assert texts(repair(words, page)) == ["http://docs.example.com"]


def test_path_and_url_look_alikes() -> None:
    for read, truth in (("http://git.example.io/icon\u2019scan/import",
                         "http://git.example.io/icon/scan/import"),
                        ("http://vwww.example.org/notes", "http://www.example.org/notes"),
                        ("https://ww.example.org/a/b", "https://www.example.org/a/b"),
                        ("it\u2019s", "it\u2019s"), ("http://w3.org/a/b", "http://w3.org/a/b")):
        page, words = one_word(truth, read)
        assert texts(repair(words, page)) == [truth], read


def test_a_list_box_edge_read_as_a_bar_before_a_name_is_dropped() -> None:
    page, words = one_word("Forecast_final.ts", "|Forecast_final.ts")
    assert texts(repair(words, page)) == ["Forecast_final.ts"]


def test_a_lone_dash_between_words_is_no_hyphen() -> None:
    page, words = page_and_words("notes.txt - Files", ["notes.txt", "-", "Files"])
    # Tesseract boxes the dash a little wide: less than a third of the line from "Files",
    # as close as a hyphen read at a word's end ("sample-" "forecast.json").
    x, y, w, h = words[1].box
    words[1] = OcrWord("-", (x, y, w + 2, h), 0.9, 0)
    assert texts(repair(words, page)) == ["notes.txt", "-", "Files"]


def test_version_and_quarter_tags_and_dunder_files_get_their_digits_and_underscores() -> None:
    for read, right in (("minutes_vi.css", "minutes_v1.css"), ("Forecast_vll.json",
                                                                "Forecast_v11.json"),
                        ("slides-vl0.tar.gz", "slides-v10.tar.gz"), ("draft_vS.docx",
                                                                     "draft_v5.docx"),
                        ("release_old_Qi.css", "release_old_Q1.css"),
                        ("_init_.py", "__init__.py"), ("__main_.py", "__main__.py")):
        page, words = one_word(right, read)
        assert texts(repair(words, page)) == [right], read
    # Not a tag between separators, or no file name: as read.
    for text in ("vivid_notes.txt", "Qi", "env_vi", "_init_.pyc2", "Civil_v2.md"):
        page, words = one_word(text, text)
        assert texts(repair(words, page)) == [text]


def test_a_path_glued_to_a_path_is_cut_at_the_space_and_a_paths_steps_are_not() -> None:
    with drawn_in(font("dejavu/DejaVuSansMono.ttf", 14)):
        page, words = one_word("/home/ann/notes /home/bob/src",
                                "/home/ann/notes/home/bob/src")
        assert texts(repair(words, page)) == ["/home/ann/notes", "/home/bob/src"]
        page, words = one_word("/mnt/backup/home/bob", "/mnt/backup/home/bob")
        assert texts(repair(words, page)) == ["/mnt/backup/home/bob"]


def test_a_version_numbers_look_alike_letters_are_its_digits() -> None:
    for read, expected in (("vi.13.4", "v1.13.4"), ("v2.O.1", "v2.0.1"), ("v1.13.4", "v1.13.4"),
                           ("vi.is", "vi.is"), ("v.1", "v.1"), ("vim.1.2", "vim.1.2")):
        page, words = one_word(expected, read)
        assert texts(repair(words, page)) == [expected], read


def test_a_dot_file_glued_to_an_address_is_cut_at_the_space() -> None:
    page, words = page_and_words("ann@mail.example.net .bashrc", ["ann@mail.example.net.bashrc"])
    assert texts(repair(words, page)) == ["ann@mail.example.net", ".bashrc"]
    # No space drawn, or no whole address before the dot: one word.
    for text in ("ann@mail.example.net.bashrc", "ann@mail.example .bashrc"):
        page, words = page_and_words(text, [text.replace(" ", "")])
        assert texts(repair(words, page)) == [text.replace(" ", "")], text
