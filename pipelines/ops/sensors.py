"""The landing sensor: new landed files are staged, every day whose inputs changed (a new day, or a late file for a
day already computed) is merged and rolled up again, and then the weeks those days belong to are recomputed."""

from __future__ import annotations

import hashlib
import json

from dagster import RunRequest, SensorEvaluationContext, SensorResult, sensor

from pipelines.ingest.day_merge import pending_days, staged_inputs_by_day
from pipelines.ingest.failures import FileFailure, read_failure
from pipelines.ingest.landing import landed_files
from pipelines.ingest.staging import all_staged
from pipelines.lake.lineage import expected_week_fingerprints, pending_rollup_days, pending_weeks
from pipelines.lake.weekly_store import WEEKLY_TABLES
from pipelines.ops.jobs import DAILY, STAGE_FILES, WEEKLY, daily_job, stage_files_job, weekly_job
from pipelines.ops.partitions import (
    LANDED_FILES,
    landed_files_partitions,
    unknown_day_keys,
    unknown_week_keys,
)
from pipelines.ops.resources import ModeshiftResource


def _stage_run_key(file_id: str, failure: FileFailure | None) -> str:
    """``stage:<id>``, then ``stage:<id>:retry<n>`` after the n-th ``modeshift retry`` or transient failure."""
    if failure is None or (failure.retries == 0 and failure.attempts == 0):
        return f"stage:{file_id}"
    return f"stage:{file_id}:retry{failure.retries}.{failure.attempts}"


def _fingerprint(payload: object) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


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
    run_requests = []
    for landed_file in landed:
        if landed_file.file_id in staged_ids:
            continue
        failure = read_failure(home, landed_file.file_id)
        if failure is not None and failure.failed:
            continue  # set aside with its error; 'modeshift retry' puts it back (and changes the run key)
        run_key = _stage_run_key(landed_file.file_id, failure)
        run_requests.append(
            RunRequest(job_name=STAGE_FILES, partition_key=landed_file.file_id, run_key=run_key)
        )
    inputs_by_day = staged_inputs_by_day(staged)
    settings = modeshift.settings()
    days = sorted(set(pending_days(home)) | set(pending_rollup_days(home, settings)))
    unknown = set(unknown_day_keys(days))
    names = {f.file_id: f.original_name for f in landed}
    for day in sorted(unknown):  # a run for it could not start: say which file made it, run the other days
        files = ", ".join(f"{names.get(i, '?')} ({i})" for i in inputs_by_day.get(day, {}))
        context.log.warning(
            f"skipped day '{day[:40]}': not a day partition (staged from {files or 'no file'})"
        )
    for day in (day for day in days if day not in unknown):
        fingerprint = _fingerprint(inputs_by_day.get(day))
        run_requests.append(RunRequest(job_name=DAILY, partition_key=day, run_key=f"day:{day}:{fingerprint}"))
    if not run_requests:  # weeks only once every file is staged and every day is merged and rolled up
        weeks = pending_weeks(home, settings, WEEKLY_TABLES)
        weeks = [week for week in weeks if week not in set(unknown_week_keys(weeks))]
        if weeks:
            week = weeks[0]
            fingerprint = expected_week_fingerprints(home, settings)[week]
            run_requests.append(
                RunRequest(
                    job_name=WEEKLY, partition_key=week.isoformat(), run_key=f"week:{week}:{fingerprint}"
                )
            )
    cursor = json.dumps(
        {"landed_files": len(landed), "staged_files": len(staged_ids), "inputs": _fingerprint(inputs_by_day)},
        sort_keys=True,
    )
    return SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[landed_files_partitions.build_add_request(new_partitions)]
        if new_partitions
        else [],
        cursor=cursor,
    )
