"""Terminal text: ls -l modes read from their pixels, shell command lines (``cpu/terminal``)."""

from __future__ import annotations

import numpy as np

from services.inference.cpu.engines import OcrWord
from services.inference.cpu.terminal import commands, modes, prompts
from services.inference.cpu.tokens import INK_LEVEL, lines
from tests.unit.inference.drawn_text import drawn_in, font, page_and_words, texts

MONO = font("dejavu/DejaVuSansMono.ttf", 14)


def _row(text: str, misread: list[str]) -> tuple[list[OcrWord], object]:
    """``text`` drawn in a terminal font, read as Tesseract would read it: the words of
    ``text``, the first ones replaced by ``misread`` (the mode's cells cut differently)."""
    with drawn_in(MONO):
        page, words = page_and_words(text, text.split())
    mode, rest = words[0], words[1:]
    x, y, w, h = mode.box
    step = w // len(misread)
    garbled = [OcrWord(t, (x + i * step, y, step - 1, h), 0.3, 0) for i, t in enumerate(misread)]
    return garbled + rest, page


def test_a_garbled_mode_is_read_from_its_dashes_and_letters() -> None:
    for mode, misread in (("-rw-r--r--", ["\u201cruc"]), ("-rwxr-xr-x", ["TPWXP", "XP", "HX"]),
                          ("drwxr-xr-x", ["druxr-xr-x"]), ("-rw-------", ["-Tw", "-------"]),
                          ("-rw-------", ["\u201cri", "------\u2014"]),
                          ("-rw-r--r--", ["\u201cri", "ren"])):
        words, page = _row(f"{mode} 1 ann ann 4096 Mar 12 10:15 notes.txt", misread)
        ink = page < INK_LEVEL
        out = modes(words, ink, lines(words))
        assert sorted(texts(out)) == sorted([mode, "1", "ann", "ann", "4096", "Mar", "12",
                                             "10:15", "notes.txt"]), mode


def test_a_mode_boxed_over_two_rows_is_not_read_from_them() -> None:
    # Tesseract's boxes over two packed rows: one row's dashes stand over the other's
    # letters, and every cell would read as a letter ("drwxrwxrwx").
    from PIL import Image, ImageDraw

    first = "-rw-r--r-- 1 ann ann 4096 Mar 12 10:15 notes.txt"
    words, _page = _row(first, ["\u201cri", "ren"])
    img = Image.new("L", (600, 60), 255)
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), first, font=MONO, fill=0)
    draw.text((10, 27), "drwxrwxr-x 2 bob bob 4096 Mar 12 10:15 src", font=MONO, fill=0)
    page = np.asarray(img)
    bottom = 27 + 17
    tall = [OcrWord(w.text, (w.box[0], w.box[1], w.box[2], bottom - w.box[1]), w.confidence,
                    w.line) for w in words]
    assert texts(modes(tall, page < INK_LEVEL, lines(tall))) == texts(tall)


def test_rows_that_are_no_listing_are_left_alone() -> None:
    # No month name: not an ls -l row, whatever its first word.
    words, page = _row("-rw-r--r-- 1 ann ann 4096 notes.txt", ["\u201cruc"])
    assert texts(modes(words, page < INK_LEVEL, lines(words)))[0] == "\u201cruc"
    # A right mode stays as read.
    words, page = _row("-rw-r--r-- 1 ann ann 4096 Mar 12 10:15 notes.txt", ["-rw-r--r--"])
    out = modes(words, page < INK_LEVEL, lines(words))
    assert out == words


def _words(*texts_: str) -> list[OcrWord]:
    return [OcrWord(t, (10 + 60 * i, 10, 50, 12), 0.9, 0) for i, t in enumerate(texts_)]


def test_a_command_after_a_prompt_gets_its_letters_back() -> None:
    words = _words("ann@devbox:~/src$", "1s", "-1")
    assert texts(commands(words, lines(words))) == ["ann@devbox:~/src$", "ls", "-l"]
    words = _words("ann@devbox:$", "cat", "notes.txt")  # bash always shows a directory
    assert texts(commands(words, lines(words))) == ["ann@devbox:~$", "cat", "notes.txt"]


def test_digits_elsewhere_stay_digits() -> None:
    # No prompt before them; an option of another command; a number argument.
    for row in (("1s", "-1"), ("dave@ws7:~$", "head", "-1", "log.txt"),
                ("dave@ws7:~$", "sleep", "15")):
        words = _words(*row)
        assert texts(commands(words, lines(words))) == list(row)


def _spaced(*pieces: tuple[str, int]) -> list[OcrWord]:
    """Words of one 14 px line at 7 px a character, each ``(text, gap before it in px)``."""
    out, x = [], 10
    for text, gap in pieces:
        x += gap
        out.append(OcrWord(text, (x, 20, 7 * len(text), 14), 0.9, 0))
        x += 7 * len(text)
    return out


def test_a_prompt_cut_in_pieces_is_one_word_again() -> None:
    words = _spaced(("dave@ws7", 0), (":~/chapter$", 8), ("ls", 11))
    assert texts(prompts(words, lines(words))) == ["dave@ws7:~/chapter$", "ls"]
    words = _spaced(("grace@devbox", 0), (":", 3), ("~/budget-demo$", 3), ("cat", 10))
    joined = prompts(words, lines(words))
    assert texts(joined) == ["grace@devbox:~/budget-demo$", "cat"]
    assert joined[0].box == (10, 20, 7 * len("grace@devbox:~/budget-demo$") + 6, 14)


def test_addresses_and_far_words_are_not_made_prompts() -> None:
    for row in ((("ann@example.org", 0), ("13:43", 8)),  # an e-mail, then a time
                (("dave@ws7", 0), (":~/chapter$", 40))):  # another column
        words = _spaced(*row)
        assert texts(prompts(words, lines(words))) == [t for t, _ in row]
