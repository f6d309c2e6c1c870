"""What a new user sees in the Dagster UI: partitions that begin with the data, weeks that depend on their previous
week, row counts and column schemas on the table assets, and a warning check on the quarantined share.

One home is built for the module: a generated week, run by ``materialize_pending`` in a subprocess whose
``MODESHIFT_HOME`` (and so whose code location) has ``ingest.start_date`` set to that week's Monday."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from pipelines.app.runner import EMPTY_WEEKS_HINT, start_date_hint
from pipelines.core.calendar import WEEKLY_PARTITIONS_END_OFFSET, week_days, week_start_of
from pipelines.core.home import Home
from pipelines.core.schema import REQUEST_COLUMNS
from pipelines.core.settings import Settings
from pipelines.definitions import defs
from pipelines.ingest.landing import land_file
from pipelines.lake.weekly_store import read_week_table
from pipelines.ops.partitions import START_DATE

REPO = Path(__file__).resolve().parents[1]
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
TODAY = datetime.now(UTC).date()
WEEK = week_start_of(TODAY) - timedelta(days=14)  # a complete week, two weeks back
DUPLICATED_DAY = (WEEK + timedelta(days=2)).isoformat()

RUN = """
import json, sys
from pathlib import Path
from dagster import AssetKey
from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.definitions import defs
from pipelines.ops.partitions import daily_partitions, weekly_partitions

home = Home(Path(sys.argv[1]))
materialize_pending(home, progress=lambda line: print(line, flush=True))
from pipelines.app.runner import dagster_instance
instance = dagster_instance(home)
graph = defs.resolve_asset_graph()
print("RESULT " + json.dumps({
    "day_keys": daily_partitions.get_partition_keys(),
    "week_keys": weekly_partitions.get_partition_keys(),
    "requests_partitions": graph.get(AssetKey("requests")).partitions_def.get_partition_keys(),
    "materialized_days": sorted(instance.get_materialized_partitions(AssetKey("requests"))),
    "materialized_weeks": sorted(instance.get_materialized_partitions(AssetKey("recommendations"))),
}))
"""


def _rows(endpoint: str, start: datetime, minutes: int, every: int, prefix: str) -> list[dict]:
    return [
        {
            "request_id": f"{prefix}{minute}",
            "ts": (start + timedelta(minutes=minute)).isoformat(),
            "endpoint": endpoint,
            "model": MODEL,
            "input_tokens": 800,
            "output_tokens": 120,
        }
        for minute in range(0, minutes, every)
    ]


def _write(path: Path, rows: list[dict], bad_lines: int = 0) -> Path:
    lines = [json.dumps(row) for row in rows] + [json.dumps({"ts": "not a time"})] * bad_lines
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ui_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, str]:
    """A home whose config.yaml starts the partitions on WEEK: a week of two endpoints (chat every 10 minutes,
    batch every 30), a second file repeating one day of chat (duplicates: 144 of that day's 336 rows), and a small
    file half of whose lines are unreadable; materialized in a subprocess. Returns the home and its output."""
    root = tmp_path_factory.mktemp("ui") / "home"
    home = Home(root).ensure()
    home.config_file.write_text(f"ingest:\n  start_date: '{WEEK}'\n", encoding="utf-8")
    source = root.parent / "source"
    source.mkdir()
    start = datetime(WEEK.year, WEEK.month, WEEK.day, tzinfo=UTC)
    day = datetime.fromisoformat(DUPLICATED_DAY).replace(tzinfo=UTC)
    files = [
        _write(
            source / "week.jsonl",
            _rows("chat", start, 7 * 1440, 10, "c") + _rows("batch", start, 7 * 1440, 30, "b"),
        ),
        _write(
            source / "again.jsonl", _rows("chat", start, 7 * 1440, 10, "c")[(day - start).days * 144 :][:144]
        ),
        _write(source / "broken.jsonl", _rows("chat", start, 40, 10, "x"), bad_lines=4),
    ]
    env = os.environ | {"MODESHIFT_HOME": str(root), "MODESHIFT_SALT": "test-salt", "PYTHONPATH": str(REPO)}
    env.pop("DAGSTER_HOME", None)
    saved = {key: os.environ.get(key) for key in ("MODESHIFT_HOME", "MODESHIFT_SALT")}
    os.environ.update(MODESHIFT_HOME=str(root), MODESHIFT_SALT="test-salt")
    try:
        for path in files:
            land_file(home, path, "canonical", {})
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", RUN, str(root)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return home, done.stdout


def _result(output: str) -> dict:
    (line,) = [line for line in output.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


def test_partitions_begin_on_the_homes_start_date_and_the_week_fills_them(ui_home):
    _, output = ui_home
    result = _result(output)
    tomorrow = TODAY + timedelta(days=1)
    days = [(WEEK + timedelta(days=n)).isoformat() for n in range((tomorrow - WEEK).days + 1)]
    assert result["day_keys"] == result["requests_partitions"] == days  # from the start date to tomorrow
    last_week = week_start_of(TODAY) + timedelta(days=7 * (WEEKLY_PARTITIONS_END_OFFSET - 1))
    weeks = [(WEEK + timedelta(days=7 * n)).isoformat() for n in range((last_week - WEEK).days // 7 + 1)]
    assert result["week_keys"] == weeks  # from the start date's week on
    assert result["materialized_days"] == week_days(WEEK)  # every day of the data, none before it
    assert result["materialized_weeks"] == [WEEK.isoformat()]
    assert (
        len(result["day_keys"]) <= 23
    )  # 7 days of data among 16 to 23 partitions, not among 2,500 since 2020


def test_materialize_suggests_a_later_start_date_only_when_the_partitions_begin_long_before_the_data(ui_home):
    home, output = ui_home
    assert "[hint]" not in output  # this code location's partitions begin with the data
    # this test process loaded its partitions from an empty home: the shipped default, years before WEEK
    assert START_DATE == date(2020, 1, 1) and (WEEK - START_DATE).days // 7 > EMPTY_WEEKS_HINT
    assert (
        start_date_hint(home, Settings.load(home)) is None
    )  # its config.yaml starts on WEEK: nothing to say
    hint = start_date_hint(home, Settings.from_overrides({}))  # the shipped default, as this process has it
    assert hint is not None and f"start_date: {WEEK}" in hint and "begin on 2020-01-01" in hint


def _materialization(instance: DagsterInstance, asset: str, partition: str):
    events = [
        r.asset_materialization
        for r in instance.fetch_materializations(AssetKey(asset), limit=100).records
        if r.asset_materialization.partition == partition
    ]
    assert events, f"no materialization of {asset} {partition}"
    return events[0]


def test_table_assets_carry_row_count_and_column_schema(ui_home):
    home, _ = ui_home
    with DagsterInstance.from_config(str(home.dagster_home)) as instance:
        day = _materialization(instance, "requests", DUPLICATED_DAY).metadata
        assert day["dagster/row_count"].value == 144 + 48 == day["rows_accepted"].value  # duplicates left out
        schema = day["dagster/column_schema"].schema
        assert [column.name for column in schema.columns] == list(REQUEST_COLUMNS)
        for asset, table in (
            ("recommendations", "recommendations"),
            ("endpoint_profiles", "endpoint_profiles"),
        ):
            metadata = _materialization(instance, asset, WEEK.isoformat()).metadata
            frame = read_week_table(home, table, WEEK)
            assert metadata["dagster/row_count"].value == frame.height == 2  # chat and batch
            columns = metadata["dagster/column_schema"].schema.columns
            assert [(c.name, c.type) for c in columns] == [(n, str(t)) for n, t in frame.schema.items()]


def _check_evaluations(instance: DagsterInstance, check: str) -> dict[str, object]:
    """Every evaluation of ``check`` in the instance by the partition of its run."""
    found = {}
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = entry.dagster_event.event_specific_data
            if evaluation.check_name == check:
                found[(evaluation.asset_key.to_user_string(), run.tags.get("dagster/partition"))] = evaluation
    return found


def test_quarantined_share_warns_without_failing_the_run(ui_home):
    home, output = ui_home
    with DagsterInstance.from_config(str(home.dagster_home)) as instance:
        evaluations = _check_evaluations(instance, "quarantined_share")
    by_day = {partition: e for (asset, partition), e in evaluations.items() if asset == "requests"}
    assert sorted(by_day) == week_days(WEEK)
    duplicated = by_day.pop(DUPLICATED_DAY)
    assert not duplicated.passed and duplicated.severity.value == "WARN"
    assert duplicated.metadata["quarantined_share"].value == pytest.approx(144 / 336, abs=1e-6)
    assert all(e.passed for e in by_day.values())  # the other days have no duplicates
    files = {partition: e for (asset, partition), e in evaluations.items() if asset == "staged_file"}
    assert sorted(e.passed for e in files.values()) == [
        False,
        True,
        True,
    ]  # broken.jsonl: 4 of 8 lines refused
    (broken,) = [e for e in files.values() if not e.passed]
    assert broken.metadata["quarantined_share"].value == 0.5
    warnings = [line for line in output.splitlines() if line.startswith("[warning]")]
    assert len(warnings) == 2 and any(
        f"daily {DUPLICATED_DAY}" in line and "42.9%" in line for line in warnings
    )
    assert "[analytics]" in output  # published: a warning does not fail the run


def test_weekly_assets_that_carry_state_depend_on_their_previous_week():
    graph = defs.resolve_asset_graph()
    for asset in ("endpoint_profiles", "recommendations", "pool_recommendations"):
        key = AssetKey(asset)
        assert graph.get(key).has_self_dependency, asset
        mapping = graph.get_partition_mapping(key, key)
        assert (mapping.start_offset, mapping.end_offset) == (-1, -1)
        assert mapping.allow_nonexistent_upstream_partitions  # the first week has no previous week
    mapping = graph.get_partition_mapping(AssetKey("backtest"), AssetKey("recommendations"))
    assert (mapping.start_offset, mapping.end_offset) == (-1, 0)  # last week's plans on this week's traffic
    key = AssetKey("recommendations")
    first, second = graph.get(key).partitions_def.get_partition_keys()[:2]
    parents = graph.get_parents_partitions(key, second).parent_partitions
    assert {p.partition_key for p in parents if p.asset_key == key} == {first}  # week 2 waits for week 1
    assert not {p for p in graph.get_parents_partitions(key, first).parent_partitions if p.asset_key == key}
