"""Shared pieces of the tests of the flat export formats (langfuse, helicone, openrouter): file writers for the
shapes the exporters produce, the request lake and warehouse built from staged files without Dagster, and a search
for privacy canaries in every file of a home, Parquet and DuckDB contents included."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.home import Home
from pipelines.delivery.warehouse import open_warehouse, refresh_ingest_tables
from pipelines.ingest.day_merge import merge_day, pending_days

SALT = "test-salt"  # MODESHIFT_SALT in tests/conftest.py
TEXT_CANARY = "CANARY-TEXT-7f3"
USER_CANARY = "CANARY-USER-7f3"
CANARIES = (TEXT_CANARY, USER_CANARY)


def key_hash(value: str) -> str:
    """The client normalize_rows.sql derives from an API key or user id: 'key-' + 16 hex of sha256(salt + value)."""
    return "key-" + hashlib.sha256((SALT + value).encode()).hexdigest()[:16]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    """One JSON object per line."""
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def write_json_array(path: Path, records: list[dict[str, Any]]) -> Path:
    """One top-level JSON array, pretty-printed (as the exporters' 'json' format writes it)."""
    path.write_text(json.dumps(records, indent=2))
    return path


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    """A CSV export: every field of every record as a column, objects and lists as JSON text, null as empty."""
    names: list[str] = []
    for record in records:
        names += [name for name in record if name not in names]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for record in records:
            writer.writerow(
                {
                    name: ""
                    if record.get(name) is None
                    else json.dumps(record[name])
                    if isinstance(record[name], dict | list)
                    else str(record[name]).lower()
                    if isinstance(record[name], bool)
                    else record[name]
                    for name in names
                }
            )
    return path


def gzipped(path: Path) -> Path:
    """``path`` compressed beside it as ``<name>.gz``."""
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes()))
    return target


def build_lake_and_warehouse(home: Home) -> dict[str, int]:
    """Merge every pending day of the staged files into the request lake and (re)create the warehouse's ingest
    log, requests and quarantine views; return the warehouse's row counts."""
    for day in pending_days(home):
        merge_day(home, day)
    return refresh_ingest_tables(home)


def warehouse_rows(home: Home, sql: str) -> list[tuple[Any, ...]]:
    """The rows of one query on the warehouse."""
    with open_warehouse(home, read_only=True) as con:
        return con.sql(sql).fetchall()


def _text_of_parquet(path: Path) -> str:
    with duckdb.connect() as con:
        return repr(con.sql("SELECT * FROM read_parquet($p)", params={"p": str(path)}).fetchall())


def _text_of_duckdb(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        return repr([con.table(name).fetchall() for (name,) in tables])


def files_holding_canaries(root: Path, canaries: tuple[str, ...] = CANARIES) -> list[Path]:
    """Every file under ``root`` holding a canary: in its bytes (decompressed when gzip), in the values of a
    Parquet file (whose pages may be compressed) or in the tables of a DuckDB file."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        text = data.decode("utf-8", errors="replace")
        if path.suffix == ".parquet" and data[:4] == b"PAR1":
            text += _text_of_parquet(path)
        elif path.suffix == ".duckdb":
            text += _text_of_duckdb(path)
        if any(canary in text for canary in canaries):
            found.append(path)
    return found
