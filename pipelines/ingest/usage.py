"""Staging of an aggregated usage export (a format whose ``AGGREGATED`` is true, e.g. ``openai-usage``): its
records are counts per time bucket, never requests, so they skip the request lake and land, minute by minute, in
the usage lake that the daily rollup reads (docs/metrics.md#aggregated-sources).

Output, under the staged directory that :func:`pipelines.ingest.staging.stage_file` swaps into place::

    usage/day=YYYY-MM-DD/*.parquet   one row per minute of every accepted bucket of that day (minute rows of one
                                     bucket carry its record number; hourly and daily buckets are spread evenly)
    day=quarantine/*.parquet         the refused records (a bucket with negative counts, end <= start, a width
                                     that is not 1m/1h/1d, no model, ...), each with its reason

One record is one bucket result: rows in = buckets accepted + buckets quarantined, counted from the written files
and checked against the records the reader yielded. A file whose every record was refused is an error (the file
is set aside, ``modeshift status`` and ``materialize`` say why): there is nothing of it to use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.settings import Settings
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.formats import openai_usage
from pipelines.ingest.formats.content import Content
from pipelines.ingest.landing import LandedFile
from pipelines.ingest.normalize import normalize_params

USAGE_DIR = "usage"
QUARANTINE_DAY = "quarantine"
_BATCH_RECORDS = 100_000


@dataclass(frozen=True)
class UsageCounts:
    """The accounting of one staged usage export: records (buckets) read, quarantined, accepted per UTC day, and
    the most frequent quarantine reasons."""

    rows_in: int
    rows_quarantined: int
    buckets_by_day: dict[str, int]
    top_reasons: dict[str, int]


def _raw_parts(path: Path, content: Content, out_dir: Path, max_record_bytes: int) -> tuple[list[str], int]:
    """Write every record of the export as text fields (``source_line`` numbered from 1, ``parse_error``) to
    Parquet parts under ``out_dir``, a batch at a time (bounded memory); return the parts and the record count."""
    out_dir.mkdir(parents=True)
    columns = ["source_line", "parse_error", *openai_usage.FIELDS]
    schema = {name: pl.String for name in columns} | {"source_line": pl.Int64}
    parts: list[str] = []
    batch: list[list[Any]] = []
    count = 0

    def flush() -> None:
        part = out_dir / f"part-{len(parts):05d}.parquet"
        pl.DataFrame(batch, schema=schema, orient="row").write_parquet(part)
        parts.append(str(part))
        batch.clear()

    if content.refusal is not None:
        records: Any = iter([(f"refused as a whole: {content.refusal}", {})])
    else:
        records = openai_usage.usage_records(path, content.json_array, max_record_bytes)
    for reason, fields in records:
        count += 1
        batch.append([count, reason, *(fields.get(name) for name in openai_usage.FIELDS)])
        if len(batch) >= _BATCH_RECORDS:
            flush()
    if batch or not parts:
        flush()
    return parts, count


def usage_params(settings: Settings, landed: LandedFile, salt: str) -> dict[str, Any]:
    """The bound parameters of ``sql/ingest/usage_buckets.sql`` for one landed export."""
    base = normalize_params(
        settings, landed.format, landed.options, landed.file_id, landed.landed_at_ns, salt
    )
    keys = (
        "file_id",
        "landed_at_ns",
        "endpoint_override",
        "salt",
        "min_ts_us",
        "max_ts_us",
        "max_name_length",
    )
    return {key: base[key] for key in keys} | {"endpoint_by": openai_usage.endpoint_by(landed.options)}


def write_usage_slices(
    settings: Settings,
    landed: LandedFile,
    path: Path,
    content: Content,
    salt: str,
    work_dir: Path,
    out_dir: Path,
) -> UsageCounts:
    """Read the export at ``path``, judge every record and write the minute slices and the quarantine under
    ``out_dir``; return the accounting, checked from the written files. Raises when every record was refused."""
    parts, records = _raw_parts(path, content, work_dir / "raw", settings.ingest.max_record_bytes)
    out_dir.mkdir(parents=True, exist_ok=True)
    with connect(temp_dir=work_dir / "spill") as con:
        con.sql("SELECT * FROM read_parquet($parts)", params={"parts": parts}).create_view("usage_raw")
        buckets_file = str(work_dir / "buckets.parquet")
        con.sql(load_sql("ingest/usage_buckets"), params=usage_params(settings, landed, salt)).write_parquet(
            buckets_file
        )
        con.sql("SELECT * FROM read_parquet($file)", params={"file": buckets_file}).create_view(
            "usage_buckets"
        )
        # the quarantine first, into the empty directory; then the minutes below it
        con.sql(load_sql("ingest/usage_quarantine")).write_parquet(
            str(out_dir), partition_by=["day"], overwrite=True
        )
        minutes = con.sql(load_sql("ingest/usage_minutes"))
        minutes.write_parquet(str(out_dir / USAGE_DIR), partition_by=["day"], overwrite=True)
        counts = _account(con, out_dir, records)
    if counts.rows_in > 0 and counts.rows_quarantined == counts.rows_in:
        top = "; ".join(f"{reason} ({n})" for reason, n in list(counts.top_reasons.items())[:3])
        raise ModeshiftError(
            f"{landed.original_name}: every one of its {counts.rows_in:,} usage record(s) was refused ({top}); "
            "nothing of it can be used.",
            "Fix the export (or the --endpoint-by / --endpoint option), then 'modeshift retry "
            f"{landed.file_id}', or 'modeshift forget {landed.file_id}' and ingest it again.",
        )
    return counts


def _account(con: Any, out_dir: Path, records: int) -> UsageCounts:
    """Count the written buckets per day and the quarantined records; check that none went missing."""
    minute_files = sorted(str(p) for p in (out_dir / USAGE_DIR).glob("day=*/*.parquet"))
    quarantine_files = sorted(str(p) for p in out_dir.glob(f"day={QUARANTINE_DAY}/*.parquet"))
    by_day: dict[str, int] = {}
    last_line = 0
    if minute_files or quarantine_files:
        rows = con.sql(
            load_sql("ingest/usage_staged_counts"), params={"files": minute_files + quarantine_files}
        ).fetchall()
        for day, buckets, last in rows:
            by_day[day] = int(buckets)
            last_line = max(last_line, int(last))
    top_reasons: dict[str, int] = {}
    if quarantine_files:
        reasons = con.sql(load_sql("ingest/quarantine_reason_counts"), params={"files": quarantine_files})
        top_reasons = dict(reasons.fetchall())
    quarantined = by_day.pop(QUARANTINE_DAY, 0)
    written = quarantined + sum(by_day.values())
    if written != records or last_line != records:
        raise RuntimeError(
            f"staging a usage export read {records} records but wrote {written}: refusing to continue"
        )
    return UsageCounts(records, quarantined, dict(sorted(by_day.items())), top_reasons)
