"""Small helpers for tests: land and stage a file, read what staging wrote."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.ingest.landing import land_file
from pipelines.ingest.staging import StagedFile, stage_file, staged_dir


def land_and_stage(
    home: Home, settings: Settings, path: Path, fmt: str, options: dict[str, Any] | None = None
) -> StagedFile:
    """Land ``path`` as format ``fmt`` and stage it; return the staging accounting."""
    landed, _ = land_file(home, path, fmt, options or {})
    return stage_file(home, settings, landed)


def staged_rows(home: Home, file_id: str, accepted: bool = True) -> list[dict[str, Any]]:
    """The staged rows of one file (accepted ones, or the quarantined ones), ordered by record number."""
    files = [str(p) for p in staged_dir(home, file_id).glob("day=*/*.parquet")]
    if not files:
        return []
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    relation = con.sql(
        "SELECT * FROM read_parquet($files, hive_partitioning = true, hive_types_autocast = false) "
        "WHERE (day = 'quarantine') = $quarantined ORDER BY source_line",
        params={"files": files, "quarantined": not accepted},
    )
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def derived_id_prefix(data: bytes) -> str:
    """The prefix of the request ids staging derives for records without one (``<prefix>:<record number>``): the
    first 20 hex digits of the SHA-256 of the file's content ``data`` (decompressed), whatever the read options."""
    return hashlib.sha256(data).hexdigest()[:20]
