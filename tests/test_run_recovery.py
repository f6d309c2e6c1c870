"""A materialize killed while it held the warehouse pool's only slot must not block every later run: the next
``materialize`` marks the dead process's run failed, frees the slot, and finishes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus

from pipelines.home import Home
from pipelines.jobs import REFRESH_WAREHOUSE, WAREHOUSE_POOL
from pipelines.run_recovery import RunnerIdentity, is_alive, this_runner

REPO = Path(__file__).resolve().parents[1]

# Dies (SIGKILL, as the OOM killer would) inside the warehouse step, i.e. while holding the pool slot.
KILLED_IN_WAREHOUSE = """
import os, signal, sys
from pathlib import Path
import pipelines.definitions
import assets.warehouse
from pipelines.home import Home
from pipelines.runner import materialize_pending

def die(home):
    os.kill(os.getpid(), signal.SIGKILL)

assets.warehouse.refresh_ingest_tables = die
materialize_pending(Home(Path(sys.argv[1])), progress=lambda line: print(line, flush=True))
"""

MATERIALIZE = """
import sys
from pathlib import Path
from pipelines.home import Home
from pipelines.runner import materialize_pending
materialize_pending(Home(Path(sys.argv[1])), progress=lambda line: print(line, flush=True))
print("finished", flush=True)
"""


def _python(script: str, home: Home, timeout_s: float) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MODESHIFT_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster_home)}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, str(home.root)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_a_run_killed_holding_the_warehouse_slot_is_recovered_by_the_next_materialize(
    built_home: Home,
) -> None:
    killed = _python(KILLED_IN_WAREHOUSE, built_home, timeout_s=120)
    assert killed.returncode == -9
    with DagsterInstance.from_config(str(built_home.dagster_home)) as instance:
        (dead_run,) = instance.get_runs(limit=1)
        assert dead_run.job_name == REFRESH_WAREHOUSE
        assert dead_run.status == DagsterRunStatus.STARTED
        assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).active_run_ids == {
            dead_run.run_id
        }

    # Without recovery this waits for the slot for ever; the timeout turns that into a failure.
    recovered = _python(MATERIALIZE, built_home, timeout_s=120)
    assert recovered.returncode == 0, recovered.stderr[-2000:]
    assert f"[recovered] run {dead_run.run_id[:8]}" in recovered.stdout
    assert recovered.stdout.strip().endswith("finished")
    with DagsterInstance.from_config(str(built_home.dagster_home)) as instance:
        assert instance.get_run_by_id(dead_run.run_id).status == DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).active_run_ids == set()
        newest_warehouse_run = instance.get_runs(limit=2)[1]
        assert newest_warehouse_run.job_name == REFRESH_WAREHOUSE
        assert newest_warehouse_run.status == DagsterRunStatus.SUCCESS


def test_a_live_runner_is_alive_and_a_dead_or_recycled_one_is_not() -> None:
    me = this_runner()
    assert RunnerIdentity.parse(me.tag()) == me
    assert is_alive(me)
    assert not is_alive(RunnerIdentity(me.host, me.pid, me.started - 100.0))  # same pid, another process
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    assert not is_alive(RunnerIdentity(me.host, int(finished.stdout), me.started))
    assert is_alive(RunnerIdentity("another-host", 1, 0.0))  # cannot tell: never touched
    assert RunnerIdentity.parse("not a runner tag") is None
