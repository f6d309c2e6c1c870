"""Charts shown in the Dagster UI: a PNG written under ``reports/`` becomes Markdown with the picture embedded as a
``data:image/png;base64`` URI (the UI renders Markdown metadata, and this Dagster has no image metadata type), the
file's path written under it. Pictures are embedded while their encoded size fits a budget per materialization, so
the event log (one row per materialization, in SQLite or Postgres) does not grow by megabytes each week; past it a
chart is named by its path only."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

# Encoded bytes of pictures one materialization embeds at most (base64 text in the event log).
EMBED_BUDGET_BYTES = 1_000_000
_MARKDOWN_SPECIAL = re.compile(r"[\[\]()\\`*_<>!#|]")


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of the PNG bytes ``png`` (4/3 of their size, in characters)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _plain(text: str) -> str:
    """``text`` with the characters Markdown would read as syntax (links, emphasis, HTML) replaced by spaces."""
    return _MARKDOWN_SPECIAL.sub(" ", text).strip()


@dataclass
class ChartEmbedder:
    """Turns the week's PNG files into Markdown, embedding each while the encoded total stays within
    ``budget_bytes`` (a chart that does not fit is linked by path, and the ones after it may still fit)."""

    budget_bytes: int = EMBED_BUDGET_BYTES
    embedded_bytes: int = 0

    def markdown(self, path: Path, caption: str) -> str:
        """Markdown showing the PNG at ``path`` under the heading ``caption``, and its path; when the picture does
        not fit the remaining budget, only the caption and the path (with the picture's size in KB)."""
        png = path.read_bytes()
        title = _plain(caption)
        encoded = 4 * -(-len(png) // 3)
        if self.embedded_bytes + encoded > self.budget_bytes:
            return (
                f"**{title}**\n\n`{path}` ({len(png) / 1000:.0f} KB, not embedded: the pictures of this "
                f"materialization passed {self.budget_bytes / 1e6:.1f} MB)"
            )
        self.embedded_bytes += encoded
        return f"**{title}**\n\n![{title}]({data_uri(png)})\n\n`{path}`"
