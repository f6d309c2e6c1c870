"""The analysts' DuckDB file: snapshots that open sessions keep, atomic publishing, the DuckDB 1.5 CLI.

Known answers come from the ``built_home`` traffic (tests/conftest.py), computed by hand:
* steady-big: 1 request a minute (10,080 a week) of 1,600,000 input + 2,000 output tokens at $0.18 per million
  = $0.28836 a request, $2,906.6688 a week; one replica of one H100 at $3.99/h (the shipped card from 2026-11-01) for 168 h = $670.32 a
  week.
* nightly: 20 requests a day (hour 2, every third minute), 140 a week of 20,500 tokens = $0.5166 a week.
* small-chat: every seventh minute, 1,440 a week of 600 tokens = $0.15552 a week.
* unpriced: every 97th minute of the two weeks, 208 requests (no price).
* requests: 20,160 + 2,880 + 280 + 208 = 23,528; the day 2026-11-02 holds 1,440 + 206 + 20 + 15 = 1,681.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.app.runner import materialize_pending
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.delivery.publish import (
    ANALYTICS_FILE,
    PUBLISHED_TABLES,
    analytics_path,
    live_snapshot,
    publish_analytics,
    snapshots_dir,
)
from pipelines.ingest.day_merge import merge_day
from pipelines.ingest.landing import land_file
from tests.helpers import land_and_stage

REPO = Path(__file__).resolve().parents[1]
DUCKDB_CLI = Path(sys.executable).parent / "duckdb"
BIG_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"

STEADY_BIG_USD_PER_WEEK = 10_080 * (1_600_000 + 2_000) * 0.18 / 1e6  # 2906.6688
ONE_H100_USD_PER_WEEK = 1 * 1 * 3.99 * 168  # 670.32
NIGHTLY_USD_PER_WEEK = 140 * (20_000 + 500) * 0.18 / 1e6  # 0.5166
SMALL_CHAT_USD_PER_WEEK = 1_440 * (500 + 100) * 0.18 / 1e6  # 0.15552
REQUESTS = 20_160 + 2_880 + 280 + 208  # 23,528
REQUESTS_ON_NOV_2 = 1_440 + 206 + 20 + 15  # 1,681
RECOMMENDATIONS = 2 * 4  # two weeks of four endpoints

# An analyst: opens the published file (read-only unless told "rw") and answers "ask" with what it sees.
ANALYST = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] != "rw")
for line in sys.stdin:
    if line.strip() != "ask":
        break
    print(json.dumps({
        "snapshot": con.sql("SELECT snapshot FROM published").fetchall()[0][0],
        "recommendations": con.sql("SELECT count(*) FROM recommendations").fetchall()[0][0],
        "requests": con.sql("SELECT count(*) FROM requests").fetchall()[0][0],
        "weeks": con.sql("SELECT count(DISTINCT week_start) FROM recommendations").fetchall()[0][0],
    }), flush=True)
"""

# A publisher that dies by SIGKILL: at a chosen point ("mid-build", "before-rename", "after-rename"), or whenever
# the test kills it ("timed"). It imports everything, says "ready", and publishes when it reads a line.
PUBLISHER = """
import os, signal, sys
from pathlib import Path
import pipelines.delivery.publish as publish
from pipelines.core.settings import Settings
from pipelines.core.home import Home

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

home, mode = Home(Path(sys.argv[1])), sys.argv[2]
if mode == "mid-build":
    publish._count = die  # after the new file is attached and the requests view created
elif mode == "before-rename":
    publish.replace_file = die  # the new file is complete, linked into its snapshot, not renamed yet
elif mode == "after-rename":
    publish._prune_snapshots = die  # renamed over the published file; old snapshots not pruned yet
settings = Settings.load(home)
print("ready", flush=True)
sys.stdin.readline()
publish.publish_analytics(home, settings)
print("done", flush=True)
"""


class Analyst:
    """A separate process holding the published file open."""

    def __init__(self, path: Path, mode: str = "ro") -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", ANALYST, str(path), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ask(self) -> dict[str, Any]:
        """What the analyst's open session sees now."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write("ask\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"the analyst process died: {self.process.stderr.read()}")
        return json.loads(line)

    def close(self) -> None:
        """End the session (and the process)."""
        if self.process.poll() is None:
            assert self.process.stdin
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=10)


def _seen_by_new_connection(path: Path) -> dict[str, Any]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            "snapshot": con.sql("SELECT snapshot FROM published").fetchall()[0][0],
            "recommendations": con.sql("SELECT count(*) FROM recommendations").fetchall()[0][0],
            "requests": con.sql("SELECT count(*) FROM requests").fetchall()[0][0],
            "weeks": con.sql("SELECT count(DISTINCT week_start) FROM recommendations").fetchall()[0][0],
        }


def _write_new_week(path: Path) -> int:
    """One day (Monday 2026-11-16, a new ISO week) of steady-big: a request every 10 minutes; returns the rows."""
    with open(path, "w") as handle:
        for minute in range(0, 1440, 10):
            row = {
                "request_id": f"new-{minute}",
                "ts": f"2026-11-16T{minute // 60:02d}:{minute % 60:02d}:00+00:00",
                "endpoint": "steady-big",
                "model": BIG_MODEL,
                "input_tokens": 1_000,
                "output_tokens": 100,
            }
            handle.write(json.dumps(row) + "\n")
    return 1440 // 10


@pytest.mark.slow
def test_open_session_keeps_its_snapshot_while_a_run_publishes_a_new_one(
    built_home: Home, tmp_path: Path
) -> None:
    first = publish_analytics(built_home, Settings.load(built_home))
    path = analytics_path(built_home)
    analyst = Analyst(path)
    try:
        before = analyst.ask()
        assert before == {
            "snapshot": first.snapshot,
            "recommendations": RECOMMENDATIONS,
            "requests": REQUESTS,
            "weeks": 2,
        }
        # The pipeline runs (a new week arrives) and publishes while the analyst holds the old file open.
        new_rows = _write_new_week(tmp_path / "new-week.jsonl")
        land_file(built_home, tmp_path / "new-week.jsonl", "canonical", {})
        inode = path.stat().st_ino
        materialize_pending(built_home, progress=lambda _: None)
        if path.stat().st_ino == inode:  # the run did not publish (the analytics asset is not in the job)
            publish_analytics(built_home, Settings.load(built_home))
        after_run = _seen_by_new_connection(path)
        assert after_run["snapshot"] != first.snapshot
        assert after_run["requests"] == REQUESTS + new_rows
        assert (
            after_run["recommendations"] == RECOMMENDATIONS + 1
        )  # steady-big is the new week's only endpoint
        assert after_run["weeks"] == 3
        assert analyst.ask() == before  # the open session still sees the previous snapshot, requests included
    finally:
        analyst.close()
    assert analyst.process.returncode == 0


def test_a_read_write_analyst_session_does_not_block_publishing(built_home: Home) -> None:
    settings = Settings.load(built_home)
    first = publish_analytics(built_home, settings)
    analyst = Analyst(analytics_path(built_home), mode="rw")  # holds DuckDB's exclusive lock on the old file
    try:
        assert analyst.ask()["snapshot"] == first.snapshot
        second = publish_analytics(built_home, settings)
        assert _seen_by_new_connection(analytics_path(built_home))["snapshot"] == second.snapshot
        assert analyst.ask()["snapshot"] == first.snapshot
    finally:
        analyst.close()


def _check_published(home: Home, counts: dict[str, int | None]) -> str:
    """The published file is complete: every table with the expected rows, requests readable. Returns its
    snapshot."""
    path = analytics_path(home)
    assert not path.with_name(ANALYTICS_FILE + ".wal").exists()
    with duckdb.connect(str(path), read_only=True) as con:
        names = {row[0] for row in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        assert names == {*PUBLISHED_TABLES, "published"}
        count = "SELECT count(*) FROM query_table($table)"
        seen = {t: con.sql(count, params={"table": t}).fetchall()[0][0] for t in PUBLISHED_TABLES}
        relation = con.sql("SELECT * FROM published")
        published = dict(zip(relation.columns, relation.fetchall()[0], strict=True))
    assert seen == counts
    assert {table: published[f"{table}_rows"] for table in PUBLISHED_TABLES} == counts
    assert Path(published["snapshot_dir"]) == snapshots_dir(home) / published["snapshot"]
    assert live_snapshot(home) == published["snapshot"]
    return published["snapshot"]


def test_a_publish_killed_at_any_point_leaves_a_complete_published_file(built_home: Home) -> None:
    settings = Settings.load(built_home)
    first = publish_analytics(built_home, settings)
    assert first.row_counts["requests"] == REQUESTS and first.row_counts["recommendations"] == RECOMMENDATIONS
    modes = ["mid-build", "before-rename", "after-rename", "timed:0.01", "timed:0.04", "timed:0.08"]
    publishers = [  # started together, so their imports overlap; each publishes only when told
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", PUBLISHER, str(built_home.root), mode.split(":")[0]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for mode in modes
    ]
    previous = first.snapshot
    try:
        for mode, publisher in zip(modes, publishers, strict=True):
            assert publisher.stdout.readline().strip() == "ready"
            publisher.stdin.write("go\n")
            publisher.stdin.flush()
            if mode.startswith("timed:"):
                time.sleep(float(mode.split(":")[1]))
                publisher.send_signal(signal.SIGKILL)
            publisher.wait(timeout=30)
            if not mode.startswith("timed:"):
                assert publisher.returncode == -signal.SIGKILL, mode
            snapshot = _check_published(built_home, first.row_counts)
            if mode in ("mid-build", "before-rename"):
                assert snapshot == previous, mode  # the rename never happened: the previous file is intact
                # what the crash left behind is the unfinished file, under a name no reader opens
                assert list(built_home.root.glob(".tmp-*")), mode
            elif mode == "after-rename":
                assert snapshot != previous  # the rename happened: the new file is complete
            previous = snapshot
    finally:
        for publisher in publishers:
            if publisher.poll() is None:
                publisher.kill()
                publisher.wait()
    final = publish_analytics(built_home, settings)
    assert _check_published(built_home, first.row_counts) == final.snapshot
    assert list(built_home.root.glob(".tmp-*")) == []  # the next publish cleans up after crashed ones
    assert sorted(
        p.name for p in snapshots_dir(home=built_home).iterdir() if not p.name.startswith(".")
    ) == sorted([final.snapshot, previous])


def test_published_requests_keep_their_rows_after_the_lake_day_is_replaced(
    built_home: Home, tmp_path: Path
) -> None:
    settings = Settings.load(built_home)
    first = publish_analytics(built_home, settings)
    snapshot_file = first.snapshot_dir / "requests" / "day=2026-11-02" / "part.parquet"
    late = tmp_path / "late.jsonl"
    late.write_text(
        "".join(
            json.dumps({"request_id": f"late-{i}", "ts": f"2026-11-02T12:00:0{i}+00:00", "endpoint": "small-chat",
                        "model": BIG_MODEL, "input_tokens": 10, "output_tokens": 5}) + "\n"
            for i in range(3)
        )
    )  # fmt: skip
    land_and_stage(built_home, settings, late, "canonical")
    merge_day(built_home, "2026-11-02")  # the pipeline rebuilds the day and replaces its lake files
    day_files = [str(p) for p in built_home.request_day_dir("2026-11-02").glob("part*.parquet")]
    count = "SELECT count(*) FROM read_parquet($f)"
    with duckdb.connect() as con:
        assert con.sql(count, params={"f": day_files}).fetchall()[0][0] == REQUESTS_ON_NOV_2 + 3
        assert con.sql(count, params={"f": str(snapshot_file)}).fetchall()[0][0] == REQUESTS_ON_NOV_2
    count_nov_2 = "SELECT count(*) FROM requests WHERE day = DATE '2026-11-02'"
    with duckdb.connect(str(analytics_path(built_home)), read_only=True) as con:
        assert con.sql(count_nov_2).fetchall()[0][0] == REQUESTS_ON_NOV_2
        assert con.sql("SELECT count(*) FROM requests").fetchall()[0][0] == REQUESTS
    publish_analytics(built_home, settings)
    with duckdb.connect(str(analytics_path(built_home)), read_only=True) as con:
        assert con.sql(count_nov_2).fetchall()[0][0] == REQUESTS_ON_NOV_2 + 3


def _cli(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert DUCKDB_CLI.exists(), "the DuckDB CLI (duckdb-cli, a dev dependency) is not installed in the venv"
    return subprocess.run(  # noqa: S603
        [str(DUCKDB_CLI), "-readonly", "-no-init", "-json", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def _cli_rows(path: Path, *args: str) -> list[dict[str, Any]]:
    completed = _cli(path, *args)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_duckdb_cli_opens_the_file_and_runs_the_documented_queries(built_home: Home) -> None:
    published = publish_analytics(built_home, Settings.load(built_home))
    path = published.path
    version = subprocess.run([str(DUCKDB_CLI), "-version"], capture_output=True, text=True, check=True)  # noqa: S603
    assert version.stdout.startswith("v1.5.")  # an older DuckDB than the pipeline's 2.0 reads the file

    counts = _cli_rows(path, "-c", "SELECT count(*) AS n, count(DISTINCT day) AS days FROM requests")
    assert counts == [{"n": REQUESTS, "days": 14}]
    assert _cli_rows(path, "-c", "SELECT snapshot, recommendations_rows FROM published") == [
        {"snapshot": published.snapshot, "recommendations_rows": RECOMMENDATIONS}
    ]

    top = _cli_rows(path, "-f", "sql/analyst/top_savings.sql")
    assert [row["endpoint"] for row in top][0] == "steady-big"
    assert {row["week_start"] for row in top} == {"2026-11-09"}
    assert len(top) == 4
    assert (
        top[0]["action"] == "migrate"
        and top[0]["recommended_mode"] == "dedicated"
        and top[0]["replicas"] == 1
    )
    assert top[0]["current_cost_usd"] == round(STEADY_BIG_USD_PER_WEEK, 2)
    assert top[0]["recommended_cost_usd"] == round(ONE_H100_USD_PER_WEEK, 2)
    assert top[0]["savings_usd"] == round(STEADY_BIG_USD_PER_WEEK - ONE_H100_USD_PER_WEEK, 2)  # 2236.35
    assert top[0]["savings_percent"] == round(100 * (1 - ONE_H100_USD_PER_WEEK / STEADY_BIG_USD_PER_WEEK), 1)

    trend = _cli_rows(
        path, "-cmd", "SET VARIABLE endpoint = 'steady-big'", "-f", "sql/analyst/endpoint_trend.sql"
    )
    assert [row["week_start"] for row in trend] == ["2026-11-02", "2026-11-09"]
    assert [row["requests"] for row in trend] == [10_080, 10_080]
    assert [row["list_cost_usd"] for row in trend] == [round(STEADY_BIG_USD_PER_WEEK, 2)] * 2
    assert [row["action"] for row in trend] == ["hold", "migrate"]  # persistence: two weeks in a row needed
    unnamed = _cli(path, "-f", "sql/analyst/endpoint_trend.sql")
    assert unnamed.returncode != 0 and "SET VARIABLE endpoint" in unnamed.stderr + unnamed.stdout

    concentration = _cli_rows(path, "-f", "sql/analyst/concentration_over_time.sql")
    total = STEADY_BIG_USD_PER_WEEK + NIGHTLY_USD_PER_WEEK + SMALL_CHAT_USD_PER_WEEK  # 2907.34092
    assert [row["week_start"] for row in concentration] == ["2026-11-02", "2026-11-09"]
    for row in concentration:
        assert row["endpoints"] == 3 and row["top_k_80"] == 1
        assert row["total_cost_usd"] == round(total, 2)
        assert row["top_80_endpoints"] == f"steady-big {round(100 * STEADY_BIG_USD_PER_WEEK / total, 1)}%"
        assert row["unpriced_endpoints"] == "unpriced"


def test_publishing_keeps_the_new_and_the_previous_snapshot(built_home: Home) -> None:
    settings = Settings.load(built_home)
    orphan = snapshots_dir(built_home) / "20000101T000000000000Z-deadbeef"  # a crashed publish's leftover
    (orphan / "requests").mkdir(parents=True)
    results = [publish_analytics(built_home, settings) for _ in range(3)]
    names = sorted(p.name for p in snapshots_dir(built_home).iterdir() if not p.name.startswith("."))
    assert names == [results[1].snapshot, results[2].snapshot]
    assert results[2].kept_snapshots == [results[2].snapshot, results[1].snapshot]
    assert live_snapshot(built_home) == results[2].snapshot
    # each snapshot holds a hard link to the analytics file that reads it
    assert (results[2].snapshot_dir / ANALYTICS_FILE).stat().st_ino == analytics_path(
        built_home
    ).stat().st_ino
    three = Settings.from_overrides({"analytics": {"keep_snapshots": 3}})
    fourth = publish_analytics(built_home, three)
    assert fourth.kept_snapshots == [fourth.snapshot, results[2].snapshot, results[1].snapshot]


@pytest.mark.parametrize("value", [1, 0, "two", True, 2.5])
def test_keep_snapshots_must_be_at_least_two(value: object) -> None:
    with pytest.raises(ModeshiftError, match=r"^config.yaml: analytics.keep_snapshots must be "):
        Settings.from_overrides({"analytics": {"keep_snapshots": value}})


def test_publishing_needs_a_warehouse(home: Home, settings: Settings) -> None:
    with pytest.raises(ModeshiftError, match="no warehouse"):
        publish_analytics(home, settings)
    assert not analytics_path(home).exists()


def test_the_analytics_asset_publishes_and_reports_metadata(built_home: Home) -> None:
    from dagster import DagsterInstance, materialize

    from assets.analytics import analytics
    from pipelines.ops.resources import ModeshiftResource

    result = materialize(
        [analytics],
        resources={"modeshift": ModeshiftResource(home_dir=str(built_home.root))},
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    metadata = {
        k: v.value for k, v in result.asset_materializations_for_node("analytics")[0].metadata.items()
    }
    assert metadata["path"] == str(analytics_path(built_home))
    assert metadata["snapshot"] == live_snapshot(built_home)
    assert metadata["requests_rows"] == REQUESTS and metadata["recommendations_rows"] == RECOMMENDATIONS
    assert metadata["newest_week"] == date(2026, 11, 9).isoformat()
    preview = metadata["top_recommendations"].splitlines()
    assert preview[2].startswith("| steady-big | serverless | dedicated | migrate | 1 |")
    assert len(preview) == 2 + 4
    assert os.path.exists(metadata["snapshot_dir"])
