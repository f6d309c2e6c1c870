"""A backfill of three daily partitions, the way a Dagster deployment runs it: ``dagster job backfill`` queues
one run per day, the Dagster daemon dequeues them two at a time (``concurrency: runs: max_concurrent_runs: 2``), and each run executes
in its own process with Dagster's multiprocess executor. The lake, the quarantine and the rollups it leaves must
equal those of a sequential run on an identical home, and at least two runs must really have overlapped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.ingest.day_merge import pending_days
from pipelines.ingest.landing import land_file, landed_files
from pipelines.ingest.staging import stage_file

REPO = Path(__file__).resolve().parents[1]
DAGSTER_BIN = Path(sys.executable).parent
SALT = "backfill-salt"
BACKFILL_TIMEOUT_S = 1200.0  # a liveness bound (a stuck queue fails the test), not a speed test

QUEUED_INSTANCE = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    max_concurrent_runs: 2
  pools:
    default_limit: 1
"""


# Three days: two runs at a time overlap, and every run is one process per step (tens of seconds each).
BACKFILL_DAYS = 3


def _write_days(path: Path) -> Path:
    """``BACKFILL_DAYS`` days of requests on two endpoints, with five exact duplicates and one unreadable line."""
    rows = [
        {
            "request_id": f"r{day}-{i}",
            "ts": f"2026-11-{day:02d}T{i % 24:02d}:{(i * 7) % 60:02d}:00Z",
            "endpoint": ("chat", "nightly")[i % 2],
            "model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
            "input_tokens": 500 + i,
            "output_tokens": 20 + day,
            "interactive": i % 2 == 0,
        }
        for day in range(2, 2 + BACKFILL_DAYS)
        for i in range(40)
    ]
    lines = [json.dumps(row) for row in rows + rows[:5]] + ["not json"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _staged_home(root: Path, source: Path) -> Home:
    home = Home(root).ensure()
    land_file(home, source, "canonical", {})
    stage_file(home, Settings.load(home), landed_files(home)[0])
    return home


def _lake(home: Home) -> dict[str, list[tuple]]:
    with duckdb.connect() as con:
        con.sql("SET TimeZone = 'UTC'")

        def rows(pattern: str, exclude: str = "") -> list[tuple]:
            files = sorted(str(p) for p in home.lake.glob(pattern))
            return con.sql(
                f"SELECT * {exclude} FROM read_parquet($files, union_by_name = true) ORDER BY ALL",  # noqa: S608
                params={"files": files},
            ).fetchall()

        return {
            "requests": rows("requests/day=*/*.parquet"),
            "quarantine": rows("quarantine/day=*/*.parquet"),
            "rollup/minutes": rows("rollups/day=*/minutes.parquet"),
            "rollup/histograms": rows("rollups/day=*/histograms.parquet"),
        }


@pytest.mark.slow
def test_a_queued_backfill_two_runs_at_a_time_equals_the_sequential_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODESHIFT_SALT", SALT)
    source = _write_days(tmp_path / "days.jsonl")
    monkeypatch.setenv("MODESHIFT_HOME", str(tmp_path / "queued"))
    _staged_home(tmp_path / "queued", source)
    shutil.copytree(tmp_path / "queued", tmp_path / "sequential", symlinks=True)  # same landing times and ids
    homes = {name: Home(tmp_path / name) for name in ("queued", "sequential")}
    queued = homes["queued"]
    days = pending_days(queued)
    assert len(days) == BACKFILL_DAYS

    monkeypatch.setenv("MODESHIFT_HOME", str(homes["sequential"].root))
    materialize_pending(homes["sequential"], progress=lambda _: None)

    queued.dagster_home.mkdir(parents=True, exist_ok=True)
    (queued.dagster_home / "dagster.yaml").write_text(QUEUED_INSTANCE)
    env = os.environ | {
        "MODESHIFT_HOME": str(queued.root),
        "MODESHIFT_SALT": SALT,
        "DAGSTER_HOME": str(queued.dagster_home),
        "PYTHONPATH": str(REPO),
    }
    workspace = ["-w", str(REPO / "workspace.yaml")]
    submitted = subprocess.run(  # noqa: S603 - the dagster CLI of this environment
        [str(DAGSTER_BIN / "dagster"), "job", "backfill", *workspace, "-j", "daily"]
        + ["--partitions", ",".join(days), "--noprompt"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    daemon = subprocess.Popen(  # noqa: S603 - the dagster daemon of this environment
        [str(DAGSTER_BIN / "dagster-daemon"), "run", *workspace],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + BACKFILL_TIMEOUT_S
        with DagsterInstance.from_config(str(queued.dagster_home)) as instance:
            while True:
                records = instance.get_run_records()
                if len(records) == len(days) and all(r.dagster_run.is_finished for r in records):
                    break
                assert time.monotonic() < deadline, [r.dagster_run.status for r in records]
                time.sleep(1.0)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)

    assert {r.dagster_run.status for r in records} == {DagsterRunStatus.SUCCESS}
    assert sorted(r.dagster_run.tags["dagster/partition"] for r in records) == days
    spans = sorted((r.start_time, r.end_time) for r in records)
    overlaps = sum(1 for (_, end), (start, _) in zip(spans, spans[1:], strict=False) if start < end)
    assert overlaps >= 1, f"the runs never overlapped: {spans}"
    assert max(_concurrent(spans)) <= 2  # the queue's limit held

    queued_lake, sequential_lake = _lake(queued), _lake(homes["sequential"])
    assert queued_lake == sequential_lake
    assert len(queued_lake["requests"]) == BACKFILL_DAYS * 40
    assert len(queued_lake["quarantine"]) == 5
    shutil.rmtree(tmp_path / "queued" / "dagster", ignore_errors=True)  # the daemon's sockets and logs


def _concurrent(spans: list[tuple[float, float]]) -> list[int]:
    """How many runs were in progress at each run's start."""
    return [sum(1 for start, end in spans if start <= at < end) for at, _ in spans]
