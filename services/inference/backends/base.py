"""The backend interface every inference backend implements, and its plain data types.

Backends work on decoded RGB numpy arrays and know nothing of gRPC; the servicer converts.
Boxes are (x, y, width, height) in whole-image pixels, also when a region was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def center(self) -> tuple[int, int]:
        return (self.x + self.width // 2, self.y + self.height // 2)

    def union(self, other: Rect) -> Rect:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1, y1 = max(self.right, other.right), max(self.bottom, other.bottom)
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def shifted(self, dx: int, dy: int) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.width, self.height)


@dataclass(frozen=True)
class TextRegion:
    """One recognised word: its text, box, confidence (0-1) and the index of its line."""

    text: str
    box: Rect
    confidence: float
    line: int | None = None


@dataclass(frozen=True)
class ModelDescriptor:
    """What ListModels reports about one model."""

    name: str
    version: str
    task: str
    backend: str
    format: str
    input_shape: tuple[int, ...] = ()
    loaded: bool = False
    description: str = ""


@dataclass
class DeviceInfo:
    backend: str
    compute_units: str
    platform: str
    cpu_count: int
    details: dict[str, str] = field(default_factory=dict)


class Backend(Protocol):
    """An OCR backend. ``detect`` is blocking (the servicer runs it in its thread pool)."""

    name: str  # "cpu" or "coreml"
    model_name: str  # the model (pipeline) named in responses and the metric label

    def load(self) -> None:
        """Loads the models; raises when they cannot be loaded."""

    def detect(self, image: np.ndarray, region: Rect | None = None,
               min_confidence: float = 0.0, use_cache: bool = True) -> list[TextRegion]:
        """Every word in ``image`` (RGB uint8, HxWx3), or in ``region`` of it, reading order.
        ``use_cache=False`` forces a real pass (health checks)."""
        ...

    def detect_more(self, image: np.ndarray, region: Rect | None = None) -> list[TextRegion]:
        """A slower, more thorough pass (FindText uses it when the query was not found)."""
        ...

    def models(self) -> list[ModelDescriptor]: ...

    def device_info(self) -> DeviceInfo: ...

    def close(self) -> None: ...
