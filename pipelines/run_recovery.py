"""Recover from runs whose process died: a ``modeshift materialize`` killed mid-run (SIGKILL, OOM, power loss)
leaves its Dagster run STARTED and, when it died inside the warehouse or analytics step, holding the only slot of
the ``modeshift_warehouse`` pool, so every later run would wait for that slot for ever.

Every run ``materialize_pending`` starts carries a tag naming its process (host, pid and the process start time, so
a recycled pid is not mistaken for the original). Before new work starts, runs carrying that tag whose process no
longer exists are marked failed and their pool slots freed; slots still held by runs that already ended are freed
too. Runs started by other launchers (``dagster dev``, the daemon) carry no tag and are left to Dagster's own run
monitoring.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import psutil
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

RUNNER_TAG = "modeshift/runner"
_UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class RunnerIdentity:
    """The process that runs a materialize: host name, pid and start time (seconds since the epoch, 0.01 s)."""

    host: str
    pid: int
    started: float

    def tag(self) -> str:
        """The value of the ``modeshift/runner`` tag for runs of this process."""
        return f"{self.host}:{self.pid}:{self.started:.2f}"

    @staticmethod
    def parse(tag: str) -> RunnerIdentity | None:
        """The identity in a ``modeshift/runner`` tag value, or None when it is not one."""
        host, _, rest = tag.rpartition(":")
        host, _, pid = host.rpartition(":")
        try:
            return RunnerIdentity(host=host, pid=int(pid), started=float(rest))
        except ValueError:
            return None


def this_runner() -> RunnerIdentity:
    """The identity of the current process."""
    return RunnerIdentity(
        host=socket.gethostname(), pid=os.getpid(), started=round(psutil.Process().create_time(), 2)
    )


def is_alive(runner: RunnerIdentity) -> bool:
    """Whether ``runner``'s process still exists on this host (another host's process counts as alive: we cannot
    tell, so we never touch its runs)."""
    if runner.host != socket.gethostname():
        return True
    try:
        return abs(psutil.Process(runner.pid).create_time() - runner.started) < 0.05
    except psutil.NoSuchProcess:
        return False


def recover_abandoned_runs(instance: DagsterInstance, pools: list[str]) -> list[str]:
    """Mark failed every unfinished run of a dead modeshift runner on this host, free the slots those runs (and any
    finished run) still hold in ``pools``; return the ids of the runs marked failed."""
    abandoned: list[str] = []
    for run in instance.get_runs(filters=RunsFilter(statuses=_UNFINISHED)):
        runner = RunnerIdentity.parse(run.tags.get(RUNNER_TAG, ""))
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
