"""Recover from runs whose process died: a ``modeshift materialize`` killed mid-run (SIGKILL, OOM, power loss)
leaves its Dagster run STARTED and, when it died inside the warehouse or analytics step, holding the only slot of
the ``modeshift_warehouse`` pool, so every later run would wait for that slot for ever.

Every run ``materialize_pending`` starts carries a tag naming its process (host, pid and the process start time, so
a recycled pid is not mistaken for the original). Before new work starts, runs carrying that tag whose process no
longer exists are marked failed and their pool slots freed; slots still held by runs that already ended are freed
too. Runs started by other launchers (``dagster dev``, the daemon) carry no tag: see docs/scaling.md for those.
"""

from __future__ import annotations

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from pipelines.core.processes import ProcessIdentity, current_process, is_alive

RUNNER_TAG = "modeshift/runner"
_UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def runner_tags() -> dict[str, str]:
    """The tags of a run started by this process (see the module docstring)."""
    return {RUNNER_TAG: current_process().tag()}


def recover_abandoned_runs(instance: DagsterInstance, pools: list[str]) -> list[str]:
    """Mark failed every unfinished run of a dead modeshift runner on this host, free the slots those runs (and any
    finished run) still hold in ``pools``; return the ids of the runs marked failed."""
    abandoned: list[str] = []
    for run in instance.get_runs(filters=RunsFilter(statuses=_UNFINISHED)):
        runner = ProcessIdentity.parse(run.tags.get(RUNNER_TAG, ""))
        if runner is None or is_alive(runner):
            continue
        instance.report_run_failed(
            run, f"modeshift: the process that ran this run ({runner.tag()}) ended before the run finished."
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        abandoned.append(run.run_id)
    for pool in pools:
        for run_id in instance.event_log_storage.get_concurrency_info(pool).active_run_ids:
            holder = instance.get_run_by_id(run_id)
            if holder is None or holder.is_finished:
                instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return abandoned
