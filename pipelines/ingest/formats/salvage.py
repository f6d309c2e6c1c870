"""The slow, careful reader for files DuckDB refuses as a whole: record by record in Python.

It keeps every record it can read, turns every one it cannot into a row carrying a ``parse_error`` (never its text),
and writes the result as a Parquet file of text columns that the fast path then reads like any other file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PARSE_ERROR_FIELD = "__modeshift_parse_error"
_BATCH_ROWS = 100_000
csv.field_size_limit(1 << 28)


def _open_binary(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # type: ignore[return-value]


def _binary_lines(path: Path) -> Iterator[bytes | None]:
    """Lines of the (decompressed) file; yields None once if the compressed stream ends early."""
    with _open_binary(path) as handle:
        try:
            yield from handle
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError):
            yield None


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def _jsonl_records(path: Path, fields: list[str]) -> Iterator[tuple[str | None, list[str | None]]]:
    empty: list[str | None] = [None] * len(fields)
    first = True
    for raw in _binary_lines(path):
        if raw is None:
            yield "file truncated: the compressed stream ends in the middle of a record", empty
            return
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield "line is not valid UTF-8", empty
            continue
        try:
            record = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            yield "unparseable line: not valid JSON", empty
            continue
        if not isinstance(record, dict):
            yield f"line is JSON but not an object (a {type(record).__name__})", empty
            continue
        yield None, [_as_text(record.get(name)) for name in fields]


def _decoded_lines(path: Path) -> Iterator[str]:
    for raw in _binary_lines(path):
        if raw is None:
            yield "\x00TRUNCATED\x00"
            return
        yield raw.decode("utf-8", errors="surrogateescape")


def _csv_records(path: Path, fields: list[str]) -> Iterator[tuple[str | None, list[str | None]]]:
    empty: list[str | None] = [None] * len(fields)
    reader = csv.reader(_decoded_lines(path))
    try:
        header = [name.lstrip("\ufeff").strip() for name in next(reader)]
    except StopIteration:
        return
    positions = [header.index(name) if name in header else None for name in fields]
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield "unparseable CSV row", empty
            continue
        if not row:
            continue
        if row == ["\x00TRUNCATED\x00"]:
            yield "file truncated: the compressed stream ends in the middle of a record", empty
            return
        if len(row) != len(header):
            yield f"CSV row has {len(row)} fields, the header has {len(header)}", empty
            continue
        if any("\udc80" <= ch <= "\udcff" for value in row for ch in value):
            yield "row is not valid UTF-8", empty
            continue
        yield None, [row[p] if p is not None and row[p] != "" else None for p in positions]


def salvage_to_parquet(path: Path, kind: str, fields: list[str], work_dir: Path) -> Path:
    """Read ``path`` (kind 'jsonl' or 'csv') record by record into a Parquet file in ``work_dir``; return its path.

    Columns: ``source_line`` (1-based record number), ``__modeshift_parse_error`` and every name in ``fields``.
    """
    records = _jsonl_records(path, fields) if kind == "jsonl" else _csv_records(path, fields)
    schema = pa.schema(
        [("source_line", pa.int64()), (PARSE_ERROR_FIELD, pa.string())]
        + [(name, pa.string()) for name in fields]
    )
    out = work_dir / "salvaged-records.parquet"
    with pq.ParquetWriter(out, schema) as writer:
        batch: list[tuple[str | None, list[str | None]]] = []
        line = 0

        def flush() -> None:
            nonlocal batch
            start = line - len(batch) + 1
            columns = [
                pa.array(range(start, line + 1), pa.int64()),
                pa.array([b[0] for b in batch], pa.string()),
            ]
            columns += [pa.array([b[1][i] for b in batch], pa.string()) for i in range(len(fields))]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            batch = []

        for record in records:
            line += 1
            batch.append(record)
            if len(batch) >= _BATCH_ROWS:
                flush()
        if batch:
            flush()
    return out
