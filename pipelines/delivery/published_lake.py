"""The published analytics file in object mode: uploaded beside the lake, and downloadable for analysts.

A publish uploads ``analytics/<snapshot>/analytics.duckdb`` and then the record ``analytics/published.json`` (the
commit: one put), which names the file and the request-lake objects its ``requests`` view reads, so the garbage
collector keeps them while the snapshot is the published one. ``modeshift analytics-download DIR`` fetches the
file and those objects into DIR and points the view at the downloaded copies: a self-contained analytics database
DuckDB opens offline.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.lake_mirror import PUBLISHED_RECORD, LakeMirror
from pipelines.core.object_store import ObjectStore
from pipelines.core.sql_loader import load_sql
from pipelines.delivery.publish import ANALYTICS_FILE, PublishResult
from pipelines.delivery.warehouse import sql_string_literal


@dataclass(frozen=True)
class Download:
    """A downloaded analytics snapshot: its file, the snapshot name and the request days fetched with it."""

    path: Path
    snapshot: str
    request_days: int


def upload_published(mirror: LakeMirror, result: PublishResult) -> str:
    """Upload the file ``result`` published and commit it as the lake's published snapshot; return its key."""
    day_dirs = (
        sorted((result.snapshot_dir / "requests").glob("day=*")) if result.snapshot_dir.exists() else []
    )
    requests: dict[str, dict[str, str]] = {}
    for day_dir in day_dirs:
        keys = mirror.unit_keys(f"lake/requests/{day_dir.name}")
        parts = {
            name: key for name, key in keys.items() if name.startswith("part") and name.endswith(".parquet")
        }
        if parts:
            requests[day_dir.name] = parts
    key = f"analytics/{result.snapshot}/{ANALYTICS_FILE}"
    mirror.store.upload_file(key, result.path)
    record = {
        "snapshot": result.snapshot,
        "published_at": result.published_at.isoformat(),
        "analytics": key,
        "requests": requests,
        "keys": [key, *(part for parts in requests.values() for part in parts.values())],
    }
    mirror.store.put_bytes(PUBLISHED_RECORD, json.dumps(record, sort_keys=True).encode())
    return key


def download_published(store: ObjectStore, target: Path) -> Download:
    """Fetch the published snapshot into ``target`` (``analytics.duckdb`` and ``requests/day=*/part*.parquet``)
    and point its ``requests`` view at the downloaded day files."""
    data = store.get_bytes(PUBLISHED_RECORD)
    if data is None:
        raise ModeshiftError(
            f"Nothing is published in {store.url} yet.",
            "Run 'modeshift materialize' (or the publish job) first.",
        )
    record = json.loads(data)
    target.mkdir(parents=True, exist_ok=True)
    files = []
    for day, parts in sorted(record["requests"].items()):
        # a record written before a day could hold several files names one key per day
        for name, key in sorted(({"part.parquet": parts} if isinstance(parts, str) else parts).items()):
            local = target / "requests" / day / name
            local.parent.mkdir(parents=True, exist_ok=True)
            if not store.download_file(key, local):
                raise ModeshiftError(
                    f"{key} is missing from {store.url}.", "Publish again, then download again."
                )
            files.append(str(local.resolve()))
    path = target / ANALYTICS_FILE
    partial = target / f".{ANALYTICS_FILE}.partial"
    if not store.download_file(record["analytics"], partial):
        raise ModeshiftError(f"{record['analytics']} is missing from {store.url}.", "Publish again.")
    with connect(partial) as con:
        if files:
            listed = "[" + ", ".join(sql_string_literal(f) for f in files) + "]"
            con.sql(load_sql("warehouse/create_requests_view").replace("$requests_glob", listed))
        else:
            con.sql(load_sql("warehouse/create_requests_empty"))
        con.sql("CHECKPOINT")
    os.replace(partial, path)
    return Download(path, record["snapshot"], len(record["requests"]))
