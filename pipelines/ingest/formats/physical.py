"""Counting a file's records without the parser that could be fooled: its physical lines, read as bytes.

Staging checks every file it reads against these counts (rows in = accepted + quarantined, and rows in = the
file's own records): a CSV parser that swallows a thousand lines into one quoted field, or a reader that silently
skips lines, is caught here, not trusted.

* JSONL: one record per line that is not blank (a JSON text cannot hold a raw newline).
* CSV: one record per line after the header, plus the newlines inside quoted fields; empty lines are no record.
* Parquet: the row count of the file's footer.
* A JSON file holding one array (:mod:`pipelines.ingest.formats.content`): lines do not delimit its records, so
  its elements are counted by a second, independent parser (Python's streaming JSON decoder, not DuckDB's reader);
  the record-by-record reader of an array is that parser itself, and its rows are the elements it read plus at
  most one row for damage that ends the array.
* A file refused as a whole (a decompression bomb, a file that is not what its name says): exactly one record, the
  refusal, and its bytes are never read again (a bomb is not inflated a second time).
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.formats.content import Content
from pipelines.ingest.formats.records import csv_field_spans, kind_of
from pipelines.ingest.formats.salvage import (
    DEFAULT_MAX_RECORD_BYTES,
    LINE_STATS_FILE,
    CsvLimits,
    json_array_elements,
)

_CHUNK_BYTES = 1 << 24
_LINE_PIECE = 1 << 20


@dataclass(frozen=True)
class LineCount:
    """Physical lines of a (decompressed) file: ``lines`` in all (a last line without newline counts), ``empty``
    of them empty or whitespace only (None when not counted), and whether a gzip stream ``truncated`` early (the
    readers then add one record for the cut-off tail)."""

    lines: int
    empty: int | None
    truncated: bool


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # type: ignore[return-value]


def count_lines(path: Path, count_empty: bool = False) -> LineCount:
    """The physical lines of ``path`` (gzip decompressed), counted from the bytes: fast (``bytes.count``) unless
    ``count_empty`` asks for the empty and whitespace-only lines too (a loop over the lines, bounded memory).

    A truncated gzip stream counts the lines before the cut (the partial one is dropped, as the salvage reader
    drops it) and sets ``truncated``."""
    lines = 0
    empty = 0
    truncated = in_line = False
    with _open(path) as handle:
        try:
            if count_empty:
                # line by line as the salvage reader reads (readline), in pieces of at most _LINE_PIECE bytes:
                # memory stays bounded however long a line is
                blank = False
                for piece in iter(lambda: handle.readline(_LINE_PIECE), b""):
                    if not in_line:
                        lines += 1
                        blank = True
                    blank = blank and piece.isspace()
                    in_line = not piece.endswith(b"\n")
                    if not in_line:
                        empty += blank
                if in_line:  # a last line without newline
                    empty += blank
            else:
                last = b"\n"
                for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
                    lines += chunk.count(b"\n")
                    last = chunk[-1:]
                lines += last != b"\n"
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError):
            truncated = True
            # the partial line before the cut is dropped, as the salvage reader drops it
            lines -= count_empty and in_line
    if truncated and not count_empty:  # count line by line, exactly as the salvage reader sees the stream
        return count_lines(path, count_empty=True)
    return LineCount(lines=lines, empty=empty if count_empty else None, truncated=truncated)


def parquet_rows(path: Path) -> int:
    """The number of rows the Parquet file's footer declares."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _refused_mismatch(rows_in: int) -> str | None:
    if rows_in == 1:
        return None
    return f"a file refused as a whole is one record, but {rows_in} were read"


# A format whose records are not its lines counts them itself: (path, content, max_record_bytes, careful) -> the
# records, or None when its quick count cannot read the file (careful: as the record-by-record reader reads it).
RecordCounter = Callable[[Path, Content | None, int, bool], int | None]


def fast_read_mismatch(
    path: Path,
    suffix: str,
    rows_in: int,
    limits: CsvLimits,
    content: Content | None = None,
    count_records: RecordCounter | None = None,
) -> str | None:
    """Why the ``rows_in`` records DuckDB's fast reader found in ``path`` do not match the file's own lines (None
    when they do): then the file must be read record by record. Parquet: a count that differs from the footer.

    JSONL: records = non-blank lines. CSV: records + line breaks inside fields = lines after the header, give or
    take empty lines; and no quoted field runs over more lines or bytes than ``limits`` allow. ``content`` (what
    the content inspection found): a file refused as a whole is one record; a JSON array has as many records as
    readable elements (counted by the streaming decoder). ``count_records``: the format's own count of its records
    (a trace line holds many spans)."""
    if content is not None and content.refusal is not None:
        return _refused_mismatch(rows_in)
    if count_records is not None:
        counted = count_records(path, content, DEFAULT_MAX_RECORD_BYTES, False)
        if counted is None:
            return "the independent count of its records could not read the file"
        return None if counted == rows_in else f"the file holds {counted} records but {rows_in} were read"
    if content is not None and content.json_array:
        # damage after the last element that DuckDB tolerated (a trailing comma at the end of the file) loses no
        # record; any other difference in the count is a mismatch
        elements, damage = json_array_elements(path)
        if elements != rows_in:
            after = f", then {damage}" if damage is not None else ""
            return f"the JSON array has {elements} readable elements{after}, but {rows_in} records were read"
        return None
    kind = kind_of(suffix)
    if kind == "parquet":
        declared = parquet_rows(path)
        return None if declared == rows_in else f"the footer declares {declared} rows but {rows_in} were read"
    quick = count_lines(path)
    header = 1 if kind == "csv" and quick.lines > 0 else 0
    if quick.lines - header == rows_in and not quick.truncated:
        return None  # the common case: one record per line, no blank lines, one cheap pass over the bytes
    exact = count_lines(path, count_empty=True)
    data_lines = exact.lines - header
    if kind == "jsonl":
        non_blank = data_lines - (exact.empty or 0)
        if non_blank == rows_in:
            return None
        return f"the file has {non_blank} non-blank lines but {rows_in} records were read"
    spans = csv_field_spans(path)
    if spans.max_field_breaks > limits.max_field_lines:
        return (
            f"a quoted field spans {spans.max_field_breaks + 1} lines (at most {limits.max_field_lines + 1})"
        )
    if spans.max_multiline_bytes > limits.max_multiline_field_bytes:
        return f"a quoted field spanning lines holds {spans.max_multiline_bytes:,} bytes"
    unaccounted = data_lines - rows_in - spans.inner_breaks
    if not 0 <= unaccounted <= (exact.empty or 0):
        return (
            f"the file has {data_lines} lines after the header but {rows_in} records with "
            f"{spans.inner_breaks} line breaks inside fields were read"
        )
    return None


def check_salvaged(
    path: Path,
    suffix: str,
    rows_in: int,
    salvage_dir: Path,
    content: Content | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    count_records: RecordCounter | None = None,
) -> None:
    """Raise unless the record-by-record reader accounted for every physical line of ``path``: JSONL, one record
    per non-blank line (plus one for a truncated tail); CSV, every line read, and records = lines - header - empty
    lines - line breaks inside records (plus one for a truncated tail). A file refused as a whole: one record. A
    JSON array: its elements up to any damage, plus one row for the damage. ``count_records``: the format's own
    careful count (Python's JSON decoder, record by record)."""
    if content is not None and content.refusal is not None:
        if (problem := _refused_mismatch(rows_in)) is not None:
            raise RuntimeError(f"{path.name}: {problem}: refusing to continue")
        return
    if count_records is not None:
        counted = count_records(path, content, max_record_bytes, True)
        if counted != rows_in:
            raise RuntimeError(
                f"{path.name} holds {counted} records by a careful count but {rows_in} were read: refusing to continue"
            )
        return
    if content is not None and content.json_array:
        elements, damage = json_array_elements(path, max_record_bytes)
        expected = elements + (damage is not None)
        if expected != rows_in:
            raise RuntimeError(
                f"{path.name} is a JSON array of {elements} readable elements"
                f"{' and one damaged tail' if damage is not None else ''} but {rows_in} records were read: "
                "refusing to continue"
            )
        return
    exact = count_lines(path, count_empty=True)
    if kind_of(suffix) == "jsonl":
        expected = exact.lines - (exact.empty or 0) + exact.truncated
        seen = f"{exact.lines} lines, {exact.empty} blank"
    else:
        stats = json.loads((salvage_dir / LINE_STATS_FILE).read_text())
        if stats["lines"] != exact.lines or stats["empty"] > (exact.empty or 0):
            raise RuntimeError(
                f"the CSV reader saw {stats['lines']} lines ({stats['empty']} empty) of {path.name}, which has "
                f"{exact.lines} ({exact.empty} blank): refusing to continue"
            )
        header = 1 if stats["lines"] > 0 else 0
        expected = stats["lines"] - header - stats["empty"] - stats["inner_breaks"] + exact.truncated
        seen = f"{exact.lines} lines, {stats['empty']} empty, {stats['inner_breaks']} inside quoted fields"
    if expected != rows_in:
        raise RuntimeError(
            f"{path.name} has {expected} records by its lines ({seen}) but {rows_in} were read: refusing to continue"
        )
