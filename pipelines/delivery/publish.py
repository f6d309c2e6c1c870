"""Publish the analysts' read-only DuckDB file, ``$MODESHIFT_HOME/analytics.duckdb``.

Each publish builds a complete new file under a temporary name next to the published one, then renames it over
the published file (``os.replace``: atomic). So:

* an analyst who keeps the old file open keeps reading the old file (the rename does not touch it);
* a new connection opens the new file;
* a crash before the rename leaves the published file as it was (only a ``.tmp-*`` file is left, which no reader
  opens and the next publish deletes);
* publishing never opens, locks or writes the published file, so an analyst session can never block a run.

Small tables are copied from the pipeline's warehouse (opened read-only). ``requests`` is a view over the request
lake, but the lake's day files are replaced in place by later runs, so the view reads a *snapshot*: hard links to
the day files as they were when the file was published, in ``analytics-snapshots/<snapshot>/requests/``. A hard
link keeps the old bytes alive after the lake replaces its file. Each snapshot directory also holds a hard link to
the analytics file that reads it (that is how the published file's snapshot is found without opening it).

Retention: the new snapshot and the one the previous file reads are kept (``analytics.keep_snapshots``, default 2,
counts both); older ones are deleted. A session opened two publishes ago therefore loses ``requests`` (the other
tables are inside the file and stay readable).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.core.atomic import replace_file, temp_sibling
from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.sql_loader import load_sql
from pipelines.delivery.warehouse import sql_string_literal, warehouse_lock_error
from pipelines.delivery.whatif_tables import WHATIF_TABLES, whatif_frames
from pipelines.lake.weekly_store import WEEKLY_TABLES

ANALYTICS_FILE = "analytics.duckdb"
SNAPSHOTS_DIR = "analytics-snapshots"
# Tables copied from the warehouse, in the order they are published (names are the analysts' interface).
COPIED_TABLES: tuple[str, ...] = ("quarantine", "ingest_log", *WEEKLY_TABLES, "rate_card")
PUBLISHED_TABLES: tuple[str, ...] = ("requests", *COPIED_TABLES, *WHATIF_TABLES)
TOP_RECOMMENDATIONS = "analyst/top_savings"
# The what-if table macros (docs/analytics.md#what-if-in-sql), created in this order (each uses the ones before).
WHATIF_MACROS: tuple[str, ...] = (
    "publish/macro_whatif_pool_series",
    "publish/macro_whatif_pool_fixed",
    "publish/macro_whatif_pool_scheduled",
    "publish/macro_whatif_fixed",
    "publish/macro_whatif_scheduled",
)

_LOCK_FILE = ".publish.lock"
_SOURCE = "pipeline"  # the warehouse, attached read-only
_TARGET = "analytics"  # the new analytics file, attached read-write


@dataclass(frozen=True)
class PublishResult:
    """What one publish wrote: the published file, its snapshot, row counts (None: table not produced yet), the
    newest week with recommendations and that week's top recommendations (rows of ``sql/analyst/top_savings.sql``).
    """

    path: Path
    snapshot: str
    snapshot_dir: Path
    published_at: datetime
    row_counts: dict[str, int | None]
    newest_week: date | None
    top_recommendations: list[dict[str, Any]]
    kept_snapshots: list[str]


def analytics_path(home: Home) -> Path:
    """The published analytics file of ``home``: ``$MODESHIFT_HOME/analytics.duckdb``."""
    return home.root / ANALYTICS_FILE


def snapshots_dir(home: Home) -> Path:
    """The directory holding one sub-directory per published snapshot of the request lake."""
    return home.root / SNAPSHOTS_DIR


def live_snapshot(home: Home) -> str | None:
    """The snapshot the published file reads (found by the file's inode, without opening it), or None."""
    try:
        published = analytics_path(home).stat()
    except FileNotFoundError:
        return None
    for directory in _snapshot_dirs(home):
        try:
            linked = (directory / ANALYTICS_FILE).stat()
        except FileNotFoundError:
            continue
        if (linked.st_ino, linked.st_dev) == (published.st_ino, published.st_dev):
            return directory.name
    return None


def publish_analytics(home: Home, settings: Settings) -> PublishResult:
    """Build a new analytics file from the warehouse and a fresh snapshot of the request lake, and atomically
    replace the published file with it; then delete the snapshots no longer needed. Publishers queue on a lock
    file of their own (``analytics-snapshots/.publish.lock``), never on the published file."""
    keep = settings.analytics.keep_snapshots
    if not home.warehouse.exists():
        raise ModeshiftError(
            f"There is no warehouse to publish from ({home.warehouse}).", "Run 'modeshift materialize' first."
        )
    with _publish_lock(home):
        _remove_stale_temporaries(home)
        previous = live_snapshot(home)
        published_at = datetime.now(UTC)
        snapshot = f"{published_at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
        snapshot_dir = snapshots_dir(home) / snapshot
        target = analytics_path(home)
        tmp = temp_sibling(target)
        try:
            request_files = _snapshot_request_lake(home, snapshot_dir)
            built = _build(tmp, home.warehouse, request_files, snapshot, snapshot_dir, published_at,
                           lambda weeks: whatif_frames(home, settings, weeks), settings.analytics.whatif_weeks)  # fmt: skip
            os.link(tmp, snapshot_dir / ANALYTICS_FILE)  # how live_snapshot finds this snapshot later
            _fsync_dir(snapshot_dir)
        except BaseException:
            _discard(tmp, snapshot_dir)  # the published file was never touched
            raise
        replace_file(tmp, target)  # fsync, then the atomic rename
        _fsync_dir(target.parent)
        kept = _prune_snapshots(home, snapshot, previous, keep)
    return PublishResult(
        path=target,
        snapshot=snapshot,
        snapshot_dir=snapshot_dir,
        published_at=published_at,
        row_counts=built.row_counts,
        newest_week=built.newest_week,
        top_recommendations=built.top_recommendations,
        kept_snapshots=kept,
    )


@dataclass(frozen=True)
class _Built:
    row_counts: dict[str, int | None]
    newest_week: date | None
    top_recommendations: list[dict[str, Any]]


def _build(
    path: Path,
    warehouse: Path,
    request_files: list[Path],
    snapshot: str,
    snapshot_dir: Path,
    published_at: datetime,
    whatif: Callable[[list[date]], dict[str, pl.DataFrame]],
    whatif_weeks: int,
) -> _Built:
    """Write the complete analytics database to ``path`` (a new file), checkpointed and closed, with the what-if
    tables of the newest ``whatif_weeks`` weeks (built by ``whatif``) and the macros that cost plans on them."""
    con = connect()
    try:
        con.sql(load_sql("publish/attach_analytics"), params={"path": str(path)})
        try:
            con.sql(load_sql("publish/attach_pipeline"), params={"path": str(warehouse)})
        except duckdb.IOException as error:
            clear = warehouse_lock_error(error, warehouse)
            if clear is None:
                raise
            raise clear from None
        sources = {
            row[0]
            for row in con.sql(load_sql("publish/source_tables"), params={"catalog": _SOURCE}).fetchall()
        }
        con.sql(f"USE {_TARGET}")
        _create_requests_view(con, request_files)
        counts: dict[str, int | None] = {"requests": _count(con, f"{_TARGET}.requests")}
        for table in COPIED_TABLES:
            if table not in sources:
                counts[table] = None
                continue
            con.sql(load_sql("publish/read_table"), params={"name": f"{_SOURCE}.{table}"}).create(table)
            counts[table] = _count(con, f"{_TARGET}.{table}")
        newest_week, top = None, []
        if counts["recommendations"] is not None:
            newest_week = con.sql(load_sql("publish/newest_week")).fetchall()[0][0]
            relation = con.sql(load_sql(TOP_RECOMMENDATIONS))
            top = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
        if whatif is not None:
            counts.update(
                _create_whatif(con, whatif, whatif_weeks if counts["recommendations"] is not None else 0)
            )
        con.sql(
            load_sql("publish/create_published"),
            params={
                "published_at": published_at,
                "snapshot": snapshot,
                "snapshot_dir": str(snapshot_dir),
                "newest_week": newest_week,
            }
            | {f"{table}_rows": counts[table] for table in PUBLISHED_TABLES},
        )
        con.sql(f"CHECKPOINT {_TARGET}")
        con.sql("USE memory")
        con.sql(f"DETACH {_TARGET}")
        con.sql(f"DETACH {_SOURCE}")
    finally:
        con.close()
    wal = path.with_name(path.name + ".wal")
    if wal.exists():  # never publish a file whose data still sits in a write-ahead log next to it
        raise RuntimeError(f"DuckDB left a write-ahead log next to {path} after the checkpoint")
    return _Built(counts, newest_week, top)


def _create_requests_view(con: duckdb.DuckDBPyConnection, request_files: list[Path]) -> None:
    """The ``requests`` view (the warehouse's columns) over the snapshot's day files, embedded as literals."""
    if not request_files:
        con.sql(load_sql("warehouse/create_requests_empty"))
        return
    files = "[" + ", ".join(sql_string_literal(str(p)) for p in request_files) + "]"
    con.sql(load_sql("warehouse/create_requests_view").replace("$requests_glob", files))


def _create_whatif(
    con: duckdb.DuckDBPyConnection, frames: Callable[[list[date]], dict[str, pl.DataFrame]], weeks: int
) -> dict[str, int | None]:
    """The what-if tables of the newest ``weeks`` weeks with recommendations, and the what-if macros; their row
    counts."""
    chosen = (
        [row[0] for row in con.sql(load_sql("publish/whatif_weeks"), params={"weeks": weeks}).fetchall()]
        if weeks > 0
        else []
    )
    counts: dict[str, int | None] = {}
    for name, frame in frames(chosen).items():
        con.from_arrow(frame.to_arrow()).create(name)
        counts[name] = frame.height
    for macro in WHATIF_MACROS:
        con.sql(load_sql(macro))
    return counts


def _count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return int(con.sql(load_sql("publish/count_table"), params={"name": name}).fetchall()[0][0])


def _snapshot_request_lake(home: Home, snapshot_dir: Path) -> list[Path]:
    """Hard-link every day file of the request lake into ``snapshot_dir/requests/day=.../`` under its own name
    (``part.parquet``, ``part-2.parquet``...; a copy where the file system refuses links); return the snapshot's
    files, oldest day first."""
    files = []
    for source in sorted(home.requests.glob("day=*/part*.parquet")):
        day_dir = snapshot_dir / "requests" / source.parent.name
        day_dir.mkdir(parents=True, exist_ok=True)
        target = day_dir / source.name
        try:
            os.link(source, target)
        except FileNotFoundError:
            continue  # the day vanished between the listing and the link
        except OSError:
            shutil.copy2(source, target)  # another file system, or no hard links there: copy the whole file
        _fsync_dir(day_dir)
        files.append(target)
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    if files:
        _fsync_dir(snapshot_dir / "requests")
    return files


def _snapshot_dirs(home: Home) -> list[Path]:
    """Every snapshot directory, oldest first (names start with the UTC publish time)."""
    root = snapshots_dir(home)
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _prune_snapshots(home: Home, new: str, previous: str | None, keep: int) -> list[str]:
    """Keep ``new``, the snapshot the previous file read, and the newest complete others up to ``keep``; delete
    the rest (older snapshots and leftovers of crashed publishes). Returns the kept names, newest first."""
    kept = [new] + ([previous] if previous and previous != new else [])
    for directory in reversed(_snapshot_dirs(home)):
        if len(kept) >= keep:
            break
        if directory.name not in kept and (directory / ANALYTICS_FILE).exists():
            kept.append(directory.name)
    for directory in _snapshot_dirs(home):
        if directory.name not in kept:
            shutil.rmtree(directory, ignore_errors=True)
    return sorted(kept, reverse=True)


def _discard(tmp: Path, snapshot_dir: Path) -> None:
    """Remove what a failed publish wrote before it reached the rename."""
    for leftover in tmp.parent.glob(f"{tmp.name}*"):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(snapshot_dir, ignore_errors=True)


def _remove_stale_temporaries(home: Home) -> None:
    """Delete the temporary analytics files of crashed publishes (only ever ours: the name says so)."""
    for leftover in home.root.glob(f".tmp-*-{ANALYTICS_FILE}.partial*"):
        leftover.unlink(missing_ok=True)


@contextmanager
def _publish_lock(home: Home) -> Iterator[None]:
    """One publisher at a time (an exclusive lock on a file analysts never open; released when the process dies)."""
    root = snapshots_dir(home)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / _LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_dir(directory: Path) -> None:
    """Make the renames and links inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
