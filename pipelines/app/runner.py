"""Run pending work through Dagster, in process, against the persistent instance under ``$MODESHIFT_HOME/dagster``
(so the runs show up in ``dagster dev``). Used by ``modeshift materialize`` and ``modeshift demo``."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dagster import DagsterInstance

from pipelines.core.atomic import remove_stale_temporaries, temp_sibling
from pipelines.core.calendar import week_days
from pipelines.core.disk import clear_disk_error, disk_full_error, disk_problem
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.run_lock import materialize_lock
from pipelines.core.settings import Settings
from pipelines.delivery.publish import analytics_path
from pipelines.ingest.day_merge import pending_days
from pipelines.ingest.landing import landed_files, remove_raw_leftovers
from pipelines.ingest.staging import all_staged
from pipelines.lake.lineage import pending_rollup_days, pending_weeks
from pipelines.lake.weekly_store import WEEKLY_TABLES
from pipelines.ops.jobs import (
    DAILY,
    PUBLISH_ANALYTICS,
    REFRESH_WAREHOUSE,
    STAGE_FILES,
    WAREHOUSE_POOL,
    WEEKLY,
)
from pipelines.ops.partitions import LANDED_FILES
from pipelines.ops.run_recovery import recover_abandoned_runs, runner_tags

_INSTANCE_YAML = """\
# Dagster instance of one modeshift home (written by modeshift; edit freely).
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1   # one writer of warehouse.duckdb at a time (the modeshift_warehouse pool)
"""
_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # failures are summarized by us

Progress = Callable[[str], None]


@dataclass
class RunSummary:
    """What one ``materialize`` did: runs per job, and the partitions that failed."""

    runs: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def dagster_instance(home: Home) -> DagsterInstance:
    """The persistent Dagster instance of this home (``DAGSTER_HOME`` is set to ``home/dagster``)."""
    home.dagster_home.mkdir(parents=True, exist_ok=True)
    config = home.dagster_home / "dagster.yaml"
    if not config.exists() or config.stat().st_size == 0:  # empty: a write that failed (a full disk) before
        tmp = temp_sibling(config)
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(_INSTANCE_YAML)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, config)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    logging.getLogger("dagster").setLevel(logging.WARNING)
    return DagsterInstance.get()


def _run(
    instance: DagsterInstance, home: Home, job_name: str, partition_key: str | None, summary: RunSummary
) -> bool:
    from pipelines.definitions import defs  # the composition root, imported only when work runs

    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        instance=instance,
        partition_key=partition_key,
        raise_on_error=False,
        run_config=_QUIET,
        tags=runner_tags(),  # lets a later run recover this one if this process dies
    )
    summary.runs[job_name] = summary.runs.get(job_name, 0) + 1
    failed_checks = [
        evaluation.check_name for evaluation in result.get_asset_check_evaluations() if not evaluation.passed
    ]
    if not result.success or failed_checks:
        what = f"{job_name} {partition_key}" if partition_key else job_name
        reason = f"failed checks: {', '.join(failed_checks)}" if failed_checks else _first_error(result, home)
        summary.failures.append(f"{what} ({reason}; run {result.run_id[:8]})")
        return False
    return True


def _first_error(result, home: Home) -> str:  # noqa: ANN001 - an ExecuteInProcessResult
    """The first line of the first step failure's error message (a full disk said plainly), or 'run failed'."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            messages = []
            cause = error
            while cause is not None:
                messages.append(cause.message)
                cause = cause.cause or getattr(cause, "context", None)
            problem = next((p for m in messages if (p := disk_problem(m, home.root)) is not None), None)
            if problem is not None:
                return str(disk_full_error(home.root, problem))
            while error.cause is not None and error.message.startswith("dagster."):
                error = error.cause
            return (
                error.message.strip()
                .splitlines()[0]
                .removeprefix("pipelines.core.errors.ModeshiftError: ")[:500]
            )
    return "run failed"


def remove_leftovers(home: Home, progress: Progress = print) -> None:
    """Delete what killed or failed writers left behind, before anything else runs (a full disk must be freed
    first): temporaries of dead writers (landing, lake, the home itself), raw landed bytes whose staging committed,
    and landed copies without a manifest."""
    leftovers = (
        remove_stale_temporaries(home.lake)
        + remove_stale_temporaries(home.landing)
        + remove_stale_temporaries(home.root, recursive=False)
    )
    # half-written files of killed writers: they may hold raw landed bytes, so they must not stay
    if leftovers:
        progress(f"[cleaned] {len(leftovers)} temporary file(s) left by writers that died")
    raw = remove_raw_leftovers(home)
    if raw.staged:
        progress(f"[cleaned] raw bytes of {len(raw.staged)} landed file(s) already staged")
    if raw.orphans:
        progress(
            f"[cleaned] {len(raw.orphans)} landed cop(ies) without a manifest (an ingest that died): ingest again"
        )
    if raw.orphan_sweep_skipped:
        progress(
            "[cleaned] an ingest is landing files right now: copies without a manifest are left for next time"
        )


def materialize_pending(
    home: Home, progress: Progress = print, wait: bool = True, command: str = "materialize"
) -> RunSummary:
    """Stage every landed file not staged yet, merge and roll up every pending day, compute every pending week,
    then refresh the warehouse tables.

    One at a time per home (``pipelines.core.run_lock``): with ``wait`` a second caller waits for the first, without
    it it fails at once naming the holder. A full disk becomes one clear ModeshiftError.
    """
    with materialize_lock(home, command=command, wait=wait, progress=progress):
        try:
            return _materialize_pending(home, progress)
        except ModeshiftError:
            raise
        except Exception as error:
            clear = clear_disk_error(home.root, error)
            if clear is None:
                raise
            raise clear from error


def _materialize_pending(home: Home, progress: Progress) -> RunSummary:
    started = time.monotonic()
    summary = RunSummary()
    remove_leftovers(home, progress)
    instance = dagster_instance(home)
    for run_id in recover_abandoned_runs(instance, pools=[WAREHOUSE_POOL]):
        progress(f"[recovered] run {run_id[:8]} of a process that died was marked failed and its slot freed")
    landed = landed_files(home)
    known = set(instance.get_dynamic_partitions(LANDED_FILES))
    new_ids = [f.file_id for f in landed if f.file_id not in known]
    if new_ids:
        instance.add_dynamic_partitions(LANDED_FILES, new_ids)
    staged_ids = {s.file_id for s in all_staged(home)}
    to_stage = [f for f in landed if f.file_id not in staged_ids]
    for index, landed_file in enumerate(to_stage, start=1):
        step = time.monotonic()
        _run(instance, home, STAGE_FILES, landed_file.file_id, summary)
        progress(
            f"[stage {index}/{len(to_stage)}] {landed_file.original_name} ({time.monotonic() - step:.1f} s)"
        )
    settings = Settings.load(home)
    days = sorted(set(pending_days(home, settings.dedupe_window)) | set(pending_rollup_days(home, settings)))
    failed_days: list[str] = []
    for index, day in enumerate(days, start=1):
        step = time.monotonic()
        if not _run(instance, home, DAILY, day, summary):
            failed_days.append(day)
        progress(f"[day {index}/{len(days)}] {day} ({time.monotonic() - step:.1f} s)")
    weeks = pending_weeks(home, settings, WEEKLY_TABLES)
    for index, week in enumerate(weeks, start=1):
        if any(day in failed_days for day in week_days(week)) or (
            failed_days and week.isoformat() > max(failed_days)
        ):
            progress(f"[week {index}/{len(weeks)}] {week} skipped: a day it depends on failed")
            continue  # weeks read their days, and later weeks read earlier ones (history)
        step = time.monotonic()
        if not _run(instance, home, WEEKLY, week.isoformat(), summary):
            failed_days.append(week.isoformat())  # later weeks depend on this one
        progress(f"[week {index}/{len(weeks)}] {week} ({time.monotonic() - step:.1f} s)")
    _run(instance, home, REFRESH_WAREHOUSE, None, summary)
    progress(f"[warehouse] {home.warehouse}")
    if not summary.failures:  # analysts only ever see snapshots of successful runs
        _run(instance, home, PUBLISH_ANALYTICS, None, summary)
        progress(f"[analytics] {analytics_path(home)}")
    summary.seconds = time.monotonic() - started
    if summary.failures:
        listed = "; ".join(summary.failures[:5]) + (" ..." if len(summary.failures) > 5 else "")
        raise ModeshiftError(
            f"{len(summary.failures)} run(s) failed: {listed}.",
            f"Open the runs in the Dagster UI (DAGSTER_HOME={home.dagster_home} dagster dev) for details.",
        )
    return summary
