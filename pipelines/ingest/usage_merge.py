"""The usage merge: the aggregated usage minutes of one UTC day, built from every staged usage export with buckets
on that day (:mod:`pipelines.ingest.usage`). It runs in the day step, beside the request merge, and is what the
day's rollup reads besides the request lake. Re-running a day rebuilds it from the staged slices and replaces it
whole: never duplicates. Output (one unit, swapped in atomically)::

    lake/usage/day=D/part.parquet        accepted minute rows (endpoint, model, minute, counts, bucket width)
    lake/usage/day=D/quarantine.parquet  buckets refused as duplicates, one row per refused copy, with the reason
    lake/usage/day=D/_manifest.json      per export: buckets in = accepted + quarantined; requests accepted

A bucket is lake-unique by its start, end and group (project, user, API key hash, model, batch, service tier):
the same bucket from two exports (an overlapping period exported twice, the same export plain and gzipped) is
kept once, from the first landed file. A bucket lies inside one UTC day (staging refuses one that crosses
midnight), so each day decides its duplicates alone. Buckets of different widths over the same period (an hourly
and a per-minute export of the same project) are different buckets: export one width per period.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.core.atomic import read_json, replace_dir, temp_path, write_json
from pipelines.core.duck import connect
from pipelines.core.home import Home
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.day_merge import FileDayCounts, InputTotals
from pipelines.ingest.staging import StagedFile, all_staged, staged_dir
from pipelines.ingest.usage import USAGE_DIR

PART = "part.parquet"
QUARANTINE = "quarantine.parquet"


@dataclass(frozen=True)
class UsageDay(InputTotals):
    """The accounting of one merged usage day: per staged export, buckets in = accepted + quarantined
    (duplicates), and the requests (``num_model_requests``) of the accepted buckets."""

    day: str
    inputs: dict[str, FileDayCounts]
    requests: int = 0


def usage_manifest_path(home: Home, day: str) -> Path:
    """Where a merged usage day's manifest lives."""
    return home.usage_day_dir(day) / "_manifest.json"


def read_usage_merged(home: Home, day: str) -> UsageDay | None:
    """The manifest of a merged usage day, or None when the day's usage was never merged."""
    payload = read_json(usage_manifest_path(home, day))
    if payload is None:
        return None
    return UsageDay(
        day=payload["day"],
        inputs={k: FileDayCounts(**v) for k, v in payload["inputs"].items()},
        requests=int(payload.get("requests", 0)),
    )


def staged_usage_by_day(staged: list[StagedFile]) -> dict[str, dict[str, int]]:
    """For every day, the staged usage exports with accepted buckets on it and how many: {day: {file_id: n}}."""
    by_day: dict[str, dict[str, int]] = {}
    for staged_file in staged:
        for day, buckets in staged_file.usage_by_day.items():
            by_day.setdefault(day, {})[staged_file.file_id] = buckets
    return dict(sorted(by_day.items()))


def usage_inputs(home: Home, day: str) -> dict[str, int]:
    """The staged usage exports with buckets on ``day``: {file_id: buckets} (what a merge of the day reads)."""
    return staged_usage_by_day(all_staged(home)).get(day, {})


def merged_usage_days(home: Home) -> list[str]:
    """Every UTC day whose usage merge wrote a manifest, in order (with accepted buckets or not)."""
    return sorted(p.parent.name.removeprefix("day=") for p in home.usage.glob("day=*/_manifest.json"))


def pending_usage_days(home: Home) -> list[str]:
    """Days whose staged usage inputs differ from what their last usage merge used (new days, days a late export
    touched, days an export was forgotten from)."""
    by_day = staged_usage_by_day(all_staged(home))
    pending = []
    for day in sorted(set(by_day) | set(merged_usage_days(home))):
        merged = read_usage_merged(home, day)
        recorded = {k: v.rows_in for k, v in merged.inputs.items()} if merged is not None else None
        if recorded != by_day.get(day, {}) and not (recorded is None and not by_day.get(day)):
            pending.append(day)
    return pending


def _slice_files(home: Home, day: str, inputs: dict[str, int]) -> list[str]:
    return sorted(
        str(p)
        for file_id in inputs
        for p in (staged_dir(home, file_id) / USAGE_DIR / f"day={day}").glob("*.parquet")
    )


def merge_usage_day(home: Home, day: str) -> UsageDay:
    """Rebuild ``lake/usage/day=D`` from every staged usage slice of ``day``, duplicate buckets refused; return
    its accounting (checked: buckets in = accepted + quarantined for every export)."""
    inputs = usage_inputs(home, day)
    files = _slice_files(home, day, inputs)
    work_dir = temp_path(home.lake, f"usage-{day}")
    out_dir = work_dir / "out"
    out_dir.mkdir(parents=True)
    counts: dict[str, tuple[int, int]] = {}
    requests = 0
    try:
        if files:
            with connect(temp_dir=work_dir / "spill") as con:
                marked = str(work_dir / "marked.parquet")
                con.sql(load_sql("ingest/usage_merge_day"), params={"files": files}).write_parquet(marked)
                con.sql(load_sql("ingest/usage_day_part"), params={"file": marked}).write_parquet(
                    str(out_dir / PART)
                )
                con.sql(load_sql("ingest/usage_day_quarantine"), params={"file": marked}).write_parquet(
                    str(out_dir / QUARANTINE)
                )
                for file_id, accepted, quarantined, file_requests in con.sql(
                    load_sql("ingest/usage_day_counts"), params={"file": marked}
                ).fetchall():
                    counts[file_id] = (int(accepted), int(quarantined))
                    requests += int(file_requests)
        result = UsageDay(
            day=day,
            inputs={
                file_id: FileDayCounts(rows_in, *counts.get(file_id, (0, 0)))
                for file_id, rows_in in inputs.items()
            },
            requests=requests,
        )
        for file_id, file_counts in result.inputs.items():
            if file_counts.accepted + file_counts.quarantined != file_counts.rows_in:
                raise RuntimeError(
                    f"usage day {day}: file {file_id} staged {file_counts.rows_in} buckets but merged "
                    f"{file_counts.accepted + file_counts.quarantined}: refusing to continue"
                )
        write_json(
            out_dir / "_manifest.json",
            {"day": day, "inputs": {k: asdict(v) for k, v in result.inputs.items()}, "requests": requests},
        )
        replace_dir(out_dir, home.usage_day_dir(day))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return result


def usage_part_files(home: Home, day: str) -> list[str]:
    """The merged usage minute file of ``day`` (empty when the day has no accepted usage)."""
    part = home.usage_day_dir(day) / PART
    merged = read_usage_merged(home, day)
    return [str(part)] if part.exists() and merged is not None and merged.accepted > 0 else []


def usage_quarantine_files(home: Home) -> list[str]:
    """Every merged usage day's duplicate-bucket file (for the warehouse's quarantine view)."""
    return sorted(str(p) for p in home.usage.glob(f"day=*/{QUARANTINE}"))


@dataclass(frozen=True)
class UsageRecount:
    """Buckets of one usage day counted from the Parquet files themselves (independently of the manifests)."""

    staged: int
    accepted: int
    quarantined: int

    @property
    def balanced(self) -> bool:
        """buckets in (staged) = accepted + quarantined (duplicates)."""
        return self.staged == self.accepted + self.quarantined


def recount_usage_day(home: Home, day: str) -> UsageRecount:
    """Count the staged, accepted and duplicate buckets of ``day`` from the files on disk."""
    staged = sorted(str(p) for p in home.staged.glob(f"[!.]*/{USAGE_DIR}/day={day}/*.parquet"))
    accepted = usage_part_files(home, day)
    quarantine = home.usage_day_dir(day) / QUARANTINE
    with connect() as con:

        def buckets(files: list[str]) -> int:
            if not files:
                return 0
            return int(
                con.sql(load_sql("ingest/usage_bucket_count"), params={"files": files}).fetchall()[0][0]
            )

        return UsageRecount(
            buckets(staged), buckets(accepted), buckets([str(quarantine)] if quarantine.exists() else [])
        )
