"""The one query that turns a landed file into typed, judged request rows, and its dry run at ``modeshift ingest``.

Staging runs :func:`normalized_rows` on the landed bytes; ``modeshift ingest`` runs the very same function on a
zero-record stand-in of the file (same kind, same CSV header or Parquet schema), so a mapping or an option that
DuckDB cannot bind (an empty path segment, a field name it cannot quote) is refused before the file is landed,
instead of failing inside every later run.
"""

from __future__ import annotations

import csv
import tempfile
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.calendar import DAILY_PARTITIONS_END_OFFSET, PARTITIONS_START_DATE
from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.settings import Settings
from pipelines.core.sql_loader import load_sql
from pipelines.core.text import escape_name
from pipelines.ingest.formats import registry
from pipelines.ingest.formats.content import Content, misnamed
from pipelines.ingest.formats.records import csv_header, kind_of, record_reader
from pipelines.ingest.formats.salvage import DEFAULT_MAX_RECORD_BYTES, CsvLimits


def accepted_day_range(settings: Settings, now: datetime | None = None) -> tuple[date, date]:
    """The first and last UTC day a staged row may fall on: from the later of the home's start date and the first
    day partition, to the last day partition that exists ``now`` (tomorrow, UTC). Days are partition keys."""
    today = (now or datetime.now(tz=UTC)).astimezone(UTC).date()
    return max(settings.ingest.start_date, PARTITIONS_START_DATE), today + timedelta(
        days=DAILY_PARTITIONS_END_OFFSET - 1
    )


def csv_limits(settings: Settings) -> CsvLimits:
    """How far a quoted CSV field may run over lines (``ingest.csv_max_field_lines``, ``..._bytes``)."""
    return CsvLimits(
        max_field_lines=settings.ingest.csv_max_field_lines,
        max_multiline_field_bytes=settings.ingest.csv_max_multiline_field_bytes,
    )


def _epoch_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def normalize_params(
    settings: Settings,
    fmt: str,
    options: dict[str, Any],
    file_id: str,
    landed_at_ns: int,
    salt: str,
    content_id: str | None = None,
) -> dict[str, Any]:
    """The bound parameters of ``sql/ingest/normalize_rows.sql`` for one file (timestamps in µs since 1970).
    ``content_id`` (a prefix of the digest of the decompressed content, default ``file_id``) names the records
    without a request_id: the same records plain and gzipped get the same derived ids."""
    rule = registry.timestamp_rule(fmt, options)
    landed_at = datetime.fromtimestamp(landed_at_ns / 1e9, tz=UTC)
    first_day, last_day = accepted_day_range(settings)
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    # the last instant of the last day partition that exists now: a later row would make a day nobody can run
    horizon = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    latest = min(
        landed_at + timedelta(hours=settings.ingest.max_future_hours), horizon - timedelta(microseconds=1)
    )
    return {
        "file_id": file_id,
        "content_id": content_id if content_id is not None else file_id,
        "landed_at_ns": landed_at_ns,
        "ts_unit": rule.unit,
        "anchor_us": _epoch_us(rule.anchor) if rule.anchor is not None else None,
        "endpoint_override": options.get("endpoint"),
        "salt": salt,
        "min_ts_us": _epoch_us(start),
        "max_ts_us": _epoch_us(latest),
        "max_name_length": settings.ingest.max_name_length,
    }


def normalized_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    suffix: str,
    fmt: str,
    options: dict[str, Any],
    params: dict[str, Any],
    salvage_dir: Path | None = None,
    csv_limits: CsvLimits | None = None,
    content: Content | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> duckdb.DuckDBPyRelation:
    """The typed and judged rows of the file at ``path`` (lazy; see ``sql/ingest/normalize_rows.sql``); ``content``
    is what :func:`pipelines.ingest.formats.content.inspect_content` found in it (see
    :func:`pipelines.ingest.formats.records.record_reader`)."""
    read = record_reader(con, path, suffix, salvage_dir, csv_limits, content, max_record_bytes)
    registry.raw_rows(fmt, suffix, options, read).create_view("raw_rows", replace=True)
    return con.sql(load_sql("ingest/normalize_rows"), params=params)


def _stand_in(source: Path, suffix: str, directory: Path) -> Path | None:
    """A zero-record file of the same kind as ``source`` (its CSV header, its Parquet schema); None when the
    source's schema cannot be read (staging reports that file as unreadable) or the file is not what its name says
    (staging refuses it as a whole, as one quarantined row, without reading it as its format)."""
    if misnamed(source, suffix) is not None:
        return None
    kind = kind_of(suffix)
    if kind == "jsonl":
        target = directory / "stand-in.jsonl"
        target.write_bytes(b"")
    elif kind == "csv":
        target = directory / "stand-in.csv"
        try:
            header = csv_header(source)
        except (
            OSError,
            EOFError,
            zlib.error,
        ):  # a gzip stream damaged at its start: staging reads what it can
            return None
        with open(target, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerow(header)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(source)
        except (OSError, pa.ArrowException):
            return None
        target = directory / "stand-in.parquet"
        pq.write_table(schema.empty_table(), target)
    return target


def check_stageable(settings: Settings, source: Path, fmt: str, suffix: str, options: dict[str, Any]) -> None:
    """Bind and run the staging query for ``fmt`` with ``options`` on a zero-record stand-in of ``source``, as
    staging would: DuckDB's fast reader, and when DuckDB refuses that, the record-by-record reader. A clear error
    when neither can run it (so a bad mapping is refused at ingest, not by every later run). An aggregated format
    (``registry.is_aggregated``) has no user-given query to bind: its options were checked, nothing is run."""
    if registry.is_aggregated(fmt):
        return
    with tempfile.TemporaryDirectory(prefix="modeshift-dry-run-") as directory:
        stand_in = _stand_in(source, suffix, Path(directory))
        if stand_in is None:
            return
        params = normalize_params(settings, fmt, options, "0" * 20, 0, "dry-run")
        salvage_dir = Path(directory) / "salvage"
        salvage_dir.mkdir()
        attempts = [None] if kind_of(suffix) == "parquet" else [None, salvage_dir]
        for attempt, salvage in enumerate(attempts, start=1):
            try:
                with connect() as con:
                    normalized_rows(con, stand_in, stand_in.suffix, fmt, options, params, salvage).fetchall()
                return
            except duckdb.Error as error:  # staging reads the file record by record then: so does the dry run
                if attempt < len(attempts):
                    continue
                failure: Exception = error
            except (ValueError, TypeError) as error:  # the expression builders: no fallback in staging either
                failure = error
            first = (str(failure).strip().splitlines() or [type(failure).__name__])[0][:300]
            raise ModeshiftError(
                f"{escape_name(source.name)} cannot be read as {fmt} with these options: DuckDB refuses the query "
                f"({first}).",
                "Fix the mapping or the options; nothing was landed.",
            ) from None
