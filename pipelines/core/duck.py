"""DuckDB connections as modeshift uses them: UTC everywhere, bounded memory and threads, spill to a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def connect(
    database: str | Path = ":memory:", read_only: bool = False, temp_dir: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the session time zone set to UTC.

    ``MODESHIFT_DUCKDB_MEMORY`` (default ``2560MB``: measured to keep a 10 M-row staging under 3 GB of RSS without
    spilling) and ``MODESHIFT_DUCKDB_THREADS`` (default: all cores) bound it.
    """
    config = {"memory_limit": os.environ.get("MODESHIFT_DUCKDB_MEMORY", "2560MB")}
    threads = os.environ.get("MODESHIFT_DUCKDB_THREADS")
    if threads:
        config["threads"] = threads
    if temp_dir is not None:
        config["temp_directory"] = str(temp_dir)
    con = duckdb.connect(str(database), read_only=read_only, config=config)
    con.sql("SET TimeZone = 'UTC'")
    return con
