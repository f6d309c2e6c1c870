"""The pipeline's own DuckDB file (``warehouse.duckdb``): views over the Parquet lake and small tables.

One writer at a time (a Dagster pool of 1 guards it). Views cannot take bound parameters, so the lake's own
directory (never user data) is embedded in them as a quoted string literal by :func:`sql_string_literal`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import psutil

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.day_merge import read_merged
from pipelines.ingest.failures import FileFailure, failed_files
from pipelines.ingest.landing import landed_files
from pipelines.ingest.staging import all_staged
from pipelines.ingest.usage_merge import read_usage_merged, usage_quarantine_files
from pipelines.lake.rate_card import priced_rate_card
from pipelines.lake.weekly_store import table_files

INGEST_LOG_SCHEMA = {
    "source_file": pl.String,
    "original_name": pl.String,
    "format": pl.String,
    "rows_in": pl.Int64,
    "rows_accepted": pl.Int64,
    "rows_quarantined": pl.Int64,
    "rows_pending": pl.Int64,
    "ingested_at": pl.String,
    "note": pl.String,
}


# DuckDB's lock error: 'Could not set lock on file "<path>": Conflicting lock is held in <program> (PID <n>)...'
_LOCK_HELD = re.compile(
    r"Could not set lock on file .*?Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)"
)
ANALYTICS_FILE_NAME = "analytics.duckdb"


def warehouse_lock_error(error: BaseException, warehouse: Path) -> ModeshiftError | None:
    """The clear error for DuckDB's "Conflicting lock is held" on ``warehouse`` (naming the holder's PID and command,
    and pointing analysts to analytics.duckdb), or None when ``error`` is something else."""
    match = _LOCK_HELD.search(str(error))
    if match is None:
        return None
    pid = int(match.group("pid"))
    try:
        command = " ".join(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        command = ""
    command = " ".join(
        (command or match.group("program")).split()
    )  # one line, whatever the command line holds
    if len(command) > 80:
        command = command[:77] + "..."
    analytics = warehouse.parent / ANALYTICS_FILE_NAME
    return ModeshiftError(
        f"{warehouse.name} is held open by another process, PID {pid} ({command}); analysts should open "
        f"{analytics.name} (duckdb -readonly {analytics}), never {warehouse.name}.",
        f"Close that session (or end PID {pid}), then re-run the command; {warehouse} allows one writer and no "
        "reader while someone writes.",
    )


@contextmanager
def open_warehouse(home: Home, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to ``warehouse.duckdb``; a lock held by another process becomes a clear ModeshiftError."""
    try:
        con = connect(home.warehouse, read_only=read_only)
    except duckdb.IOException as error:
        clear = warehouse_lock_error(error, home.warehouse)
        if clear is None:
            raise
        raise clear from None
    with con:
        yield con


def sql_string_literal(value: str) -> str:
    """``value`` as a DuckDB string literal (single quotes doubled). Only for paths modeshift builds itself."""
    return "'" + value.replace("'", "''") + "'"


def ingest_log_frame(home: Home) -> pl.DataFrame:
    """One row per landed file: rows in = accepted + quarantined + pending (staged for a day not merged yet). A file
    that could not be staged has no counts and a note starting 'failed:' with its error. The rows of an aggregated
    usage export are its buckets (docs/metrics.md#aggregated-sources)."""
    staged = {s.file_id: s for s in all_staged(home)}
    merged_by_file: dict[str, list[int]] = {}
    days = {day for s in staged.values() for day in s.rows_by_day}
    usage_days = {day for s in staged.values() for day in s.usage_by_day}
    merges = [read_merged(home, day) for day in days] + [read_usage_merged(home, day) for day in usage_days]
    for merged in merges:
        for file_id, counts in (merged.inputs if merged else {}).items():
            totals = merged_by_file.setdefault(file_id, [0, 0])
            totals[0] += counts.accepted
            totals[1] += counts.quarantined
    failed = failed_files(home)
    rows = []
    for landed in landed_files(home):
        staged_file = staged.get(landed.file_id)
        accepted, duplicates = merged_by_file.get(landed.file_id, [0, 0])
        rows_in = staged_file.rows_in if staged_file else None
        quarantined = (staged_file.rows_quarantined + duplicates) if staged_file else 0
        rows.append(
            {
                "source_file": landed.file_id,
                "original_name": landed.original_name,
                "format": landed.format,
                "rows_in": rows_in,
                "rows_accepted": accepted,
                "rows_quarantined": quarantined,
                "rows_pending": (rows_in - accepted - quarantined) if rows_in is not None else None,
                "ingested_at": landed.landed_at,
                "note": staged_file.note if staged_file else _unstaged_note(landed.file_id, failed),
            }
        )
    return pl.DataFrame(rows, schema=INGEST_LOG_SCHEMA)


def _unstaged_note(file_id: str, failed: dict[str, FileFailure]) -> str:
    """The note of a file without staged rows: why it failed and what to do, or that it waits to be staged."""
    failure = failed.get(file_id)
    if failure is None:
        return "not staged yet"
    return (
        f"failed: {failure.error} (fix it, then 'modeshift retry {file_id}', or 'modeshift forget {file_id}')"
    )


def _glob(directory: Path, pattern: str) -> str | None:
    return str(directory / pattern) if any(directory.glob(pattern)) else None


def quote_identifier(name: str) -> str:
    """A DuckDB identifier in double quotes. Only for table names modeshift defines itself."""
    return '"' + name.replace('"', '""') + '"'


def refresh_weekly_tables(home: Home, settings: Settings, tables: tuple[str, ...]) -> dict[str, int]:
    """(Re)load each weekly table from its Parquet partitions (dropped when it has none), and the rate card; return
    row counts."""
    counts: dict[str, int] = {}
    with open_warehouse(home) as con:
        card = priced_rate_card(settings)
        con.register("rate_card_frame", card)
        con.sql(load_sql("warehouse/create_rate_card"))
        counts["rate_card"] = card.height
        for table in tables:
            files = table_files(home, table)
            con.sql(f"DROP TABLE IF EXISTS {quote_identifier(table)}")
            if not files:  # no week left (every file forgotten): no table, as in a home that never had one
                continue
            con.sql(load_sql("warehouse/read_parquet_union"), params={"files": files}).create(table)
            counts[table] = con.sql(load_sql("ingest/count_rows"), params={"files": files}).fetchall()[0][0]
    return counts


def refresh_ingest_tables(home: Home) -> dict[str, int]:
    """(Re)create ``ingest_log`` and the ``requests`` / ``quarantine`` views in the warehouse; return row counts."""
    ingest_log = ingest_log_frame(home)
    requests_glob = _glob(home.requests, "day=*/*.parquet")
    # Listed here rather than globbed by DuckDB, so that a crashed writer's .tmp-* / .trash-* directory is never read.
    quarantine_files = (
        sorted(str(p) for p in home.staged.glob("[!.]*/day=quarantine/*.parquet"))
        + sorted(str(p) for p in home.day_quarantine.glob("day=*/*.parquet"))
        + usage_quarantine_files(home)
    )
    with open_warehouse(home) as con:
        con.register("ingest_log_frame", ingest_log)
        con.sql(load_sql("warehouse/create_ingest_log"))
        if requests_glob:
            con.sql(
                load_sql("warehouse/create_requests_view").replace(
                    "$requests_glob", sql_string_literal(requests_glob)
                )
            )
        else:
            con.sql(load_sql("warehouse/create_requests_empty"))
        if quarantine_files:
            files = "[" + ", ".join(sql_string_literal(f) for f in quarantine_files) + "]"
            con.sql(load_sql("warehouse/create_quarantine_view").replace("$quarantine_globs", files))
        else:
            con.sql(load_sql("warehouse/create_quarantine_empty"))
        relation = con.sql(load_sql("warehouse/count_ingest_tables"))
        counts = dict(zip(relation.columns, relation.fetchall()[0], strict=True))
    return counts
