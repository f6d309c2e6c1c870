"""``modeshift forget``: take one landed file back out of the home, as if it had never been ingested.

A file not staged yet (or set aside as failed) loses its landed bytes, manifest and failure record. A file already
staged and merged also leaves the lake:

* every UTC day it has rows on is **re-opened**: the day's merged requests, duplicate quarantine, aggregated usage
  and rollups are removed at once, so no row of the file is left in the lake; the next ``modeshift materialize``
  merges the day again from the other files' staged slices (and rolls it up), or the day stays *missing* when no
  other file has rows on it. The days of the dedupe window around it are merged again too (their staged inputs
  changed, :func:`pipelines.ingest.day_merge.pending_days`): a copy of a request_id another file holds is kept
  there now, where the forgotten file's copy came first before;
* a week that keeps data is recomputed by that materialize (its days' fingerprints changed, and so do the later
  weeks' that read its history); a week left without data loses its weekly tables here, as a home that never
  had the file never built them;
* its staged slices go, with its parse-time quarantine, and its landing manifest last (it is the commit record of
  the landing: a forget killed half way is finished by running it again).

``ingest_log`` lists landed files only, so the file is no longer counted in it; every other file still balances,
rows in = accepted + quarantined, once its days are merged again.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.core.atomic import read_json
from pipelines.core.calendar import week_days, week_start_of
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.run_lock import materialize_lock
from pipelines.core.text import escape_name
from pipelines.ingest.failures import failure_path
from pipelines.ingest.landing import (
    FILE_ID_HEX_DIGITS,
    LandedFile,
    get_landed_file,
    landed_files,
    manifest_path,
)
from pipelines.ingest.staging import StagedFile, all_staged, staged_dir
from pipelines.lake.weekly_store import WEEKLY_TABLES, week_dir

_FILE_ID = re.compile(rf"^[0-9a-f]{{{FILE_ID_HEX_DIGITS}}}$")


@dataclass(frozen=True)
class Forgotten:
    """What one forget did: the file, the days re-opened (to be merged again from the other files), the days left
    without any file (gone from the lake) and the weeks left without data (their weekly tables removed)."""

    file_id: str
    original_name: str
    reopened_days: list[str] = field(default_factory=list)
    emptied_days: list[str] = field(default_factory=list)
    removed_weeks: list[date] = field(default_factory=list)

    @property
    def had_rows_in_lake(self) -> bool:
        """Whether some merged day held rows of the file."""
        return bool(self.reopened_days or self.emptied_days)


def resolve_landed(home: Home, name: str) -> LandedFile:
    """The landed file ``name`` means: a file id (as ``modeshift status`` and ``ingest`` print it), or the path of
    a file whose bytes were landed (hashed and looked up by content). A clear error when it names none, or a path
    whose bytes landed more than once (with other options): then the ids are named."""
    path = Path(name).expanduser()
    if _FILE_ID.match(name) and not path.is_file():
        return get_landed_file(home, name)
    if not path.is_file():
        raise ModeshiftError(
            f"{escape_name(name)} is neither a landed file id nor a file.",
            "Give a FILE_ID shown by 'modeshift status', or the path of a file you ingested.",
        )
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    matches = [landed for landed in landed_files(home) if landed.sha256 == digest.hexdigest()]
    if not matches:
        raise ModeshiftError(
            f"No landed file has the content of {escape_name(name)}.",
            "'modeshift status' lists landed files.",
        )
    if len(matches) > 1:
        ids = ", ".join(f"{m.file_id} ({m.format})" for m in matches)
        raise ModeshiftError(
            f"The content of {escape_name(name)} landed {len(matches)} times, with other options: {ids}.",
            "Name the one to forget by its FILE_ID.",
        )
    return matches[0]


def forget_landed(home: Home, file_id: str, wait: bool = True) -> Forgotten:
    """Forget the landed file ``file_id`` (see the module): its rows leave the lake, its days and weeks are re-opened
    for the next materialize. Holds the home's materialize lock (waiting for a running materialize unless
    ``wait`` is False), so no run merges the file's days meanwhile."""
    with materialize_lock(home, command="forget", wait=wait):
        landed = get_landed_file(home, file_id)
        merged_days = _merged_days_of(home, file_id)
        others = [staged for staged in all_staged(home) if staged.file_id != file_id]
        other_days = _days_with_rows(others)
        for day in sorted(merged_days):
            for directory in (
                home.request_day_dir(day),
                home.quarantine_day_dir(day),
                home.usage_day_dir(day),
                home.rollup_day_dir(day),
            ):
                shutil.rmtree(directory, ignore_errors=True)
        weeks = sorted({week_start_of(date.fromisoformat(day)) for day in merged_days})
        emptied_weeks = [week for week in weeks if not set(week_days(week)) & other_days]
        for week in emptied_weeks:
            for table in WEEKLY_TABLES:
                shutil.rmtree(week_dir(home, table, week), ignore_errors=True)
        shutil.rmtree(staged_dir(home, file_id), ignore_errors=True)
        landed.path(home).unlink(missing_ok=True)
        failure_path(home, file_id).unlink(missing_ok=True)
        manifest_path(home, file_id).unlink(missing_ok=True)  # last: it is the commit record of the landing
    return Forgotten(
        file_id=file_id,
        original_name=landed.original_name,
        reopened_days=sorted(merged_days & other_days),
        emptied_days=sorted(merged_days - other_days),
        removed_weeks=emptied_weeks,
    )


def _merged_days_of(home: Home, file_id: str) -> set[str]:
    """The days whose merged requests or aggregated usage list ``file_id`` among their inputs."""
    days = set()
    for manifest in [*home.requests.glob("day=*/_manifest.json"), *home.usage.glob("day=*/_manifest.json")]:
        payload = read_json(manifest)
        if payload is not None and file_id in payload.get("inputs", {}):
            days.add(manifest.parent.name.removeprefix("day="))
    return days


def _days_with_rows(staged: list[StagedFile]) -> set[str]:
    """The days the staged files ``staged`` have request rows or usage buckets on (what a merge of those days
    reads)."""
    return {
        day for s in staged for day, rows in [*s.rows_by_day.items(), *s.usage_by_day.items()] if rows > 0
    }
