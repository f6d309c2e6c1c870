"""The distributed mode for real: a Dagster instance whose storage is PostgreSQL, the lake in S3 (moto), and the
daemon's run queue launching two runs at a time, each in its own processes with its own empty scratch directory.
A backfill of three daily partitions through that queue leaves the lake, quarantine and rollups a local run
leaves; the weeks, warehouse and publish that ``modeshift materialize`` then runs against the same instance give
the local run's profiles and recommendations."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from pipelines.app.cli import main
from pipelines.core.object_store import S3Store
from tests.servers import postgres_server, s3_server
from tests.test_object_lake import SALT, lake_tables, local_run, pulled_copy, write_week

BACKFILL_DAYS = 3
REPO = Path(__file__).resolve().parents[1]
DAGSTER_BIN = Path(sys.executable).parent
TIMEOUT_S = (
    1200.0  # a liveness bound (a stuck queue fails the test), not a speed test: CI machines are shared
)

INSTANCE = """\
telemetry:
  enabled: false
storage:
  postgres:
    postgres_url: "{url}"
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    max_concurrent_runs: 2
  pools:
    default_limit: 1
"""


def _wait_for_runs(instance: DagsterInstance, count: int) -> list:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        records = instance.get_run_records()
        if len(records) >= count and all(r.dagster_run.is_finished for r in records):
            return records
        assert time.monotonic() < deadline, [r.dagster_run.status for r in records]
        time.sleep(1.0)


def _backfill(env: dict[str, str], job: str, partitions: list[str]) -> None:
    submitted = subprocess.run(  # noqa: S603 - the dagster CLI of this environment
        [str(DAGSTER_BIN / "dagster"), "job", "backfill", "-w", str(REPO / "workspace.yaml"), "-j", job]
        + ["--partitions", ",".join(partitions), "--noprompt"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert submitted.returncode == 0, submitted.stderr[-3000:]


@pytest.mark.slow
def test_two_queued_workers_with_postgres_and_s3_equal_the_local_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # three days: two runs at a time overlap, and every run is one process per step (tens of seconds each)
    source = write_week(tmp_path / "week.jsonl", days=BACKFILL_DAYS)
    monkeypatch.setenv("MODESHIFT_SALT", SALT)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "local-dagster"))
    local = local_run(tmp_path / "local", source, monkeypatch)
    with s3_server() as s3, postgres_server() as postgres_url:
        bucket = s3.new_bucket()
        dagster_home = tmp_path / "dagster"
        dagster_home.mkdir()
        (dagster_home / "dagster.yaml").write_text(
            INSTANCE.format(url=postgres_url.replace("postgresql://", "postgresql+psycopg2://"))
        )
        scratch = tmp_path / "scratch"
        for key, value in s3.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("MODESHIFT_LAKE", f"s3://{bucket}/lake")
        monkeypatch.setenv("MODESHIFT_SCRATCH", str(scratch))
        monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
        monkeypatch.delenv("MODESHIFT_HOME", raising=False)
        store = S3Store(bucket, "lake")
        assert main(["ingest", "--format", "canonical", str(source)]) == 0
        file_id = next(i.key for i in store.list("landing/") if i.key.endswith(".manifest.json")).split("/")[
            1
        ][:20]
        env = {k: v for k, v in os.environ.items() if k != "MODESHIFT_HOME"} | {"PYTHONPATH": str(REPO)}
        days = [f"2026-11-{day:02d}" for day in range(2, 2 + BACKFILL_DAYS)]
        daemon = subprocess.Popen(  # noqa: S603 - the dagster daemon of this environment
            [str(DAGSTER_BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with DagsterInstance.from_config(str(dagster_home)) as instance:
                instance.add_dynamic_partitions("landed_files", [file_id])
                _backfill(env, "stage_files", [file_id])
                _wait_for_runs(instance, 1)
                _backfill(env, "daily", days)
                records = _wait_for_runs(instance, 1 + len(days))
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
        assert {r.dagster_run.status for r in records} == {DagsterRunStatus.SUCCESS}
        daily = [r for r in records if r.dagster_run.job_name == "daily"]
        spans = sorted((r.start_time, r.end_time) for r in daily)
        overlaps = sum(1 for (_, end), (start, _) in zip(spans, spans[1:], strict=False) if start < end)
        assert overlaps >= 1, f"the daily runs never overlapped: {spans}"
        assert max(sum(1 for s, e in spans if s <= at < e) for at, _ in spans) <= 2  # the queue's limit held
        assert not scratch.exists() or not any(
            scratch.iterdir()
        )  # every run's scratch was its own, and is gone

        after_days = lake_tables(pulled_copy(store, tmp_path / "after-days"), weekly=False)
        assert after_days == lake_tables(local.root, weekly=False)

        assert main(["materialize", "--quiet"]) == 0  # the weeks, warehouse and publish, on the same instance
        assert lake_tables(pulled_copy(store, tmp_path / "after-weeks")) == lake_tables(local.root)
        with DagsterInstance.from_config(str(dagster_home)) as instance:
            jobs = {r.dagster_run.job_name for r in instance.get_run_records()}
        assert {"stage_files", "daily", "weekly", "refresh_warehouse", "publish_analytics"} <= jobs
