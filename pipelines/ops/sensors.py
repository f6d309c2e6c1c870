"""The landing sensor: new landed files are staged, every day whose inputs changed (a new day, or a late file for a
day already computed) is merged and rolled up again, and then the weeks those days belong to are recomputed."""

from __future__ import annotations

import json

from dagster import RunRequest, SensorEvaluationContext, SensorResult, sensor

from pipelines.ingest.day_merge import merge_inputs, staged_inputs_by_day
from pipelines.ingest.failures import FileFailure, read_failure
from pipelines.ingest.landing import LandedFile, landed_files
from pipelines.ingest.staging import all_staged
from pipelines.lake.lineage import expected_week_fingerprints, fingerprint
from pipelines.lake.pending import days_to_build, files_to_stage, weeks_to_build
from pipelines.ops.jobs import DAILY, STAGE_FILES, WEEKLY, daily_job, stage_files_job, weekly_job
from pipelines.ops.partitions import (
    LANDED_FILES,
    landed_files_partitions,
    unknown_day_keys,
    unknown_week_keys,
)
from pipelines.ops.resources import ModeshiftResource


def _stage_run_key(landed: LandedFile, failure: FileFailure | None) -> str:
    """``stage:<id>@<landed_at_ns>``, then ``...:retry<n>.<attempts>`` after the n-th ``modeshift retry`` or a
    transient failure. The landing time tells a file landed again after ``modeshift forget`` (the same id) from its
    first landing, whose run key the sensor already used."""
    key = f"stage:{landed.file_id}@{landed.landed_at_ns}"
    if failure is None or (failure.retries == 0 and failure.attempts == 0):
        return key
    return f"{key}:retry{failure.retries}.{failure.attempts}"


@sensor(
    jobs=[stage_files_job, daily_job, weekly_job],
    minimum_interval_seconds=30,
    description="Stages newly landed files, re-merges every day whose staged inputs changed, then recomputes the "
    "weeks those days belong to (oldest first, one at a time: later weeks read earlier ones).",
)
def landing_sensor(context: SensorEvaluationContext, modeshift: ModeshiftResource) -> SensorResult:
    """Request a staging run per new file, a daily run per pending day, then a weekly run for the oldest pending
    week (run keys carry the inputs' fingerprint, so each request is made once per version of its inputs)."""
    home = modeshift.home()
    landed = landed_files(home)
    staged = all_staged(home)
    staged_ids = {s.file_id for s in staged}
    known = set(context.instance.get_dynamic_partitions(LANDED_FILES))
    new_partitions = [f.file_id for f in landed if f.file_id not in known]
    run_requests = [
        RunRequest(
            job_name=STAGE_FILES,
            partition_key=f.file_id,
            run_key=_stage_run_key(f, read_failure(home, f.file_id)),
        )
        for f in files_to_stage(home)  # set-aside files are not pending ('modeshift retry' puts one back)
    ]
    inputs_by_day = staged_inputs_by_day(staged)
    settings = modeshift.settings()
    days = days_to_build(home, settings)
    unknown = set(unknown_day_keys(days))
    names = {f.file_id: f.original_name for f in landed}
    for day in sorted(unknown):  # a run for it could not start: say which file made it, run the other days
        files = ", ".join(f"{names.get(i, '?')} ({i})" for i in inputs_by_day.get(day, {}))
        context.log.warning(
            f"skipped day '{day[:40]}': not a day partition (staged from {files or 'no file'})"
        )
    for day in (day for day in days if day not in unknown):
        # what the merge reads (the day's slices and those of its dedupe window): a neighbour's change re-runs it
        inputs_version = fingerprint(merge_inputs(staged, day, settings.dedupe_window))
        run_requests.append(
            RunRequest(job_name=DAILY, partition_key=day, run_key=f"day:{day}:{inputs_version}")
        )
    if not run_requests:  # weeks only once every file is staged and every day is merged and rolled up
        weeks = weeks_to_build(home, settings)
        weeks = [week for week in weeks if week not in set(unknown_week_keys(weeks))]
        if weeks:
            week = weeks[0]
            week_version = expected_week_fingerprints(home, settings)[week]
            run_requests.append(
                RunRequest(
                    job_name=WEEKLY, partition_key=week.isoformat(), run_key=f"week:{week}:{week_version}"
                )
            )
    cursor = json.dumps(
        {"landed_files": len(landed), "staged_files": len(staged_ids), "inputs": fingerprint(inputs_by_day)},
        sort_keys=True,
    )
    return SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[landed_files_partitions.build_add_request(new_partitions)]
        if new_partitions
        else [],
        cursor=cursor,
    )
