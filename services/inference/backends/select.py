"""Which backend runs: decided once at start-up from settings and the platform.

``auto`` picks coreml only on macOS when coremltools' Core ML bridge (the native
``libcoremlpython`` extension, present only in macOS wheels) is installed, else cpu. The check
looks at files, it never imports coremltools (a 1-4 s import) and never fails a request.
``coreml`` asked for explicitly where it cannot run is a configuration error at start-up.
"""

from __future__ import annotations

import importlib.util
import platform
from pathlib import Path

BACKENDS = ("auto", "cpu", "coreml")


def coreml_bridge_path() -> Path | None:
    """The Core ML bridge extension of the installed coremltools, if there is one."""
    spec = importlib.util.find_spec("coremltools")  # top-level: finds, does not import
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for candidate in sorted(Path(folder).glob("libcoremlpython*")):
            return candidate
    return None


def coreml_available(system: str | None = None) -> bool:
    return (system or platform.system()) == "Darwin" and coreml_bridge_path() is not None


def choose_backend(requested: str, system: str | None = None) -> str:
    """'cpu' or 'coreml' for a configured ``requested`` ('auto', 'cpu' or 'coreml')."""
    requested = (requested or "auto").strip().lower()
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {requested!r}")
    if requested == "cpu":
        return "cpu"
    available = coreml_available(system)
    if requested == "coreml" and not available:
        raise ValueError("backend 'coreml' needs macOS and coremltools with its Core ML bridge "
                         "(libcoremlpython); use backend=auto or cpu here")
    return "coreml" if available else "cpu"
