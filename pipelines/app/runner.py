"""Run pending work through Dagster, in process, against the persistent instance under ``$MODESHIFT_HOME/dagster``
(so the runs show up in ``dagster dev``). Used by ``modeshift materialize`` and ``modeshift demo``."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from dagster import AssetCheckEvaluation, AssetCheckSeverity, DagsterInstance

from pipelines.app.ui import ui_hint
from pipelines.core.atomic import remove_stale_temporaries, temp_sibling
from pipelines.core.calendar import week_days, week_start_of
from pipelines.core.disk import clear_disk_error, disk_full_error, disk_problem
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.object_store import configured_store
from pipelines.core.run_lock import materialize_lock
from pipelines.core.settings import Settings
from pipelines.definitions import defs  # the composition root: the app layer runs its jobs
from pipelines.delivery.publish import analytics_path
from pipelines.ingest.day_merge import staged_inputs_by_day
from pipelines.ingest.failures import failed_files, read_failure
from pipelines.ingest.landing import landed_files, remove_raw_leftovers
from pipelines.ingest.privacy import api_key_salt
from pipelines.ingest.staging import StagedFile, all_staged, read_staged
from pipelines.lake.pending import days_to_build, files_to_stage, weeks_to_build
from pipelines.ops.jobs import (
    DAILY,
    PUBLISH_ANALYTICS,
    REFRESH_WAREHOUSE,
    STAGE_FILES,
    WAREHOUSE_POOL,
    WEEKLY,
)
from pipelines.ops.partitions import LANDED_FILES, START_DATE, unknown_day_keys, unknown_week_keys
from pipelines.ops.run_errors import error_line
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
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # failed WARN checks: said, and the runs count as done
    failed_files: list[str] = field(
        default_factory=list
    )  # set aside by this run (see pipelines.ingest.failures)
    staged_files: list[StagedFile] = field(default_factory=list)  # staged by this run, with their accounting
    seconds: float = 0.0


def dagster_instance(home: Home) -> DagsterInstance:
    """The persistent Dagster instance of this home (``DAGSTER_HOME`` is set to ``home/dagster``); in object mode
    (``MODESHIFT_LAKE``) the deployment's instance when ``DAGSTER_HOME`` is set (its storage in Postgres, say), so
    the runs of ``materialize`` are recorded beside those of the daemon."""
    if configured_store() is not None and os.environ.get("DAGSTER_HOME"):
        logging.getLogger("dagster").setLevel(logging.WARNING)
        return DagsterInstance.get()
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
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        instance=instance,
        partition_key=partition_key,
        raise_on_error=False,
        run_config=_QUIET,
        tags=runner_tags(),  # lets a later run recover this one if this process dies
    )
    summary.runs[job_name] = summary.runs.get(job_name, 0) + 1
    evaluations = [evaluation for evaluation in result.get_asset_check_evaluations() if not evaluation.passed]
    # a failed ERROR check fails the partition; a WARN check (e.g. quarantined_share) is reported and the run counts
    failed_checks = [e.check_name for e in evaluations if e.severity == AssetCheckSeverity.ERROR]
    for evaluation in evaluations:
        if evaluation.severity != AssetCheckSeverity.ERROR:
            summary.warnings.append(f"{job_name} {partition_key or ''}: {_warning_line(evaluation)}".strip())
    if not result.success or failed_checks:
        what = f"{job_name} {partition_key}" if partition_key else job_name
        reason = f"failed checks: {', '.join(failed_checks)}" if failed_checks else _first_error(result, home)
        summary.failures.append(f"{what} ({reason}; run {result.run_id[:8]})")
        return False
    return True


def _warning_line(evaluation: AssetCheckEvaluation) -> str:
    """One line for a failed warning check: its asset and name, and the share it measured (when it has one)."""
    share = evaluation.metadata.get("quarantined_share")
    limit = evaluation.metadata.get("max_quarantined_share")
    measured = f" ({share.value:.1%} of the rows, over {limit.value:.0%})" if share and limit else ""
    return f"check {evaluation.asset_key.to_user_string()}.{evaluation.check_name} failed{measured}"


def _first_error(result, home: Home) -> str:  # noqa: ANN001 - an ExecuteInProcessResult
    """The line that says why the run failed: from the first step failure's error (or the resource set-up
    failure's, e.g. a bad config.yaml), a full disk said plainly; 'run failed' when there is none."""
    for event in result.all_events:
        if event.is_step_failure or event.event_type_value == "RESOURCE_INIT_FAILURE":
            error = getattr(event.event_specific_data, "error", None)
            if error is None:
                continue
            messages = []
            cause = error
            while cause is not None:
                messages.append(cause.message)
                cause = cause.cause or getattr(cause, "context", None)
            problem = next((p for m in messages if (p := disk_problem(m, home.root)) is not None), None)
            if problem is not None:
                return str(disk_full_error(home.root, problem))
            return error_line(error, "run failed")
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
    then refresh the warehouse tables and publish analytics.

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


def _skip_unknown_days(home: Home, days: list[str], summary: RunSummary, progress: Progress) -> list[str]:
    """``days`` without those that are not daily partition keys; each skipped one is reported with the files whose
    staged slices made it (a run for it would fail before starting, and must not stop the other days)."""
    unknown = unknown_day_keys(days)
    if unknown:
        inputs = staged_inputs_by_day(all_staged(home))
        names = {f.file_id: f.original_name for f in landed_files(home)}
        for day in unknown:
            files = ", ".join(f"{names.get(file_id, '?')} ({file_id})" for file_id in inputs.get(day, {}))
            line = f"day '{day[:40]}' is not a day partition (staged from {files or 'no file'})"
            summary.skipped.append(line)
            progress(
                f"[skipped] {line}; its rows stay out of the lake ('modeshift forget FILE_ID' drops the file "
                "when none of its rows are in it)"
            )
    return [day for day in days if day not in set(unknown)]


# Weeks of partitions without data before the first day with data, past which materialize suggests a later start.
EMPTY_WEEKS_HINT = 8


def start_date_hint(home: Home, settings: Settings) -> str | None:
    """A suggestion when the Dagster partitions begin (``ingest.start_date``: the later of the one this process
    loaded them with and the one in ``settings`` now, which a code location loads next) more than
    ``EMPTY_WEEKS_HINT`` weeks before the first UTC day with staged data: the UI would show those weeks as missing
    partitions. None otherwise."""
    days = [day for day in staged_inputs_by_day(all_staged(home)) if not unknown_day_keys([day])]
    if not days:
        return None
    first = week_start_of(date.fromisoformat(min(days)))
    start = max(START_DATE, settings.ingest.start_date)
    empty_weeks = (first - week_start_of(start)).days // 7
    if empty_weeks <= EMPTY_WEEKS_HINT:
        return None
    return (
        f"the Dagster partitions begin on {start} (ingest.start_date), {empty_weeks} weeks before the first "
        f"week with data ({first}): the UI shows those weeks as missing. Set 'ingest:\n  start_date: {first}' in "
        f"{home.config_file} (earlier rows are then quarantined) and restart the UI"
    )


def _materialize_pending(home: Home, progress: Progress) -> RunSummary:
    """The work of :func:`materialize_pending`, under its lock. A file that cannot be staged is set aside
    (``summary.failed_files``, ``modeshift status``) and blocks nothing: the good files go on and analytics is
    published. A failed day or week raises, after the warehouse refresh."""
    started = time.monotonic()
    settings = Settings.load(home)  # a bad config.yaml fails here, before any run is created
    summary = RunSummary()
    remove_leftovers(home, progress)  # first: a full disk must be freed before anything is written
    api_key_salt(home)  # an empty or short salt is the home's problem: it would fail every staging alike
    instance = dagster_instance(home)
    for run_id in recover_abandoned_runs(instance, pools=[WAREHOUSE_POOL]):
        progress(f"[recovered] run {run_id[:8]} of a process that died was marked failed and its slot freed")
    landed = landed_files(home)
    known = set(instance.get_dynamic_partitions(LANDED_FILES))
    new_ids = [f.file_id for f in landed if f.file_id not in known]
    if new_ids:
        instance.add_dynamic_partitions(LANDED_FILES, new_ids)
    for failure in failed_files(home).values():
        progress(
            f"[failed] {failure.original_name} ({failure.file_id}) was set aside earlier: {failure.error} "
            f"(modeshift retry|forget {failure.file_id})"
        )
    to_stage = files_to_stage(home)
    for index, landed_file in enumerate(to_stage, start=1):
        step = time.monotonic()
        staging = RunSummary()  # a file that fails is set aside and reported; it blocks nothing else
        _run(instance, home, STAGE_FILES, landed_file.file_id, staging)
        summary.warnings += staging.warnings
        summary.runs[STAGE_FILES] = summary.runs.get(STAGE_FILES, 0) + 1
        failure = read_failure(home, landed_file.file_id)
        if staging.failures and failure is not None and failure.failed:
            summary.failed_files.append(
                f"{landed_file.original_name} ({landed_file.file_id}): {failure.error}"
            )
            state = "FAILED, set aside"
        elif staging.failures:  # a transient error (disk, memory): tried again by the next materialize
            summary.failed_files.append(staging.failures[0])
            state = "failed, will be retried"
        else:
            staged = read_staged(home, landed_file.file_id)
            state = "staged"
            if staged is not None:
                summary.staged_files.append(staged)
                state = f"staged: {staged.rows_staged:,} accepted, {staged.rows_quarantined:,} quarantined"
        progress(
            f"[stage {index}/{len(to_stage)}] {landed_file.original_name} {state} "
            f"({time.monotonic() - step:.1f} s)"
        )
    days = _skip_unknown_days(home, days_to_build(home, settings), summary, progress)
    failed_days: list[str] = []
    for index, day in enumerate(days, start=1):
        step = time.monotonic()
        if not _run(instance, home, DAILY, day, summary):
            failed_days.append(day)
        progress(f"[day {index}/{len(days)}] {day} ({time.monotonic() - step:.1f} s)")
    weeks = weeks_to_build(home, settings)
    for week in unknown_week_keys(weeks):  # a week that has not begun yet: it runs once it is a partition
        summary.skipped.append(f"week {week}: not a weekly partition yet")
        progress(f"[week] {week} skipped: not a weekly partition yet")
    weeks = [week for week in weeks if week not in set(unknown_week_keys(weeks))]
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
    for warning in summary.warnings:
        progress(f"[warning] {warning}")
    hint = start_date_hint(home, settings)
    if hint is not None:
        progress(f"[hint] {hint}")
    summary.seconds = time.monotonic() - started
    if summary.failures:  # days or weeks: the data analysts see would be incomplete (files: see failed_files)
        listed = "; ".join(summary.failures[:5]) + (" ..." if len(summary.failures) > 5 else "")
        raise ModeshiftError(
            f"{len(summary.failures)} run(s) failed: {listed}.",
            f"Open the runs in the Dagster UI ({ui_hint(home)}) for details.",
        )
    return summary
