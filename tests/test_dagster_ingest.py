"""The Dagster side of ingest: definitions load, the landing sensor and its cursor, blocking checks, backfills."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, build_sensor_context, materialize

import assets.fleet
import assets.ingest
import assets.profiles
import assets.recommendations
from pipelines.app.runner import dagster_instance, materialize_pending
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.definitions import defs
from pipelines.ingest.day_merge import pending_days
from pipelines.ingest.landing import land_file, landed_files
from pipelines.ingest.staging import stage_file, staged_dir
from pipelines.ops.partitions import LANDED_FILES
from pipelines.ops.resources import ModeshiftResource
from pipelines.ops.sensors import landing_sensor


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _row(request_id: str, ts: str) -> dict:
    return {
        "request_id": request_id,
        "ts": ts,
        "endpoint": "e",
        "model": "m",
        "input_tokens": 5,
        "output_tokens": 2,
    }


def test_definitions_load_with_jobs_and_sensor():
    assert {"stage_files", "daily", "refresh_warehouse"} <= {job.name for job in defs.resolve_all_job_defs()}
    assert defs.resolve_sensor_def("landing_sensor") is not None


def test_landing_sensor_requests_staging_then_days_and_keeps_its_cursor(home, tmp_path):
    instance = DagsterInstance.ephemeral()
    resources = {"modeshift": ModeshiftResource(home_dir=str(home.root))}
    land_file(home, _write(tmp_path / "a.jsonl", [_row("a", "2026-11-02T10:00:00Z")]), "canonical", {})
    landed = land_file(home, tmp_path / "a.jsonl", "canonical", {})[0]
    file_id = landed.file_id

    first = landing_sensor(build_sensor_context(instance=instance, resources=resources))
    assert [(r.job_name, r.partition_key, r.run_key) for r in first.run_requests] == [
        ("stage_files", file_id, f"stage:{file_id}@{landed.landed_at_ns}")
    ]
    assert first.dynamic_partitions_requests[0].partition_keys == [file_id]
    assert json.loads(first.cursor)["landed_files"] == 1 and json.loads(first.cursor)["staged_files"] == 0

    instance.add_dynamic_partitions(LANDED_FILES, [file_id])
    result = materialize(
        [assets.ingest.staged_file], partition_key=file_id, instance=instance, resources=resources
    )
    assert result.success
    second = landing_sensor(build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))
    assert [(r.job_name, r.partition_key) for r in second.run_requests] == [("daily", "2026-11-02")]
    assert second.dynamic_partitions_requests == []
    assert json.loads(second.cursor)["staged_files"] == 1

    # Once the day is merged and rolled up, its week is requested; after the week the sensor is quiet.
    materialize(
        [assets.ingest.requests, assets.profiles.daily_rollups],
        partition_key="2026-11-02",
        instance=instance,
        resources=resources,
    )
    third = landing_sensor(build_sensor_context(instance=instance, resources=resources, cursor=second.cursor))
    assert [(r.job_name, r.partition_key) for r in third.run_requests] == [("weekly", "2026-11-02")]
    weekly_assets = [
        assets.profiles.endpoint_profiles,
        assets.profiles.spend_concentration,
        assets.profiles.price_basis,
        assets.recommendations.recommendations,
        assets.recommendations.backtest,
        assets.fleet.pool_recommendations,
        assets.fleet.commitments,
    ]
    assert materialize(
        weekly_assets, partition_key="2026-11-02", instance=instance, resources=resources
    ).success
    quiet = landing_sensor(build_sensor_context(instance=instance, resources=resources, cursor=third.cursor))
    assert quiet.run_requests == []
    assert quiet.cursor == second.cursor  # same landed and staged files, same inputs
    late = land_file(
        home, _write(tmp_path / "late.jsonl", [_row("b", "2026-11-02T11:00:00Z")]), "canonical", {}
    )[0]
    instance.add_dynamic_partitions(LANDED_FILES, [late.file_id])
    materialize(
        [assets.ingest.staged_file], partition_key=late.file_id, instance=instance, resources=resources
    )
    again = landing_sensor(build_sensor_context(instance=instance, resources=resources, cursor=quiet.cursor))
    assert [(r.job_name, r.partition_key) for r in again.run_requests] == [("daily", "2026-11-02")]
    assert again.run_requests[0].run_key != second.run_requests[0].run_key
    assert again.cursor != quiet.cursor
    materialize(
        [assets.ingest.requests, assets.profiles.daily_rollups],
        partition_key="2026-11-02",
        instance=instance,
        resources=resources,
    )
    week_again = landing_sensor(
        build_sensor_context(instance=instance, resources=resources, cursor=again.cursor)
    )
    assert [(r.job_name, r.partition_key) for r in week_again.run_requests] == [("weekly", "2026-11-02")]
    assert (
        week_again.run_requests[0].run_key != third.run_requests[0].run_key
    )  # the late file changed the week


def test_failed_expectations_block_the_day(home, tmp_path):
    """A staged slice corrupted behind modeshift's back (negative tokens) fails the blocking GX check."""
    instance = DagsterInstance.ephemeral()
    resources = {"modeshift": ModeshiftResource(home_dir=str(home.root))}
    landed = land_file(
        home, _write(tmp_path / "a.jsonl", [_row("a", "2026-11-02T10:00:00Z")]), "canonical", {}
    )[0]
    instance.add_dynamic_partitions(LANDED_FILES, [landed.file_id])
    materialize(
        [assets.ingest.staged_file], partition_key=landed.file_id, instance=instance, resources=resources
    )
    slice_file = next((staged_dir(home, landed.file_id) / "day=2026-11-02").glob("*.parquet"))
    with duckdb.connect() as con:
        con.sql("SET TimeZone = 'UTC'")
        tampered = con.sql(
            "SELECT * REPLACE (-input_tokens AS input_tokens) FROM read_parquet($f)",
            params={"f": str(slice_file)},
        )
        tampered.write_parquet(str(slice_file) + ".new")
    Path(str(slice_file) + ".new").replace(slice_file)

    result = materialize(
        [assets.ingest.requests],
        partition_key="2026-11-02",
        instance=instance,
        resources=resources,
        raise_on_error=False,
    )
    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["great_expectations"].passed is False
    assert evaluations["rows_balance"].passed is True
    failures = evaluations["great_expectations"].metadata["failures"].value
    assert any("input_tokens" in name for name in failures)


def _merge_days_in_process(home_dir: str, days: list[str]) -> None:
    """Run the daily job on ``days`` of the home at ``home_dir`` (a process of its own); exit code 1 unless every
    run succeeded."""
    import os

    os.environ["MODESHIFT_HOME"] = home_dir
    from pipelines.app.runner import dagster_instance
    from pipelines.definitions import defs

    instance = dagster_instance(Home(Path(home_dir)))
    job = defs.resolve_job_def("daily")
    if not all(job.execute_in_process(instance=instance, partition_key=day).success for day in days):
        raise SystemExit(1)


MERGE_PROCESS_TIMEOUT_S = 600.0  # a liveness bound per merging process, not a speed test


@pytest.mark.slow
def test_two_processes_backfilling_days_give_the_sequential_result(tmp_path, monkeypatch):
    rows = [
        _row(f"r{day}-{i}", f"2026-11-0{day}T{i % 24:02d}:00:00Z") for day in range(2, 8) for i in range(30)
    ]
    rows += rows[:5]  # duplicates too
    homes = {}
    for name in ("parallel", "sequential"):
        monkeypatch.setenv("MODESHIFT_HOME", str(tmp_path / name))
        home = Home(tmp_path / name).ensure()
        land_file(home, _write(tmp_path / "week.jsonl", rows), "canonical", {})
        homes[name] = home
    # stage once in each home, then merge the six days: two processes at once vs. one after another
    for home in homes.values():
        monkeypatch.setenv("MODESHIFT_HOME", str(home.root))
        stage_file(home, Settings.load(home), landed_files(home)[0])
    days = pending_days(homes["parallel"])
    assert len(days) == 6
    monkeypatch.setenv("MODESHIFT_HOME", str(homes["parallel"].root))
    dagster_instance(
        homes["parallel"]
    ).dispose()  # create the instance's storage once, before two writers share it
    # two plain processes, each left to exit on its own (a pool's terminate() sends SIGTERM to workers, which a
    # worker that ran Dagster may not act on while idle: the join then waited for ever)
    context = multiprocessing.get_context("spawn")
    root = str(homes["parallel"].root)
    workers = [
        context.Process(target=_merge_days_in_process, args=(root, half)) for half in (days[0::2], days[1::2])
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(MERGE_PROCESS_TIMEOUT_S)
    stuck = [w.pid for w in workers if w.is_alive()]
    for worker in workers:
        if worker.is_alive():
            worker.kill()
    assert not stuck, f"merging processes {stuck} still running after {MERGE_PROCESS_TIMEOUT_S:.0f} s"
    assert [w.exitcode for w in workers] == [0, 0]
    monkeypatch.setenv("MODESHIFT_HOME", str(homes["sequential"].root))
    materialize_pending(homes["sequential"], progress=lambda _: None)

    def lake(home: Home) -> list[tuple]:
        with duckdb.connect() as con:
            return con.sql(
                "SELECT request_id, ts, input_tokens FROM read_parquet($f) ORDER BY ALL",
                params={"f": str(home.requests / "day=*" / "*.parquet")},
            ).fetchall()

    assert lake(homes["parallel"]) == lake(homes["sequential"])
    assert len(lake(homes["parallel"])) == 180
