"""Staging: parse one landed file into per-UTC-day Parquet slices plus its quarantined rows.

Output, swapped into place atomically (re-staging a file replaces it whole)::

    lake/staged/<file_id>/day=YYYY-MM-DD/*.parquet   typed rows of that day (duplicates not yet removed)
    lake/staged/<file_id>/day=quarantine/*.parquet   rows refused at parse time, with the reason
    lake/staged/<file_id>/_manifest.json             counts: rows_in = rows per day + rows quarantined

An aggregated usage export (``registry.is_aggregated``) is staged by :mod:`pipelines.ingest.usage` instead: its
buckets land as minute rows under ``usage/day=YYYY-MM-DD/`` (counted in ``usage_by_day``), never as request rows.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from pipelines.core.atomic import read_json, replace_dir, temp_path, write_json
from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.sql_loader import load_sql
from pipelines.core.text import escape_name
from pipelines.ingest.formats import registry
from pipelines.ingest.formats.content import Content, inspect_content
from pipelines.ingest.formats.physical import check_salvaged, fast_read_mismatch
from pipelines.ingest.formats.records import kind_of
from pipelines.ingest.formats.salvage import CsvLimits
from pipelines.ingest.landing import LandedFile
from pipelines.ingest.normalize import accepted_day_range, csv_limits, normalize_params, normalized_rows
from pipelines.ingest.privacy import api_key_salt
from pipelines.ingest.usage import write_usage_slices

QUARANTINE_DAY = "quarantine"


@dataclass(frozen=True)
class StagedFile:
    """The accounting of one staged file: every record is in exactly one of the day slices or the quarantine."""

    file_id: str
    original_name: str
    format: str
    landed_at_ns: int
    rows_in: int
    rows_quarantined: int
    rows_by_day: dict[str, int]
    top_reasons: dict[str, int]
    note: str | None
    # aggregated usage exports only: accepted buckets per UTC day (their minutes are under usage/day=D/)
    usage_by_day: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A manifest written before names were escaped may hold raw surrogateescape bytes: escape them on read too.
        object.__setattr__(self, "original_name", escape_name(self.original_name))

    @property
    def rows_staged(self) -> int:
        """Rows (request rows, or buckets of a usage export) that passed parse-time validation (duplicates are
        decided later, per day)."""
        return sum(self.rows_by_day.values()) + sum(self.usage_by_day.values())


def staged_dir(home: Home, file_id: str) -> Path:
    """Directory of one staged file."""
    return home.staged / file_id


def read_staged(home: Home, file_id: str) -> StagedFile | None:
    """The manifest of a staged file, or None when the file has not been staged."""
    payload = read_json(staged_dir(home, file_id) / "_manifest.json")
    return StagedFile(**payload) if payload is not None else None


def all_staged(home: Home) -> list[StagedFile]:
    """Every staged file (files whose staging finished)."""
    staged = []
    for manifest in sorted(home.staged.glob("*/_manifest.json")):
        payload = read_json(manifest)
        if payload is not None:
            staged.append(StagedFile(**payload))
    return staged


def check_day_keys(landed: LandedFile, days: list[str], first: date, last: date) -> None:
    """Raise unless every staged day is a real ISO date (``YYYY-MM-DD``) between ``first`` and ``last``: each
    becomes a daily partition key, and one bad key would stop every later run."""
    for day in days:
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            parsed = None
        if parsed is None or parsed.isoformat() != day or not first <= parsed <= last:
            raise ModeshiftError(
                f"Staging {landed.original_name} ({landed.file_id}) produced the day '{day[:40]}', which is not a "
                f"UTC day from {first} to {last}; nothing from the file was staged.",
                "Report this as a bug with the file's format; 'modeshift status' lists the file as failed.",
            )


def stage_file(home: Home, settings: Settings, landed: LandedFile) -> StagedFile:
    """Parse ``landed`` with its format into per-day slices and quarantine; return its accounting.

    Idempotent: the staged directory is rebuilt and swapped in whole, then the landed bytes are deleted. Staging a
    file again once its bytes are gone returns the existing accounting.
    """
    if not landed.path(home).exists():
        already = read_staged(home, landed.file_id)
        if already is not None:  # staged before; its raw bytes were (rightly) not kept
            return already
        raise ModeshiftError(
            f"The landed bytes of {landed.original_name} ({landed.file_id}) are missing.",
            "Run 'modeshift ingest' on the file again, then 'modeshift materialize'.",
        )
    # the checks 'modeshift ingest' ran: a manifest written by an older version may hold what they now refuse
    registry.validate_options(landed.format, landed.suffix, landed.options, settings.ingest.max_name_length)
    final_dir = staged_dir(home, landed.file_id)
    work_dir = temp_path(home.staged, landed.file_id)
    # What the file really holds (one streaming pass): a decompression bomb or a file that is not what its name
    # says is refused as a whole, as one quarantined row carrying the reason.
    cap = max(settings.ingest.gzip_min_cap_bytes, int(settings.ingest.gzip_max_ratio * landed.size_bytes))
    content = inspect_content(landed.path(home), landed.suffix, landed.sha256, cap)
    if registry.is_aggregated(landed.format):
        return _stage_usage(home, settings, landed, content, final_dir, work_dir)
    counter = registry.record_counter(landed.format)
    try:
        limits = csv_limits(settings)
        refused = f"refused as a whole: {content.refusal}" if content.refusal else None
        try:
            out_dir = _write_slices(home, settings, landed, content, work_dir, salvage=False)
            staged = _account(landed, out_dir, refused)
            # rows in are checked against the file's own lines (its elements for a JSON array, one record for a
            # file refused as a whole), not the parser that could be fooled
            mismatch = fast_read_mismatch(
                landed.path(home), landed.suffix, staged.rows_in, limits, content, counter
            )
        except duckdb.Error as error:
            if kind_of(landed.suffix) == "parquet":
                raise ModeshiftError(
                    f"{landed.original_name} is not a readable Parquet file ({_first_line(error)}).",
                    "Check the file; nothing from it was ingested.",
                ) from None
            mismatch = f"DuckDB refused the file as a whole ({_first_line(error)})"
        if mismatch is not None:
            if kind_of(landed.suffix) == "parquet" or content.refusal is not None:
                raise RuntimeError(f"staging {landed.original_name}: {mismatch}: refusing to continue")
            out_dir = _write_slices(home, settings, landed, content, work_dir, salvage=True, limits=limits)
            staged = _account(landed, out_dir, f"read record by record: {mismatch}")
            check_salvaged(
                landed.path(home),
                landed.suffix,
                staged.rows_in,
                work_dir / "salvage",
                content,
                settings.ingest.max_record_bytes,
                counter,
            )
        check_day_keys(landed, list(staged.rows_by_day), *accepted_day_range(settings))
        write_json(out_dir / "_manifest.json", staged.__dict__)
        replace_dir(out_dir, final_dir)
        # The raw bytes may carry prompts, completions and API keys: once staged they are not kept.
        landed.path(home).unlink(missing_ok=True)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return staged


def _stage_usage(
    home: Home, settings: Settings, landed: LandedFile, content: Content, final_dir: Path, work_dir: Path
) -> StagedFile:
    """Stage an aggregated usage export (:mod:`pipelines.ingest.usage`): its buckets as minute rows per day."""
    try:
        out_dir = work_dir / "out"
        counts = write_usage_slices(
            settings, landed, landed.path(home), content, api_key_salt(home), work_dir, out_dir
        )
        staged = StagedFile(
            file_id=landed.file_id,
            original_name=landed.original_name,
            format=landed.format,
            landed_at_ns=landed.landed_at_ns,
            rows_in=counts.rows_in,
            rows_quarantined=counts.rows_quarantined,
            rows_by_day={},
            top_reasons=counts.top_reasons,
            note=f"refused as a whole: {content.refusal}" if content.refusal else None,
            usage_by_day=counts.buckets_by_day,
        )
        check_day_keys(landed, list(staged.usage_by_day), *accepted_day_range(settings))
        write_json(out_dir / "_manifest.json", staged.__dict__)
        replace_dir(out_dir, final_dir)
        landed.path(home).unlink(missing_ok=True)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return staged


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:200]


def _write_slices(
    home: Home,
    settings: Settings,
    landed: LandedFile,
    content: Content,
    work_dir: Path,
    salvage: bool,
    limits: CsvLimits | None = None,
) -> Path:
    """Normalize the file and write its day slices and quarantine under ``work_dir/out``; return that directory."""
    out_dir = work_dir / ("salvaged" if salvage else "out")
    out_dir.mkdir(parents=True)
    salvage_dir = work_dir / "salvage" if salvage else None
    if salvage_dir is not None:
        salvage_dir.mkdir()
    params = normalize_params(
        settings,
        landed.format,
        landed.options,
        landed.file_id,
        landed.landed_at_ns,
        api_key_salt(home),
        # derived request ids hash the decompressed content: the same records plain and gzipped get the same ids
        content_id=content.sha256[: len(landed.file_id)],
    )
    with connect(temp_dir=work_dir / "spill") as con:
        normalized = normalized_rows(
            con,
            landed.path(home),
            landed.suffix,
            landed.format,
            landed.options,
            params,
            salvage_dir,
            limits,
            content=content,
            max_record_bytes=settings.ingest.max_record_bytes,
        )
        normalized.write_parquet(str(out_dir), partition_by=["day"], overwrite=True)
    return out_dir


def _account(landed: LandedFile, out_dir: Path, note: str | None) -> StagedFile:
    """Count the written slices; check that no record went missing between reading and writing."""
    files = sorted(str(path) for path in out_dir.glob("day=*/*.parquet"))
    rows_by_day: dict[str, int] = {}
    top_reasons: dict[str, int] = {}
    records_read = 0
    if files:
        with connect() as con:
            for day, rows, last_line in con.sql(
                load_sql("ingest/staged_day_counts"), params={"files": files}
            ).fetchall():
                rows_by_day[day] = rows
                records_read = max(records_read, last_line)
            quarantine_files = [f for f in files if f"day={QUARANTINE_DAY}" in f]
            if quarantine_files:
                reasons = con.sql(
                    load_sql("ingest/quarantine_reason_counts"), params={"files": quarantine_files}
                )
                top_reasons = dict(reasons.fetchall())
    quarantined = rows_by_day.pop(QUARANTINE_DAY, 0)
    written = quarantined + sum(rows_by_day.values())
    if written != records_read:
        raise RuntimeError(
            f"staging {landed.original_name} read {records_read} records but wrote {written}: refusing to continue"
        )
    return StagedFile(
        file_id=landed.file_id,
        original_name=landed.original_name,
        format=landed.format,
        landed_at_ns=landed.landed_at_ns,
        rows_in=records_read,
        rows_quarantined=quarantined,
        rows_by_day=dict(sorted(rows_by_day.items())),
        top_reasons=top_reasons,
        note=note,
    )
