"""Aligned plain-text tables for the terminal (no dependency, no colour codes: the output is
also read by scripts and tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def render(
    rows: Sequence[Mapping[str, object]],
    columns: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """Rows of dicts → a table with a header line; every column as wide as its widest cell."""
    if columns is None:
        columns = list(rows[0].keys()) if rows else []
    headers = headers or {}
    titles = [headers.get(c, c.upper()) for c in columns]
    cells = [[_text(row.get(c, "")) for c in columns] for row in rows]
    widths = [
        max([len(titles[i])] + [len(r[i]) for r in cells]) for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(titles), *(line(r) for r in cells)])


def _text(value: object) -> str:
    return "" if value is None else str(value)


def duration(seconds: float) -> str:
    """0.0123 → '12.3ms', 2.5 → '2.50s'."""
    if seconds < 1:
        return f"{seconds * 1000:.1f}ms"
    return f"{seconds:.2f}s"
