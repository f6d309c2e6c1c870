"""The landing sensor: new landed files are staged, every day whose inputs changed (a new day, or a late file for a
day already computed) is merged and rolled up again, and then the weeks those days belong to are recomputed."""

from __future__ import annotations

import hashlib
import json

from dagster import RunRequest, SensorEvaluationContext, SensorResult, sensor

from pipelines.ingest.day_merge import merge_inputs, pending_days, staged_inputs_by_day
from pipelines.ingest.landing import landed_files
from pipelines.ingest.staging import all_staged
from pipelines.lake.lineage import expected_week_fingerprints, pending_rollup_days, pending_weeks
from pipelines.lake.weekly_store import WEEKLY_TABLES
from pipelines.ops.jobs import DAILY, STAGE_FILES, WEEKLY, daily_job, stage_files_job, weekly_job
from pipelines.ops.partitions import LANDED_FILES, landed_files_partitions
from pipelines.ops.resources import ModeshiftResource


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
    run_requests = [
        RunRequest(job_name=STAGE_FILES, partition_key=f.file_id, run_key=f"stage:{f.file_id}")
        for f in landed
        if f.file_id not in staged_ids
    ]
    inputs_by_day = staged_inputs_by_day(staged)
    settings = modeshift.settings()
    window = settings.dedupe_window
    days = sorted(set(pending_days(home, window)) | set(pending_rollup_days(home, settings)))
    for day in days:
        # what the merge reads (the day's slices and those of its dedupe window), so a neighbour's change re-runs it
        fingerprint = _fingerprint(merge_inputs(staged, day, window))
        run_requests.append(RunRequest(job_name=DAILY, partition_key=day, run_key=f"day:{day}:{fingerprint}"))
    if not run_requests:  # weeks only once every file is staged and every day is merged and rolled up
        weeks = pending_weeks(home, settings, WEEKLY_TABLES)
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
