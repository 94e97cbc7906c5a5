"""A small LRU of OCR results keyed by the frame's pixels.

A worker often asks about the same screen several times in a row (FindText "File", then
"Save As" on the unchanged screen, or DetectText then FindText): the second question costs a
hash of the pixels instead of an OCR pass. The key is a BLAKE2 digest of the exact pixels (and
the region and pass), so a changed pixel is a different frame: never a stale answer.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


def frame_key(image: np.ndarray, *parts: object) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((image.shape, str(image.dtype), parts)).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


class FrameCache(Generic[T]):
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> T | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
            return None

    def put(self, key: str, value: T) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
