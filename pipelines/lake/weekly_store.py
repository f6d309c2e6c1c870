"""Weekly outputs as Parquet, one file per table and ISO week, replaced atomically, each with the fingerprint of
what it was built from::

    lake/weekly/<table>/week=YYYY-MM-DD/part.parquet
    lake/weekly/<table>/week=YYYY-MM-DD/_manifest.json
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from pipelines.core.atomic import read_json, replace_file, temp_path, write_json
from pipelines.core.home import Home

# Every weekly table, in dependency order (names are part of the analysts' interface:
# docs/analytics.md#tables).
WEEKLY_TABLES = (
    "endpoint_profiles",
    "spend_concentration",
    "spend_concentration_summary",
    "model_spend_concentration",
    "model_spend_concentration_summary",
    "price_basis",
    "plan_curve",
    "plan_options",
    "recommendations",
    "batch_jobs",
    "slo_status",
    "backtest",
    "pool_recommendations",
    "commitments",
)


def week_dir(home: Home, table: str, week_start: date) -> Path:
    """Directory of one weekly table's partition."""
    return home.lake / "weekly" / table / f"week={week_start.isoformat()}"


def write_week_table(home: Home, table: str, week_start: date, frame: pl.DataFrame, fingerprint: str) -> Path:
    """Replace one week of ``table`` with ``frame`` (atomically), then record ``fingerprint``; return the file."""
    directory = week_dir(home, table, week_start)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "part.parquet"
    tmp = temp_path(directory, "part.partial")
    frame.write_parquet(tmp)
    replace_file(tmp, target)
    write_json(directory / "_manifest.json", {"fingerprint": fingerprint, "rows": frame.height})
    return target


def read_week_table(home: Home, table: str, week_start: date) -> pl.DataFrame | None:
    """One week of ``table``, or None when it was never written."""
    path = week_dir(home, table, week_start) / "part.parquet"
    return pl.read_parquet(path) if path.exists() else None


def recorded_week_fingerprint(home: Home, table: str, week_start: date) -> str | None:
    """The fingerprint one week of ``table`` was built from (None when never built)."""
    manifest = read_json(week_dir(home, table, week_start) / "_manifest.json")
    return manifest["fingerprint"] if manifest else None


def table_files(home: Home, table: str) -> list[str]:
    """Every weekly Parquet file of ``table``, oldest week first."""
    return sorted(str(p) for p in (home.lake / "weekly" / table).glob("week=*/part.parquet"))
