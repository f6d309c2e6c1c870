"""Reading the small CSV tables modeshift ships and users may replace (rate card, provider profiles, replica
capacity): the header checked against the expected columns, then every column read with its declared type."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from pipelines.core.errors import ModeshiftError


def read_checked_csv(
    path: Path,
    what: str,
    required: Mapping[str, pl.DataType],
    optional: Mapping[str, pl.DataType] | None = None,
) -> pl.DataFrame:
    """The CSV at ``path`` read with the types of ``required`` (all must be present) and ``optional`` columns (may
    be absent; no other column is allowed). Any problem — a missing or unknown column, a value of the wrong type,
    an unreadable file — is one ``ModeshiftError`` naming ``what`` (e.g. "rate card"), the file and the first
    problem, and listing the columns it needs."""
    known = {**required, **(optional or {})}
    try:
        header = pl.read_csv(path, n_rows=0).columns
        missing = [name for name in required if name not in header]
        unknown = [name for name in header if name not in known]
        if missing or unknown:
            raise ValueError(
                f"missing {', '.join(missing) or 'nothing'}; unknown {', '.join(unknown) or 'nothing'}"
            )
        return pl.read_csv(path, schema={name: known[name] for name in header}, try_parse_dates=False)
    except (pl.exceptions.PolarsError, OSError, ValueError) as error:
        text = str(error).strip()
        first_line = text.splitlines()[0][:200] if text else type(error).__name__
        needs = f"It needs these columns: {', '.join(required)}"
        needs += f" (optional: {', '.join(optional)})." if optional else "."
        raise ModeshiftError(f"The {what} {path} cannot be read ({first_line}).", needs) from None
