"""A materialize killed while it held the warehouse pool's only slot must not block every later run: the next
``materialize`` marks the dead process's run failed, frees the slot, and finishes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus

from pipelines.core.atomic import remove_stale_temporaries, temp_path
from pipelines.core.home import Home
from pipelines.core.processes import ProcessIdentity, current_process, is_alive, token_is_alive
from pipelines.ops.jobs import REFRESH_WAREHOUSE, WAREHOUSE_POOL

REPO = Path(__file__).resolve().parents[1]

# Dies (SIGKILL, as the OOM killer would) inside the warehouse step, i.e. while holding the pool slot.
KILLED_IN_WAREHOUSE = """
import os, signal, sys
from pathlib import Path
import pipelines.definitions
import assets.warehouse
from pipelines.core.atomic import remove_stale_temporaries, temp_path
from pipelines.core.home import Home
from pipelines.app.runner import materialize_pending

def die(home):
    os.kill(os.getpid(), signal.SIGKILL)

assets.warehouse.refresh_ingest_tables = die
materialize_pending(Home(Path(sys.argv[1])), progress=lambda line: print(line, flush=True))
"""

MATERIALIZE = """
import sys
import time
from pathlib import Path
from pipelines.core.atomic import remove_stale_temporaries, temp_path
from pipelines.core.home import Home
from pipelines.app.runner import materialize_pending
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
    me = current_process()
    assert ProcessIdentity.parse(me.tag()) == me
    assert is_alive(me)
    assert not is_alive(ProcessIdentity(me.host, me.pid, me.started - 100.0))  # same pid, another process
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    assert not is_alive(ProcessIdentity(me.host, int(finished.stdout), me.started))
    assert is_alive(ProcessIdentity("another-host", 1, 0.0))  # cannot tell: never touched
    assert ProcessIdentity.parse("not a runner tag") is None


WRITE_AND_DIE = """
import os, signal, sys
from pathlib import Path
from pipelines.core.atomic import temp_path
directory = Path(sys.argv[1])
temp_path(directory, "raw-bytes.partial").write_text("prompt text that must not stay")
work_dir = temp_path(directory, "day-2026-11-02")
(work_dir / "out").mkdir(parents=True)
(work_dir / "out" / "part.parquet").write_text("half a file")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_sweep_removes_exactly_what_dead_writers_left(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    nested = lake / "weekly" / "recommendations" / "week=2026-11-02"
    nested.mkdir(parents=True)
    died = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", WRITE_AND_DIE, str(nested)],
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        check=False,
    )
    assert died.returncode == -9
    dead_leftovers = sorted(nested.glob(".tmp-*"))
    assert len(dead_leftovers) == 2
    token = dead_leftovers[0].name.split("-")[1]
    assert token_is_alive(token) is False

    live = temp_path(nested, "mine.partial")  # this process is still writing it
    live.write_text("in progress")
    assert token_is_alive(live.name.split("-")[1]) is True
    unowned_old = nested / ".tmp-0123456789abcdef-part.partial"  # an old-style name, a day and a half old
    unowned_old.write_text("old")
    os.utime(unowned_old, (time.time() - 36 * 3600,) * 2)
    unowned_fresh = nested / ".trash-fedcba9876543210-week=2026-11-02"
    unowned_fresh.mkdir()
    kept_output = nested / "part.parquet"
    kept_output.write_text("the committed output")

    removed = remove_stale_temporaries(lake)

    assert sorted(removed) == sorted([*dead_leftovers, unowned_old])
    assert sorted(p.name for p in nested.iterdir()) == sorted(
        [live.name, unowned_fresh.name, kept_output.name]
    )
    assert remove_stale_temporaries(lake) == []  # idempotent
    assert remove_stale_temporaries(tmp_path / "missing") == []
