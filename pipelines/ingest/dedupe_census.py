"""The dedupe census: the copies of every request_id that repeats in a dedupe region, found once per region.

A day merge needs, of the request_ids on its day, those that also occur elsewhere in its dedupe window (or twice
on the day). Grouping every request_id of the window is the expensive part of a merge (a hash table as large as
the week), and the days of one ISO week share almost the same window. So the grouping is done once per *region*
(``DedupeWindow.region_of``: the ISO week and the days around it, a span holding the window of each of its days)
and kept as a small file, the census: every copy of each request_id that occurs more than once in the region's
staged slices, with what ranks the copies. Each day of the region then ranks only the census copies that lie in
its own window, which gives exactly the duplicates a grouping of its window would (a repeat inside the window is a
repeat inside the region; a census copy outside the window is left out before ranking).

The census lives under ``cache/dedupe/`` in the home (in object mode: in the worker's scratch directory). It is
named by a digest of what it was built from: every (file, landing time, day, rows) slice of the region; a file
landed or staged again in the region changes the name, so a census is never used for inputs it was not built from.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import duckdb

from pipelines.core.atomic import replace_file, temp_path
from pipelines.core.calendar import DedupeWindow
from pipelines.core.home import Home
from pipelines.core.sql_loader import load_sql

CENSUS_VERSION = "census-1"
# a census of the same region built from other inputs is deleted once it is this old (a day merge that started
# before the inputs changed may still be reading it)
STALE_AFTER_S = 600


def region_inputs(
    by_day: dict[str, dict[str, int]], day: str, window: DedupeWindow
) -> dict[str, dict[str, int]]:
    """The staged inputs ({day: {file_id: rows}}) of the days of ``day``'s dedupe region."""
    return {other: by_day[other] for other in window.region_of(day) if other in by_day}


def census_name(
    day: str, region: dict[str, dict[str, int]], landed_at_ns: dict[str, int], window: DedupeWindow
) -> str:
    """The census file name for the region of ``day`` with inputs ``region``:
    ``<first day>_<last day>-<window>-<digest of every slice>.parquet``."""
    slices = sorted(
        f"{file_id}/{landed_at_ns[file_id]}/{other}/{rows}"
        for other, files in region.items()
        for file_id, rows in files.items()
    )
    digest = hashlib.sha256("\n".join([CENSUS_VERSION, *slices]).encode()).hexdigest()[:24]
    span = window.region_of(day)
    return f"{span[0]}_{span[-1]}-w{int(window.same_iso_week)}a{window.adjacent_days}-{digest}.parquet"


def census_file(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    day: str,
    region: dict[str, dict[str, int]],
    landed_at_ns: dict[str, int],
    window: DedupeWindow,
    slice_files: list[str],
) -> str:
    """The path of the census of the region of ``day`` with inputs ``region`` (building it from ``slice_files``, the
    region's staged Parquet files, when no census of exactly these inputs exists yet)."""
    directory = home.cache / "dedupe"
    name = census_name(day, region, landed_at_ns, window)
    target = directory / name
    if target.exists():
        return str(target)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(directory, name)
    try:
        con.sql(load_sql("ingest/dedupe_census"), params={"files": slice_files}).write_parquet(str(tmp))
        replace_file(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _drop_stale(directory, name)
    return str(target)


def _drop_stale(directory: Path, current: str) -> None:
    """Delete the older censuses of the same region (other inputs), once no merge can still be reading them."""
    region_prefix = current.rsplit("-", 1)[0]
    now = time.time()
    for path in directory.glob(f"{region_prefix}-*.parquet"):
        if path.name != current:
            try:
                if now - path.stat().st_mtime > STALE_AFTER_S:
                    os.unlink(path)
            except FileNotFoundError:
                pass
