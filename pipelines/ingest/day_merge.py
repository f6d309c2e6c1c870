"""The day merge: the accepted requests of one UTC day, built from every staged file that has rows on that day.

Re-running a day rebuilds it from the staged slices and replaces it: never duplicates. Output::

    lake/requests/day=D/part.parquet     accepted requests (the request lake)
    lake/quarantine/day=D/part.parquet   duplicate request_ids refused here
    lake/requests/day=D/_manifest.json   which staged files went in, with their counts (written last)
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.core.atomic import read_json, replace_file, temp_path, write_json
from pipelines.core.duck import connect
from pipelines.core.home import Home
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.staging import StagedFile, all_staged, staged_dir


@dataclass(frozen=True)
class FileDayCounts:
    """Rows of one landed file on one day: staged (in) = accepted + quarantined (duplicates)."""

    rows_in: int
    accepted: int
    quarantined: int


@dataclass(frozen=True)
class MergedDay:
    """The accounting of one merged day."""

    day: str
    inputs: dict[str, FileDayCounts]

    @property
    def rows_in(self) -> int:
        return sum(c.rows_in for c in self.inputs.values())

    @property
    def accepted(self) -> int:
        return sum(c.accepted for c in self.inputs.values())

    @property
    def quarantined(self) -> int:
        return sum(c.quarantined for c in self.inputs.values())


def manifest_path(home: Home, day: str) -> Path:
    """Where a merged day's manifest lives."""
    return home.request_day_dir(day) / "_manifest.json"


def read_merged(home: Home, day: str) -> MergedDay | None:
    """The manifest of a merged day, or None when the day was never merged."""
    payload = read_json(manifest_path(home, day))
    if payload is None:
        return None
    return MergedDay(day=payload["day"], inputs={k: FileDayCounts(**v) for k, v in payload["inputs"].items()})


def staged_inputs_by_day(staged: list[StagedFile]) -> dict[str, dict[str, int]]:
    """For every day, the staged files with rows on it and how many: {day: {file_id: rows}}."""
    by_day: dict[str, dict[str, int]] = {}
    for staged_file in staged:
        for day, rows in staged_file.rows_by_day.items():
            by_day.setdefault(day, {})[staged_file.file_id] = rows
    return dict(sorted(by_day.items()))


def pending_days(home: Home) -> list[str]:
    """Days whose staged inputs differ from what their last merge used (new days and days a late file touched)."""
    pending = []
    for day, inputs in staged_inputs_by_day(all_staged(home)).items():
        merged = read_merged(home, day)
        if merged is None or {k: v.rows_in for k, v in merged.inputs.items()} != inputs:
            pending.append(day)
    return pending


def merge_day(home: Home, day: str) -> MergedDay:
    """Rebuild the request lake partition of ``day`` from every staged slice of that day; return its accounting."""
    inputs = staged_inputs_by_day(all_staged(home)).get(day, {})
    files = sorted(
        str(p) for file_id in inputs for p in (staged_dir(home, file_id) / f"day={day}").glob("*.parquet")
    )
    work_dir = temp_path(home.lake, f"day-{day}")
    work_dir.mkdir(parents=True)
    try:
        with connect(temp_dir=work_dir / "spill") as con:
            if _single_clean_slice(con, inputs, files):
                counts = _link_single_slice(con, home, day, files[0], next(iter(inputs)))
            else:
                if files:
                    merged = con.sql(load_sql("ingest/merge_day"), params={"files": files})
                    merged.write_parquet(str(work_dir / "out"), partition_by=["kind"], overwrite=True)
                counts = _file_counts(con, work_dir / "out")
                if files:  # no files: a day without data stays *missing*, nothing is written for it
                    _publish(con, home, day, work_dir / "out", files)
        result = MergedDay(
            day=day,
            inputs={
                file_id: FileDayCounts(rows_in=rows, **counts.get(file_id, {"accepted": 0, "quarantined": 0}))
                for file_id, rows in inputs.items()
            },
        )
        for file_id, file_counts in result.inputs.items():
            if file_counts.accepted + file_counts.quarantined != file_counts.rows_in:
                raise RuntimeError(
                    f"day {day}: file {file_id} staged {file_counts.rows_in} rows but merged "
                    f"{file_counts.accepted + file_counts.quarantined}: refusing to continue"
                )
        write_json(
            manifest_path(home, day), {"day": day, "inputs": {k: asdict(v) for k, v in result.inputs.items()}}
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return result


def _single_clean_slice(con, inputs: dict[str, int], files: list[str]) -> bool:  # noqa: ANN001
    """True when the day's rows come from one staged slice file without repeated request_ids (the common case)."""
    if len(inputs) != 1 or len(files) != 1:
        return False
    return con.sql(load_sql("ingest/count_duplicate_ids"), params={"files": files}).fetchall()[0][0] == 0


def _link_single_slice(con, home: Home, day: str, slice_file: str, file_id: str) -> dict[str, dict[str, int]]:  # noqa: ANN001
    """Make the one clean staged slice the day's lake file (a hard link when possible: no rewrite), and an empty
    quarantine part; return the per-file counts."""
    target_dir = home.request_day_dir(day)
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target_dir, "part.partial")
    try:
        os.link(slice_file, tmp)
    except OSError:  # another filesystem: copy
        shutil.copyfile(slice_file, tmp)
    replace_file(tmp, target_dir / "part.parquet")
    quarantine_dir = home.quarantine_day_dir(day)
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    empty = temp_path(quarantine_dir, "part.partial")
    con.sql(load_sql("ingest/lake_part_empty"), params={"files": [slice_file]}).write_parquet(str(empty))
    replace_file(empty, quarantine_dir / "part.parquet")
    rows = con.sql(load_sql("ingest/count_rows"), params={"files": [slice_file]}).fetchall()[0][0]
    return {file_id: {"accepted": rows, "quarantined": 0}}


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
    """Move the accepted and quarantined parts into the lake, one file each, each replaced atomically."""
    for kind, target_dir in (
        ("accepted", home.request_day_dir(day)),
        ("quarantine", home.quarantine_day_dir(day)),
    ):
        parts = sorted(str(p) for p in (out_dir / f"kind={kind}").glob("*.parquet"))
        target = target_dir / "part.parquet"
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(target_dir, "part.partial")
        if len(parts) == 1:
            shutil.move(parts[0], tmp)
        else:  # none (every row went the other way) or several: write exactly one file with the lake's columns
            source = parts if parts else staged_files
            query = load_sql("ingest/lake_part_from_parts") if parts else load_sql("ingest/lake_part_empty")
            con.sql(query, params={"files": source}).write_parquet(str(tmp))
        replace_file(tmp, target)


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
