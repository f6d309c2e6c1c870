"""Text for people: money, names safe to print, Markdown tables for Dagster metadata and Slack, aligned plain
text tables for the terminal."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any


def format_usd(amount: float) -> str:
    """Money for reasons: ``$1,240`` from $100 up (whole dollars, thousands separated), ``$12.34`` below."""
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    if round(magnitude, 2) < 100:
        return f"{sign}${magnitude:.2f}"
    return f"{sign}${magnitude:,.0f}"


def escape_name(name: str) -> str:
    """``name`` as valid UTF-8 text whatever bytes it came from: each byte that was not UTF-8 (Python's
    surrogateescape character for it, as in a Linux file name) becomes ``\\xNN``, any other lone surrogate
    ``\\uNNNN``. Valid text is unchanged and escaping twice changes nothing, so the same name is shown the same
    way in every table, manifest, log line and message."""
    if name.isascii():
        return name
    out = []
    for ch in name:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def display_name(name: str, limit: int = 60) -> str:
    """A name safe to print in a picture or a message: control characters become '?', at most ``limit``
    characters (an ellipsis marks a cut)."""
    cleaned = "".join("?" if unicodedata.category(ch).startswith("C") else ch for ch in name)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` in values escaped)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 48) -> str:
    """An aligned plain-text table for terminals: numbers right-aligned, long text cut at ``max_width``."""
    cells = [[_cell(v) for v in row] for row in rows]
    cells = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in cells]
    numeric = [
        all(isinstance(row[i], int | float) or row[i] is None for row in rows) for i in range(len(headers))
    ]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        )

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(row) for row in cells]).rstrip()
