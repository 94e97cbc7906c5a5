"""Bounds of the desktop actions (Bytebot's ANE fork) and their defaults, in one place.

The tasks service checks a task's steps against these when the task is submitted; the computer
service checks every request against them again (plus the screen size) before touching the
display. Durations are in seconds.
"""

from __future__ import annotations

MIN_CLICK_COUNT = 1
MAX_CLICK_COUNT = 10
MIN_SCROLL_COUNT = 1
MAX_SCROLL_COUNT = 100
MAX_DELAY_SECONDS = 30.0  # type_keys hold time, type_text pause between characters
MAX_WAIT_SECONDS = 300.0
MIN_PATH_POINTS = 2
MAX_PATH_POINTS = 1000
MAX_TYPE_TEXT_CHARS = 5_000
MAX_PASTE_TEXT_CHARS = 10_000
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_FILE_PATH_CHARS = 4096
# Not in the reference: a chord or a set of held keys longer than this is a mistake, and the
# cap keeps a single request from holding down the whole keyboard.
MAX_KEYS = 32
MAX_STEP_NAME_CHARS = 200
MIN_FIND_TEXT_CHARS = 1
MAX_FIND_TEXT_CHARS = 256
MIN_JPEG_QUALITY = 1
MAX_JPEG_QUALITY = 100
MAX_MATCH_RESULTS = 100

# Defaults (Bytebot's daemon), used when a request leaves the field unset / zero.
DEFAULT_CLICK_COUNT = 1
DEFAULT_SCROLL_COUNT = 1
DEFAULT_TYPE_KEYS_DELAY_SECONDS = 0.1
DEFAULT_TYPE_TEXT_DELAY_SECONDS = 0.0
DEFAULT_JPEG_QUALITY = 80
