"""The landing sensor: new landed files are staged, and every day whose inputs changed (a new day, or a late file
for a day already computed) is merged again."""

from __future__ import annotations

import hashlib
import json

from dagster import RunRequest, SensorEvaluationContext, SensorResult, sensor

from pipelines.ingest.day_merge import pending_days, staged_inputs_by_day
from pipelines.ingest.staging import all_staged
from pipelines.jobs import DAILY, STAGE_FILES, daily_job, stage_files_job
from pipelines.landing import landed_files
from pipelines.partitions import LANDED_FILES, landed_files_partitions
from pipelines.resources import ModeshiftResource


def _fingerprint(payload: object) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@sensor(
    jobs=[stage_files_job, daily_job],
    minimum_interval_seconds=30,
    description="Stages newly landed files and re-merges every day whose staged inputs changed.",
)
def landing_sensor(context: SensorEvaluationContext, modeshift: ModeshiftResource) -> SensorResult:
    """Request a staging run per new file and a daily run per pending day (run keys make each request once)."""
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
    for day in pending_days(home):
        run_requests.append(
            RunRequest(
                job_name=DAILY, partition_key=day, run_key=f"day:{day}:{_fingerprint(inputs_by_day[day])}"
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
