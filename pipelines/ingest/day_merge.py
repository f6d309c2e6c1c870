"""The day merge: the accepted requests of one UTC day, built from every staged file that has rows on that day.

Re-running a day rebuilds it from the staged slices and replaces it: never duplicates. Output::

    lake/requests/day=D/part*.parquet    accepted requests (the request lake): one file, or, when no row of the day
                                         is a duplicate, the day's staged slices themselves (part.parquet,
                                         part-2.parquet, ...: hard links, nothing rewritten)
    lake/quarantine/day=D/part.parquet   duplicate request_ids refused here
    lake/requests/day=D/_manifest.json   which staged files went in, with their counts (written last)

Duplicates are found across days, within the dedupe window of ``D`` (``Settings.dedupe_window``: by default the
days of D's ISO week and the days just before and after it). Of the copies of a request_id in the window, the first
in landing order (``landed_at_ns``, then file id, then record number) is kept, the others are quarantined with stage
``duplicate`` and a reason naming the day of the first copy. The rule is one order over all copies, so each day
decides alone and every day agrees: a merge never needs another day's result, only the staged slices. (Windows
overlap without being equal: with copies on a Sunday, the Monday after and the Tuesday after, the Tuesday's window
does not reach the Sunday, so its reason names the Monday copy, itself quarantined as a copy of the Sunday one.
Exactly one copy is kept either way.)

The request_ids that repeat are found once per dedupe region (the ISO week and the days around it), not once per
day: the region's census (:mod:`pipelines.ingest.dedupe_census`) holds every copy of each repeated id, and each
day ranks only the census copies inside its own window. The result is the same as grouping the window's ids.

A late file (landed after the others) that holds, for an earlier day, a request_id already kept on a later day of
its window loses: its copy is quarantined and the kept copy stays where it is, so published days do not change.
A kept copy moves only when a file landed *earlier* is staged *later* (its staging failed first, say): its copies
rank first, the later day's copy is quarantined. Either way the days concerned are re-merged: a day is pending when
the staged inputs of a day in its window changed in a file ranked no later than its own (``pending_days``: a
late file thus re-opens only the days it has rows on), and its fingerprint (``lineage``) carries a
digest of which rows it quarantined, so its rollup and weeks are recomputed only if its result really changed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.core.atomic import read_json, replace_dir, replace_file, temp_path, write_json
from pipelines.core.calendar import DedupeWindow
from pipelines.core.duck import connect
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.dedupe_census import census_file, region_inputs
from pipelines.ingest.staging import StagedFile, all_staged, staged_dir


@dataclass(frozen=True)
class FileDayCounts:
    """Rows of one landed file on one day: staged (in) = accepted + quarantined (duplicates)."""

    rows_in: int
    accepted: int
    quarantined: int


class InputTotals:
    """Totals over a merged day's ``inputs`` ({file_id: FileDayCounts}): rows in, accepted and quarantined."""

    inputs: dict[str, FileDayCounts]

    @property
    def rows_in(self) -> int:
        """Rows the day's inputs brought in."""
        return sum(c.rows_in for c in self.inputs.values())

    @property
    def accepted(self) -> int:
        """Rows of the inputs accepted into the day."""
        return sum(c.accepted for c in self.inputs.values())

    @property
    def quarantined(self) -> int:
        """Rows of the inputs quarantined (duplicates)."""
        return sum(c.quarantined for c in self.inputs.values())


@dataclass(frozen=True)
class MergedDay(InputTotals):
    """The accounting of one merged day: its inputs with their counts, the staged inputs of the other days of its
    dedupe window ({day: {file_id: rows}}, None for a manifest written before duplicates were found across days),
    and a digest of the rows it quarantined ("0": none)."""

    day: str
    inputs: dict[str, FileDayCounts]
    window_inputs: dict[str, dict[str, int]] | None = None
    duplicates_digest: str = "0"


def manifest_path(home: Home, day: str) -> Path:
    """Where a merged day's manifest lives."""
    return home.request_day_dir(day) / "_manifest.json"


def read_merged(home: Home, day: str) -> MergedDay | None:
    """The manifest of a merged day, or None when the day was never merged."""
    payload = read_json(manifest_path(home, day))
    if payload is None:
        return None
    return MergedDay(
        day=payload["day"],
        inputs={k: FileDayCounts(**v) for k, v in payload["inputs"].items()},
        window_inputs=payload.get("window_inputs"),
        duplicates_digest=str(payload.get("duplicates_digest", "0")),
    )


def staged_inputs_by_day(staged: list[StagedFile]) -> dict[str, dict[str, int]]:
    """For every day, the staged files with rows on it and how many: {day: {file_id: rows}}."""
    by_day: dict[str, dict[str, int]] = {}
    for staged_file in staged:
        for day, rows in staged_file.rows_by_day.items():
            by_day.setdefault(day, {})[staged_file.file_id] = rows
    return dict(sorted(by_day.items()))


def file_ranks(staged: list[StagedFile]) -> dict[str, tuple[int, str]]:
    """The order in which staged files' copies of a request_id are preferred: landing time, then file id."""
    return {staged_file.file_id: (staged_file.landed_at_ns, staged_file.file_id) for staged_file in staged}


def window_inputs_of(
    by_day: dict[str, dict[str, int]], ranks: dict[str, tuple[int, str]], day: str, window: DedupeWindow
) -> dict[str, dict[str, int]]:
    """The staged inputs ({day: {file_id: rows}}) of the other days of ``day``'s dedupe window that can decide its
    duplicates: those of files ranked no later than the day's own last file (a copy from a file ranked after every
    file of the day can never come first, so a late file never re-opens the days it does not touch)."""
    own = by_day.get(day, {})
    if not own:
        return {}
    last = max(ranks[file_id] for file_id in own)
    relevant = {}
    for other in window.days_around(day):
        files = {file_id: rows for file_id, rows in by_day.get(other, {}).items() if ranks[file_id] <= last}
        if files:
            relevant[other] = files
    return relevant


def merge_inputs(staged: list[StagedFile], day: str, window: DedupeWindow) -> dict[str, object]:
    """Everything a merge of ``day`` reads, as staged inputs: its own and those of its dedupe window that can
    decide its duplicates (a day must be merged again when this changes)."""
    by_day = staged_inputs_by_day(staged)
    return {
        "inputs": by_day.get(day, {}),
        "window_inputs": window_inputs_of(by_day, file_ranks(staged), day, window),
    }


def pending_days(home: Home, window: DedupeWindow | None = None) -> list[str]:
    """Days whose staged inputs, or those of a day in their dedupe window, differ from what their last merge used
    (new days, days a late file touched, and the days whose duplicates it may change). ``window`` defaults to the
    home's settings."""
    window = window if window is not None else Settings.load(home).dedupe_window
    staged = all_staged(home)
    by_day, ranks = staged_inputs_by_day(staged), file_ranks(staged)
    pending = []
    for day, inputs in by_day.items():
        merged = read_merged(home, day)
        if (
            merged is None
            or {k: v.rows_in for k, v in merged.inputs.items()} != inputs
            or merged.window_inputs != window_inputs_of(by_day, ranks, day, window)
        ):
            pending.append(day)
    return pending


def merge_day(home: Home, day: str, window: DedupeWindow | None = None) -> MergedDay:
    """Rebuild the request lake partition of ``day`` from every staged slice of that day, its request_ids deduped
    against the days of its dedupe window (``window``, default: the home's settings); return its accounting."""
    window = window if window is not None else Settings.load(home).dedupe_window
    staged = all_staged(home)
    by_day = staged_inputs_by_day(staged)
    inputs = by_day.get(day, {})
    neighbours = window_inputs_of(by_day, file_ranks(staged), day, window)
    files = _slice_files(home, day, inputs)
    # the staged slices ('file_id/day') whose copies of a request_id count against this day's
    slices = [f"{file_id}/{day}" for file_id in inputs] + [
        f"{file_id}/{other}" for other, ids in neighbours.items() for file_id in ids
    ]
    work_dir = temp_path(home.lake, f"day-{day}")
    work_dir.mkdir(parents=True)
    try:
        with connect(temp_dir=work_dir / "spill") as con:
            digest = "0"
            census = _census(con, home, staged, by_day, day, window) if files else ""
            if _clean_slices(con, day, files, census, slices):
                counts = _link_slices(con, home, day, inputs, work_dir)
            else:
                if files:
                    merged = con.sql(
                        load_sql("ingest/merge_day"),
                        params={"files": files, "census": census, "slices": slices, "day": day},
                    )
                    merged.write_parquet(str(work_dir / "out"), partition_by=["kind"], overwrite=True)
                counts = _file_counts(con, work_dir / "out")
                if files:  # no files: a day without data stays *missing*, nothing is written for it
                    _publish(con, home, day, work_dir / "out", files)
                    digest = _duplicates_digest(con, home, day)
        result = MergedDay(
            day=day,
            inputs={
                file_id: FileDayCounts(rows_in=rows, **counts.get(file_id, {"accepted": 0, "quarantined": 0}))
                for file_id, rows in inputs.items()
            },
            window_inputs=neighbours,
            duplicates_digest=digest,
        )
        for file_id, file_counts in result.inputs.items():
            if file_counts.accepted + file_counts.quarantined != file_counts.rows_in:
                raise RuntimeError(
                    f"day {day}: file {file_id} staged {file_counts.rows_in} rows but merged "
                    f"{file_counts.accepted + file_counts.quarantined}: refusing to continue"
                )
        write_json(
            manifest_path(home, day),
            {
                "day": day,
                "inputs": {k: asdict(v) for k, v in result.inputs.items()},
                "window_inputs": neighbours,
                "duplicates_digest": digest,
            },
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return result


def _slice_files(home: Home, day: str, inputs: dict[str, int]) -> list[str]:
    """The staged Parquet files of ``day`` of the files in ``inputs``."""
    return sorted(
        str(p) for file_id in inputs for p in (staged_dir(home, file_id) / f"day={day}").glob("*.parquet")
    )


def _census(
    con,
    home: Home,
    staged: list[StagedFile],
    by_day: dict[str, dict[str, int]],
    day: str,
    window: DedupeWindow,
) -> str:  # noqa: ANN001
    """The census of ``day``'s dedupe region (:mod:`pipelines.ingest.dedupe_census`), built on first use."""
    region = region_inputs(by_day, day, window)
    region_files = [f for other, ids in region.items() for f in _slice_files(home, other, ids)]
    landed_at_ns = {staged_file.file_id: staged_file.landed_at_ns for staged_file in staged}
    return census_file(con, home, day, region, landed_at_ns, window, region_files)


def _clean_slices(con, day: str, files: list[str], census: str, slices: list[str]) -> bool:  # noqa: ANN001
    """True when none of the day's request_ids repeats, on the day or elsewhere in its dedupe window (the common
    case), and its staged slice files have one column layout: the slices can then be the day's lake files as they
    are."""
    if not files:
        return False
    repeated = con.sql(
        load_sql("ingest/count_window_duplicates"), params={"census": census, "slices": slices, "day": day}
    ).fetchall()[0][0]
    if repeated != 0:
        return False
    return (
        len(files) == 1
        or con.sql(load_sql("ingest/slice_schemas"), params={"files": files}).fetchall()[0][0] == 1
    )


def _duplicates_digest(con, home: Home, day: str) -> str:  # noqa: ANN001
    """A digest of which rows the merged ``day`` quarantined ("0": none)."""
    files = [str(home.quarantine_day_dir(day) / "part.parquet")]
    return str(con.sql(load_sql("ingest/duplicates_digest"), params={"files": files}).fetchall()[0][0])


def _lake_file_names(count: int) -> list[str]:
    """The names of a day's ``count`` lake files: ``part.parquet``, then ``part-2.parquet``, ``part-3.parquet``..."""
    return ["part.parquet", *[f"part-{n}.parquet" for n in range(2, count + 1)]]


def _link_slices(
    con, home: Home, day: str, inputs: dict[str, int], work_dir: Path
) -> dict[str, dict[str, int]]:  # noqa: ANN001
    """Make the day's clean staged slice files its lake files as they are (hard links when possible: no rewrite),
    swapped in as one directory, and write an empty quarantine part; return the per-file counts (counted from the
    files)."""
    by_file = {file_id: _slice_files(home, day, {file_id: rows}) for file_id, rows in inputs.items()}
    ordered = [(file_id, path) for file_id in sorted(by_file) for path in by_file[file_id]]
    new_dir = work_dir / "requests"
    new_dir.mkdir()
    for (_, source), name in zip(ordered, _lake_file_names(len(ordered)), strict=True):
        try:
            os.link(source, new_dir / name)
        except OSError:  # another filesystem: copy
            shutil.copyfile(source, new_dir / name)
    replace_dir(new_dir, home.request_day_dir(day))
    quarantine_dir = home.quarantine_day_dir(day)
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    empty = temp_path(quarantine_dir, "part.partial")
    con.sql(load_sql("ingest/lake_part_empty"), params={"files": [ordered[0][1]]}).write_parquet(str(empty))
    replace_file(empty, quarantine_dir / "part.parquet")
    return {
        file_id: {
            "accepted": con.sql(load_sql("ingest/count_rows"), params={"files": paths}).fetchall()[0][0],
            "quarantined": 0,
        }
        for file_id, paths in by_file.items()
    }


def _file_counts(con, out_dir: Path) -> dict[str, dict[str, int]]:  # noqa: ANN001
    files = sorted(str(p) for p in out_dir.glob("kind=*/*.parquet"))
    if not files:
        return {}
    rows = con.sql(load_sql("ingest/day_file_counts"), params={"files": files}).fetchall()
    return {
        source_file: {"accepted": accepted, "quarantined": quarantined}
        for source_file, accepted, quarantined in rows
    }


def _publish(con, home: Home, day: str, out_dir: Path, staged_files: list[str]) -> None:  # noqa: ANN001
    """Move the accepted and quarantined parts into the lake, one file each: the accepted one as the day's only lake
    file (its directory swapped in whole, so no file of an earlier merge stays), the quarantined one replaced
    atomically."""
    for kind, target_dir in (
        ("accepted", home.request_day_dir(day)),
        ("quarantine", home.quarantine_day_dir(day)),
    ):
        parts = sorted(str(p) for p in (out_dir / f"kind={kind}").glob("*.parquet"))
        staging_dir = out_dir / f"{kind}-final"
        staging_dir.mkdir()
        tmp = staging_dir / "part.parquet"
        if len(parts) == 1:
            shutil.move(parts[0], tmp)
        else:  # none (every row went the other way) or several: write exactly one file with the lake's columns
            source = parts if parts else staged_files
            query = load_sql("ingest/lake_part_from_parts") if parts else load_sql("ingest/lake_part_empty")
            con.sql(query, params={"files": source}).write_parquet(str(tmp))
        if kind == "accepted":
            replace_dir(staging_dir, target_dir)
        else:
            target_dir.mkdir(parents=True, exist_ok=True)
            replace_file(tmp, target_dir / "part.parquet")


@dataclass(frozen=True)
class DayRecount:
    """Rows of one day counted from the files on disk (independently of the manifests)."""

    staged_rows: int
    accepted_rows: int
    quarantined_rows: int

    @property
    def balanced(self) -> bool:
        """rows in (staged) = rows accepted + rows quarantined."""
        return self.staged_rows == self.accepted_rows + self.quarantined_rows


def recount_day(home: Home, day: str) -> DayRecount:
    """Count the staged, accepted and quarantined rows of ``day`` from the Parquet files themselves."""
    staged = sorted(str(p) for p in home.staged.glob(f"[!.]*/day={day}/*.parquet"))
    accepted = sorted(str(p) for p in home.request_day_dir(day).glob("*.parquet"))
    quarantined = sorted(str(p) for p in home.quarantine_day_dir(day).glob("*.parquet"))
    with connect() as con:

        def count(files: list[str]) -> int:
            if not files:
                return 0
            return con.sql(load_sql("ingest/count_rows"), params={"files": files}).fetchall()[0][0]

        return DayRecount(count(staged), count(accepted), count(quarantined))


def validation_frame(home: Home, day: str, max_full_rows: int, sample_rows: int):  # noqa: ANN201
    """The day's accepted rows for Great Expectations as pandas (all, or a deterministic sample), and the total."""
    files = sorted(str(p) for p in home.request_day_dir(day).glob("*.parquet"))
    with connect() as con:
        total = con.sql(load_sql("ingest/count_rows"), params={"files": files}).fetchall()[0][0]
        modulus = 1 if total <= max_full_rows else max(1, -(-total // sample_rows))
        frame = con.sql(
            load_sql("ingest/day_sample_for_validation"), params={"files": files, "modulus": modulus}
        ).df()
    return frame, total, modulus > 1
