"""The slow, careful reader for files DuckDB refuses as a whole: record by record in Python.

It keeps every record it can read, turns every one it cannot into a row carrying a ``parse_error`` (never its text),
and writes the result as a Parquet file of text columns that the fast path then reads like any other file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PARSE_ERROR_FIELD = "__modeshift_parse_error"
_BATCH_ROWS = 100_000
_CHUNK_BYTES = 1 << 20
# The default of the ingest.max_record_bytes setting (records longer than it are refused one by one).
DEFAULT_MAX_RECORD_BYTES = 256 * 1024 * 1024
csv.field_size_limit(1 << 28)
TRUNCATED = "file truncated: the compressed stream ends in the middle of a record"
_STREAM_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, OSError)


class _TooLong:
    """Stands for a line longer than the record cap (its bytes were skipped, never held)."""

    def __init__(self, limit: int) -> None:
        self.reason = f"record longer than {limit:,} bytes (setting ingest.max_record_bytes): skipped"


def _open_binary(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # type: ignore[return-value]


def _binary_lines(path: Path, max_record_bytes: int) -> Iterator[bytes | _TooLong | None]:
    """Lines of the (decompressed) file, each at most ``max_record_bytes`` long (plus its newline): a longer one is
    skipped up to its newline and yields a :class:`_TooLong`. Yields None once if the compressed stream ends early.
    Memory stays bounded by the cap, however long a line is."""
    with _open_binary(path) as handle:
        try:
            while line := handle.readline(max_record_bytes + 1):
                if len(line) <= max_record_bytes or line.endswith(b"\n"):
                    yield line
                    continue
                while (rest := handle.readline(_CHUNK_BYTES)) and not rest.endswith(b"\n"):
                    pass
                yield _TooLong(max_record_bytes)
        except _STREAM_ERRORS:
            yield None


def binary_lines(path: Path, max_record_bytes: int) -> Iterator[bytes | _TooLong | None]:
    """The lines of the (decompressed) file as bytes, bounded by ``max_record_bytes`` (see :func:`_binary_lines`):
    an over-long line is an object with a ``reason``, a cut stream ends with None."""
    return _binary_lines(path, max_record_bytes)


def json_array_values(path: Path, max_record_bytes: int) -> Iterator[tuple[object, str | None]]:
    """The elements of a file holding one JSON array, one at a time (see :func:`_json_array_values`)."""
    return _json_array_values(path, max_record_bytes)


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


# Prunes a parsed JSON record to what a format reads, before any of it is kept (see salvage_to_parquet).
Project = Callable[[dict[str, object]], dict[str, object]]


def _fields_of(
    record: object, fields: list[str], what: str, project: Project | None = None
) -> tuple[str | None, list[str | None]]:
    """The text of each field of one parsed JSON record (pruned by ``project`` first, when given), or the reason it
    cannot be read (``what``: 'line' or 'array element')."""
    if not isinstance(record, dict):
        return f"{what} is JSON but not an object (a {type(record).__name__})", [None] * len(fields)
    if project is not None:
        record = project(record)
    values = [_as_text(record.get(name)) for name in fields]
    try:
        "".join(value for value in values if value is not None).encode("utf-8")
    except UnicodeEncodeError:  # a \ud800-style escape of half a surrogate pair: not text
        return f"{what} is not valid UTF-8 (an escaped lone surrogate)", [None] * len(fields)
    return None, values


def json_lines(path: Path, max_record_bytes: int) -> Iterator[tuple[object, str | None]]:
    """Each record of a JSON lines file as the record-by-record reader sees it: ``(value, None)`` for a non-blank
    line that is JSON, ``(None, reason)`` for one that is not (or is longer than ``max_record_bytes``, or the cut-off
    tail of a truncated gzip stream). Blank lines are no record."""
    first = True
    for raw in _binary_lines(path, max_record_bytes):
        if raw is None:
            yield None, TRUNCATED
            return
        if isinstance(raw, _TooLong):
            yield None, raw.reason
            first = False
            continue
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield None, "line is not valid UTF-8"
            continue
        try:
            yield json.loads(text), None
        except (json.JSONDecodeError, RecursionError):
            yield None, "unparseable line: not valid JSON"


def json_records(path: Path, json_array: bool, max_record_bytes: int) -> Iterator[tuple[object, str | None]]:
    """The records of a JSON file (its lines, or the elements of its one array) as the record-by-record reader
    enumerates them: ``(value, None)`` or ``(None, why it is unreadable)``, one per record."""
    if json_array:
        return _json_array_values(path, max_record_bytes)
    return json_lines(path, max_record_bytes)


def _jsonl_records(
    path: Path, fields: list[str], max_record_bytes: int, project: Project | None = None
) -> Iterator[tuple[str | None, list[str | None]]]:
    empty: list[str | None] = [None] * len(fields)
    for record, problem in json_lines(path, max_record_bytes):
        yield (problem, empty) if problem is not None else _fields_of(record, fields, "line", project)


def _json_array_values(path: Path, max_record_bytes: int) -> Iterator[tuple[object, str | None]]:
    """The elements of a file holding one JSON array, parsed one at a time from a buffer of at most about
    ``max_record_bytes`` (never the whole file). Damage that loses the array's structure (bad syntax, bytes that
    are not UTF-8, a cut stream, an element over the cap) ends the file: ``(None, reason)`` saying where and why;
    each element is ``(value, None)``."""
    decoder = json.JSONDecoder()
    text = codecs.getincrementaldecoder("utf-8")()
    buffer, position, count, eof = "", 0, 0, False
    pending: str | None = None  # a stream error met after some bytes were read: reported on the next read
    with _open_binary(path) as handle:

        def more() -> str | None:
            """Read on into the buffer (at least doubling it); the reason reading cannot go on, or None. Reads with
            read1, so the records decompressed before a cut in the stream are kept."""
            nonlocal buffer, position, eof, pending
            if pending is not None:
                eof = True
                return pending
            want, pieces, got = max(_CHUNK_BYTES, len(buffer) - position), [], 0
            while got < want:
                try:
                    piece = handle.read1(want - got)
                except _STREAM_ERRORS:
                    pending = TRUNCATED
                    break
                if not piece:
                    break
                pieces.append(piece)
                got += len(piece)
            try:
                decoded = text.decode(b"".join(pieces), final=not pieces and pending is None)
            except UnicodeDecodeError:
                eof = True
                return f"the JSON array is not valid UTF-8 after record {count}: the rest is unreadable"
            buffer, position = buffer[position:] + decoded, 0
            if not pieces:
                eof = True
                return pending
            return None

        def skip_blanks() -> str | None:
            nonlocal position
            while True:
                while position < len(buffer) and buffer[position] in " \t\r\n\ufeff":
                    position += 1
                if position < len(buffer) or eof:
                    return None
                if (problem := more()) is not None:
                    return problem

        def element() -> tuple[object, str | None]:
            """The JSON value at ``position`` (reading on while it is incomplete), or the reason there is none."""
            nonlocal position
            while True:
                try:
                    record, end = decoder.raw_decode(buffer, position)
                    if end < len(buffer) or eof:  # a number cut at the buffer's end is not complete yet
                        position = end
                        return record, None
                except json.JSONDecodeError as error:
                    if eof:
                        return None, f"unreadable JSON array at record {count + 1}: {error.msg}"
                except RecursionError:
                    return None, f"unreadable JSON array at record {count + 1}: nested too deep"
                if len(buffer) - position > max_record_bytes:
                    return None, (
                        f"record {count + 1} of the JSON array is longer than {max_record_bytes:,} bytes "
                        "(setting ingest.max_record_bytes): the rest is unreadable"
                    )
                if (problem := more()) is not None:
                    return None, problem

        def after_blanks() -> str | None:
            """The next non-blank character (consumed), '' at the end of the file, or None (the problem is yielded)."""
            nonlocal position
            if (problem := skip_blanks()) is not None:
                failures.append(problem)
                return None
            if position >= len(buffer):
                return ""
            position += 1
            return buffer[position - 1]

        failures: list[str] = []
        opening = after_blanks()
        if opening != "[":  # the content sniff said '[': only a read error gets here
            yield None, (failures or ["unreadable JSON array: it does not start with '['"])[0]
            return
        if (problem := skip_blanks()) is not None:
            yield None, problem
            return
        if buffer[position : position + 1] == "]":
            return  # an empty array
        while True:
            record, problem = element()
            if problem is not None:
                yield None, problem
                return
            count += 1
            yield record, None
            separator = after_blanks()
            if separator == "]":
                return
            if separator != ",":
                if separator is None:
                    reason = failures[0]
                elif separator == "":
                    reason = (
                        f"file truncated: the JSON array ends after record {count} without its closing ']'"
                    )
                else:
                    reason = f"unreadable JSON array after record {count}: expected ',' or ']'"
                yield None, reason
                return
            if (problem := skip_blanks()) is not None:
                yield None, problem
                return


def _json_array_records(
    path: Path, fields: list[str], max_record_bytes: int, project: Project | None = None
) -> Iterator[tuple[str | None, list[str | None]]]:
    """The fields of each element of a file holding one JSON array (see :func:`_json_array_values`)."""
    empty: list[str | None] = [None] * len(fields)
    for record, damage in _json_array_values(path, max_record_bytes):
        yield (damage, empty) if damage is not None else _fields_of(record, fields, "array element", project)


def json_array_elements(
    path: Path, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
) -> tuple[int, str | None]:
    """How many elements the file's one JSON array holds, counted by the streaming decoder, and the damage that
    ended it early (None when the array is whole): the independent count of an array's records."""
    elements, damage = 0, None
    for _, problem in _json_array_values(path, max_record_bytes):
        if problem is not None:
            damage = problem
        else:
            elements += 1
    return elements, damage


_TOO_LONG_MARK = "\x00TOO_LONG\x00"  # stands for a physical line past the record cap (one line, one record)


def _decoded_lines(path: Path, max_record_bytes: int) -> Iterator[str]:
    for raw in _binary_lines(path, max_record_bytes):
        if raw is None:
            yield "\x00TRUNCATED\x00"
            return
        if isinstance(raw, _TooLong):
            yield _TOO_LONG_MARK + "\n"
            continue
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
    """A record ran past the CSV limits or the record length cap (``args[0]``: why its first line is refused)."""


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
    path: Path, fields: list[str], limits: CsvLimits, stats: CsvLineStats, max_record_bytes: int
) -> Iterator[tuple[str | None, list[str | None]]]:
    empty: list[str | None] = [None] * len(fields)
    too_long = _TooLong(max_record_bytes).reason
    source = _Lines(_decoded_lines(path, max_record_bytes))
    first = source.next()
    if first is None:
        return
    stats.lines += 1
    header = [name.lstrip("\ufeff").strip() for name in next(csv.reader([first]), [])]
    positions = [header.index(name) if name in header else None for name in fields]
    consumed: list[str] = []

    overrun = (
        f"a quoted field runs over more than {limits.max_field_lines} lines or "
        f"{limits.max_multiline_field_bytes:,} bytes (an unterminated quote?): this line is refused "
        "and reading goes on with the next"
    )
    past_cap = (
        f"a quoted field runs past the record cap of {max_record_bytes:,} bytes (setting ingest.max_record_bytes; "
        "an unterminated quote?): this line is refused and reading goes on with the next"
    )

    def feed() -> Iterator[str]:
        size = 0
        while (line := source.next()) is not None:
            consumed.append(line)
            size += len(line)
            if len(consumed) > 1 and (line.startswith(_TOO_LONG_MARK) or size > max_record_bytes):
                # a record may not run into a line past the cap, nor grow past it over several lines
                raise _Overrun(past_cap)
            if len(consumed) > limits.max_field_lines + 1 or (
                len(consumed) > 1 and size > limits.max_multiline_field_bytes
            ):
                raise _Overrun(overrun)
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
                    yield TRUNCATED, empty
                    return
                stats.lines += 1
                source.push_back(consumed[1:])
                if isinstance(error, _Overrun):
                    yield str(error.args[0]), empty
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
                yield TRUNCATED, empty
                return
            if row == [_TOO_LONG_MARK]:  # one physical line past the record cap: one record, refused
                yield too_long, empty
                continue
            if len(row) != len(header):
                yield f"CSV row has {len(row)} fields, the header has {len(header)}", empty
                continue
            if any("\udc80" <= ch <= "\udcff" for value in row for ch in value):
                yield "row is not valid UTF-8", empty
                continue
            yield None, [row[p] if p is not None and row[p] != "" else None for p in positions]


LINE_STATS_FILE = "csv-line-stats.json"


def salvage_to_parquet(
    path: Path,
    kind: str,
    fields: list[str],
    work_dir: Path,
    limits: CsvLimits | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    project: Project | None = None,
) -> Path:
    """Read ``path`` (kind 'jsonl', 'json_array' or 'csv') record by record into a Parquet file in ``work_dir``;
    return its path. A record longer than ``max_record_bytes`` (decompressed) becomes a row with a parse error;
    quoted CSV fields are bounded by ``limits``. ``project`` (JSON only) prunes each parsed record to what the
    format reads before anything of it is written (a format whose records nest text beside what it reads).

    Columns: ``source_line`` (1-based record number), ``__modeshift_parse_error`` and every name in ``fields``.
    For CSV, what the reader saw of the physical lines (:class:`CsvLineStats`) goes to ``work_dir/LINE_STATS_FILE``.
    """
    stats = CsvLineStats()
    if kind == "csv":
        records = _csv_records(path, fields, limits or CsvLimits(), stats, max_record_bytes)
    else:
        readers = {"jsonl": _jsonl_records, "json_array": _json_array_records}
        records = readers[kind](path, fields, max_record_bytes, project)
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
