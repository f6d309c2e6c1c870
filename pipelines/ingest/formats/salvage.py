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
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True)
class CsvLimits:
    """How far one quoted CSV field may run: over at most ``max_field_lines`` line breaks, and, when it spans
    lines at all, at most ``max_multiline_field_bytes`` characters. A longer one is almost always an unterminated
    quote swallowing the rest of the file: its first line is refused and reading goes on with the next line."""

    max_field_lines: int = 100
    max_multiline_field_bytes: int = 1 << 20


@dataclass
class CsvLineStats:
    """What the record-by-record CSV reader saw: physical lines read, empty ones (no record), and line breaks
    inside records (a record spanning k lines adds k - 1). Records = lines - empty - inner_breaks (+ header)."""

    lines: int = 0
    empty: int = 0
    inner_breaks: int = 0


class _Overrun(Exception):
    """A record ran past the CSV limits."""


class _Lines:
    """The file's decoded lines with push-back: lines a refused record had swallowed are read again."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._again: list[str] = []

    def next(self) -> str | None:
        if self._again:
            return self._again.pop()
        return next(self._lines, None)

    def push_back(self, lines: list[str]) -> None:
        self._again.extend(reversed(lines))


def _csv_records(
    path: Path, fields: list[str], limits: CsvLimits, stats: CsvLineStats
) -> Iterator[tuple[str | None, list[str | None]]]:
    empty: list[str | None] = [None] * len(fields)
    source = _Lines(_decoded_lines(path))
    first = source.next()
    if first is None:
        return
    stats.lines += 1
    header = [name.lstrip("\ufeff").strip() for name in next(csv.reader([first]), [])]
    positions = [header.index(name) if name in header else None for name in fields]
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        size = 0
        while (line := source.next()) is not None:
            consumed.append(line)
            size += len(line)
            if len(consumed) > limits.max_field_lines + 1 or (
                len(consumed) > 1 and size > limits.max_multiline_field_bytes
            ):
                raise _Overrun
            yield line

    while True:
        reader = csv.reader(feed(), strict=True)
        while True:
            consumed.clear()
            try:
                row = next(reader)
            except StopIteration:
                return
            except (_Overrun, csv.Error) as error:
                # refuse the record's first line only; the lines it swallowed are read again as records
                if consumed and consumed[0] == "\x00TRUNCATED\x00":
                    yield "file truncated: the compressed stream ends in the middle of a record", empty
                    return
                stats.lines += 1
                source.push_back(consumed[1:])
                if isinstance(error, _Overrun):
                    yield (
                        f"a quoted field runs over more than {limits.max_field_lines} lines or "
                        f"{limits.max_multiline_field_bytes:,} bytes (an unterminated quote?): this line is refused "
                        "and reading goes on with the next",
                        empty,
                    )
                elif len(consumed) > 1 or "end of data" in str(error):
                    yield "unterminated quote: the quoted field never closes (this line is refused)", empty
                else:
                    yield "unparseable CSV row", empty
                break  # a fresh reader: the old one holds the refused record's state
            stats.lines += len(consumed)
            stats.inner_breaks += max(len(consumed) - 1, 0)
            if not row:
                stats.empty += 1
                continue
            if row == ["\x00TRUNCATED\x00"]:
                stats.lines -= 1  # the marker is no line of the file
                yield "file truncated: the compressed stream ends in the middle of a record", empty
                return
            if len(row) != len(header):
                yield f"CSV row has {len(row)} fields, the header has {len(header)}", empty
                continue
            if any("\udc80" <= ch <= "\udcff" for value in row for ch in value):
                yield "row is not valid UTF-8", empty
                continue
            yield None, [row[p] if p is not None and row[p] != "" else None for p in positions]


LINE_STATS_FILE = "csv-line-stats.json"


def salvage_to_parquet(
    path: Path, kind: str, fields: list[str], work_dir: Path, limits: CsvLimits | None = None
) -> Path:
    """Read ``path`` (kind 'jsonl' or 'csv') record by record into a Parquet file in ``work_dir``; return its path.

    Columns: ``source_line`` (1-based record number), ``__modeshift_parse_error`` and every name in ``fields``.
    For CSV, what the reader saw of the physical lines (:class:`CsvLineStats`) goes to ``work_dir/LINE_STATS_FILE``.
    """
    stats = CsvLineStats()
    if kind == "jsonl":
        records = _jsonl_records(path, fields)
    else:
        records = _csv_records(path, fields, limits or CsvLimits(), stats)
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
    if kind == "csv":
        (work_dir / LINE_STATS_FILE).write_text(json.dumps(asdict(stats)))
    return out
