"""The lake in S3 (moto's S3 server on 127.0.0.1): the same results as the local lake, commits that survive a
SIGKILL between a unit's files and its commit record, exactly-once landing from two processes at once, garbage
collection of what killed writers leave, and the published analytics file downloadable for analysts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.app.cli import main
from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.core.lake_mirror import COMMITS, LakeMirror, collect_garbage
from pipelines.core.object_store import S3Store
from pipelines.ingest.landing import land_file
from tests.servers import S3Server, s3_server

REPO = Path(__file__).resolve().parents[1]
SALT = "object-lake-test-salt-0123456789abcdef"
WEEKLY = ("endpoint_profiles", "spend_concentration", "recommendations", "plan_options")


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def lake(s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> S3Store:
    """An empty bucket; MODESHIFT_LAKE points at it, each command works in its own scratch directory."""
    bucket = s3.new_bucket()
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MODESHIFT_LAKE", f"s3://{bucket}/lake")
    monkeypatch.setenv("MODESHIFT_SALT", SALT)
    monkeypatch.setenv("MODESHIFT_SCRATCH", str(tmp_path / "scratch"))
    monkeypatch.delenv("MODESHIFT_HOME", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    return S3Store(bucket, "lake")


def write_week(path: Path, copies: int = 1, days: int = 7) -> Path:
    """``days`` days from Monday 2026-11-02 (seven: 280 requests) of two endpoints, five exact duplicates and one
    unreadable line."""
    rows = [
        {
            "request_id": f"r{day}-{i}",
            "ts": f"2026-11-{day:02d}T{i % 24:02d}:{(i * 7) % 60:02d}:00Z",
            "endpoint": ("chat", "nightly")[i % 2],
            "model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
            "input_tokens": 500 + i,
            "output_tokens": 20 + day,
            "interactive": i % 2 == 0,
            "prompt": "PROMPT-CANARY-s3",
        }
        for day in range(2, 2 + days)
        for i in range(40 * copies)
    ]
    lines = [json.dumps(row) for row in rows + rows[:5]] + ["not json"]
    path.write_text("\n".join(lines) + "\n")
    return path


def lake_tables(root: Path, weekly: bool = True) -> dict[str, list[tuple]]:
    """Every row of the request lake, both quarantines, the rollups and the main weekly tables under ``root``
    (without the landing time, which differs between two landings of the same file)."""
    patterns = {
        "requests": "lake/requests/day=*/*.parquet",
        "quarantine": "lake/quarantine/day=*/*.parquet",
        "staged_quarantine": "lake/staged/*/day=quarantine/*.parquet",
        "minutes": "lake/rollups/day=*/minutes.parquet",
        "interarrival": "lake/rollups/day=*/interarrival.parquet",
        "histograms": "lake/rollups/day=*/histograms.parquet",
    } | {table: f"lake/weekly/{table}/week=*/part.parquet" for table in (WEEKLY if weekly else ())}
    tables = {}
    with duckdb.connect() as con:
        con.sql("SET TimeZone = 'UTC'")
        for name, pattern in patterns.items():
            files = sorted(str(p) for p in root.glob(pattern))
            assert files, f"no {name} under {root}"
            rows = con.sql(
                "SELECT COLUMNS(lambda c: c <> 'landed_at_ns') FROM read_parquet($files, union_by_name = true) ORDER BY ALL",
                params={"files": files},
            ).fetchall()
            tables[name] = [tuple(_rounded(value) for value in row) for row in rows]
    return tables


def _rounded(value: object) -> object:
    """Floats to 10 significant digits: sums of the same terms in another order differ in the last bits."""
    return float(f"{value:.10g}") if isinstance(value, float) else value


def pulled_copy(store: S3Store, root: Path) -> Path:
    """A fresh working copy holding every committed unit of the lake, data files included."""
    mirror = LakeMirror(store, root)
    mirror.pull_metadata()
    mirror.pull_files({"lake/": None})
    return root


def local_run(root: Path, source: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """The default local mode on the same input: one home, no store."""
    with monkeypatch.context() as patch:
        patch.delenv("MODESHIFT_LAKE", raising=False)
        patch.setenv("MODESHIFT_HOME", str(root))
        home = Home(root).ensure()
        land_file(home, source, "canonical", {})
        materialize_pending(home, progress=lambda _: None)
    return home


@pytest.mark.slow
def test_object_mode_equals_local_mode_and_publishes_a_downloadable_snapshot(
    lake: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_week(tmp_path / "week.jsonl")
    local = local_run(tmp_path / "local", source, monkeypatch)

    assert main(["ingest", "--format", "canonical", str(source)]) == 0
    assert main(["materialize", "--quiet"]) == 0
    objects = {item.key for item in lake.list("")}
    assert not any(key.startswith("landing/") and key.endswith(".jsonl") for key in objects)  # raw bytes gone
    assert not (tmp_path / "scratch").exists() or not any((tmp_path / "scratch").iterdir())  # scratch removed

    remote = lake_tables(pulled_copy(lake, tmp_path / "check"))
    assert remote == lake_tables(local.root)
    assert len(remote["requests"]) == 7 * 40 and len(remote["quarantine"]) == 5
    assert len(remote["staged_quarantine"]) == 1
    everything = b"".join(lake.get_bytes(item.key) or b"" for item in lake.list(""))
    assert b"PROMPT-CANARY-s3" not in everything and SALT.encode() not in everything

    capsys.readouterr()
    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert "pending:   0 day(s)" in status and f"lake:      {lake.url}" in status
    assert main(["analytics-download", str(tmp_path / "analyst")]) == 0
    with duckdb.connect(str(tmp_path / "analyst" / "analytics.duckdb"), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM requests").fetchall() == [(7 * 40,)]
        assert con.sql("SELECT count(DISTINCT endpoint) FROM recommendations").fetchall() == [(2,)]


def test_a_unit_is_read_only_through_its_commit_record(lake: S3Store, tmp_path: Path) -> None:
    writer = LakeMirror(lake, tmp_path / "writer")
    unit = writer.scratch / "lake/rollups/day=2026-11-02"
    unit.mkdir(parents=True)
    (unit / "minutes.parquet").write_bytes(b"version one")
    (unit / "_manifest.json").write_text('{"fingerprint": "a"}')
    assert writer.push().units == ["lake/rollups/day=2026-11-02"]
    assert writer.push().units == []  # nothing changed: nothing sent
    (unit / "minutes.parquet").write_bytes(b"version two, longer")
    (unit / "_manifest.json").write_text('{"fingerprint": "b"}')
    writer.push()
    # a writer killed after uploading its files, before its record: files under a fresh version, no record
    lake.put_bytes("lake/rollups/day=2026-11-02/99999999999999999999-dead/minutes.parquet", b"orphan")
    lake.put_bytes("lake/rollups/day=2026-11-03/99999999999999999999-dead/minutes.parquet", b"orphan")

    reader = LakeMirror(lake, tmp_path / "reader")
    reader.pull_metadata()
    copy = reader.scratch / "lake/rollups/day=2026-11-02"
    assert json.loads((copy / "_manifest.json").read_text()) == {"fingerprint": "b"}
    assert not (copy / "minutes.parquet").exists()  # data only when asked for
    reader.pull_files({"lake/rollups/": None})
    assert (copy / "minutes.parquet").read_bytes() == b"version two, longer"
    assert not (reader.scratch / "lake/rollups/day=2026-11-03").exists()  # no record: not a unit

    report = collect_garbage(lake, grace_s=0)
    assert len(report.deleted) == 3  # version one and both orphans; the committed version stays
    assert all("dead" in key or key.endswith("minutes.parquet") for key in report.deleted)
    fresh = LakeMirror(lake, tmp_path / "fresh")
    fresh.pull_metadata()
    fresh.pull_files({"lake/rollups/": None})
    assert (
        fresh.scratch / "lake/rollups/day=2026-11-02/minutes.parquet"
    ).read_bytes() == b"version two, longer"

    shutil_free = (
        reader.scratch / "lake/rollups/day=2026-11-02"
    )  # a unit deleted by one copy disappears for all
    import shutil

    shutil.rmtree(shutil_free)
    assert reader.push().deleted_units == ["lake/rollups/day=2026-11-02"]
    fresh.pull_metadata()
    assert not (fresh.scratch / "lake/rollups/day=2026-11-02").exists()


LAND_CHILD = """
import sys
from pipelines.app.cli import main
sys.exit(main(["ingest", "--format", "canonical", sys.argv[1]]))
"""


@pytest.mark.slow
def test_the_same_file_landed_from_two_processes_at_once_lands_once(
    lake: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_week(tmp_path / "week.jsonl")
    env = os.environ | {"PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", LAND_CHILD, str(source)], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0]
    manifests = [item.key for item in lake.list("landing/") if item.key.endswith(".manifest.json")]
    assert len(manifests) == 1
    assert (
        sum("1 new file(s)" in out for out in outputs) + sum("0 new file(s)" in out for out in outputs) == 2
    )
    assert main(["materialize", "--quiet"]) == 0
    remote = lake_tables(pulled_copy(lake, tmp_path / "check"))
    assert len(remote["requests"]) == 7 * 40 and len(remote["quarantine"]) == 5  # landed once, counted once


KILL_CHILD = """
import os, signal, sys
from pipelines.core import object_store
from pipelines.app.cli import main

target = sys.argv[1]
original = object_store.S3Store.put_bytes

def put_bytes(self, key, data, if_absent=False):
    # killed after the unit's files are uploaded, just before its commit record
    if key.startswith("_commits/") and target in key:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, key, data, if_absent)

object_store.S3Store.put_bytes = put_bytes
sys.exit(main(["materialize", "--quiet"]))
"""


@pytest.mark.slow
def test_a_worker_killed_before_a_commit_record_then_run_again_gives_the_same_lake(
    lake: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_week(tmp_path / "week.jsonl")
    local = local_run(tmp_path / "local", source, monkeypatch)
    assert main(["ingest", "--format", "canonical", str(source)]) == 0
    env = os.environ | {"PYTHONPATH": str(REPO)}
    killed = subprocess.run(  # noqa: S603
        [sys.executable, "-c", KILL_CHILD, "lake/requests/day=2026-11-04"], env=env, timeout=300, check=False
    )
    assert killed.returncode == -signal.SIGKILL
    orphans = [item.key for item in lake.list("lake/requests/day=2026-11-04/")]
    assert orphans, "the killed worker had uploaded the day's file"
    assert not [
        item for item in lake.list(f"{COMMITS}lake/requests/day=2026-11-04")
    ]  # but never committed it
    half = LakeMirror(lake, tmp_path / "half")
    half.pull_metadata()
    assert not (half.scratch / "lake/requests/day=2026-11-04").exists()  # readers do not see it

    assert main(["materialize", "--quiet"]) == 0
    assert lake_tables(pulled_copy(lake, tmp_path / "check")) == lake_tables(local.root)
    report = collect_garbage(lake, grace_s=0)
    assert set(orphans) <= set(report.deleted)
    assert lake_tables(pulled_copy(lake, tmp_path / "after-gc")) == lake_tables(local.root)
