"""Fixtures shared by the inference unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.inference.cpu.backend import CpuBackend, CpuOptions


@pytest.fixture(scope="module")
def backend() -> Iterator[CpuBackend]:
    """The CPU backend with its default options, loaded (real Tesseract and PP-OCR)."""
    b = CpuBackend(CpuOptions())
    b.load()
    yield b
    b.close()
