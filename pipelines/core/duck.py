"""DuckDB connections as modeshift uses them: UTC everywhere, bounded memory and threads, spill to a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

# Measured (benchmarks/bench_week.py, docs/benchmarks.md): with 600 MB for DuckDB, every stage of a 100 M-request
# week stays under 1 GB of resident memory, Python included.
DEFAULT_MEMORY_LIMIT = "600MB"
PARTITIONED_WRITE_FLUSH_ROWS = 100_000


def connect(
    database: str | Path = ":memory:", read_only: bool = False, temp_dir: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the session time zone set to UTC.

    ``MODESHIFT_DUCKDB_MEMORY`` (default ``600MB``, :data:`DEFAULT_MEMORY_LIMIT`) and ``MODESHIFT_DUCKDB_THREADS``
    (default: all cores) bound it; past the memory limit DuckDB spills to ``temp_dir`` (each step passes a directory
    in the home). A partitioned write flushes every ``PARTITIONED_WRITE_FLUSH_ROWS`` rows per thread: at DuckDB's
    default (524,288) a staging under a 600 MB limit spilled its write buffers and took 3× the CPU.
    """
    config = {
        "memory_limit": os.environ.get("MODESHIFT_DUCKDB_MEMORY", DEFAULT_MEMORY_LIMIT),
        "partitioned_write_flush_threshold": PARTITIONED_WRITE_FLUSH_ROWS,
    }
    threads = os.environ.get("MODESHIFT_DUCKDB_THREADS")
    if threads:
        config["threads"] = threads
    if temp_dir is not None:
        config["temp_directory"] = str(temp_dir)
    con = duckdb.connect(str(database), read_only=read_only, config=config)
    con.sql("SET TimeZone = 'UTC'")
    return con
