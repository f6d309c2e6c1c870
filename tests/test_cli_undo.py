"""The command line's undo, as a new user meets it: ``modeshift forget FILE_ID|PATH`` takes a merged file back out
of the lake (its days merged again without it, its weeks recomputed: the same lake and warehouse as a home that
never had it, locally and in object mode); the same bytes landed with other options are a new file (the copies
quarantined as duplicates), with the same options "already landed"; every subcommand's --help has an example."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.app.cli import build_parser, main
from pipelines.core.home import Home
from pipelines.core.lake_mirror import LakeMirror
from pipelines.core.object_store import S3Store
from pipelines.ingest.formats.registry import describe_formats
from pipelines.ingest.landing import landed_files, legacy_file_id, manifest_path
from tests.servers import s3_server

SHARED_DAY, B_DAY, A_WEEK_DAY = "2026-11-03", "2026-11-04", "2026-11-10"
A_ONLY_WEEK = "2026-11-09"


def _rows(day: str, prefix: str, count: int, endpoint: str = "chat", tokens: int = 800) -> list[dict]:
    return [
        {"request_id": f"{prefix}-{i}", "ts": f"{day}T{i % 24:02d}:{(i * 7) % 60:02d}:00Z", "endpoint": endpoint,
         "model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "input_tokens": tokens + i,
         "output_tokens": 20 + i % 5, "interactive": i % 2 == 0}
        for i in range(count)
    ]  # fmt: skip


def _write(path: Path, rows: list[dict], bad_lines: int = 0) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows) + "not json\n" * bad_lines)
    return path


def _files(tmp_path: Path) -> tuple[Path, Path]:
    """A: the shared day (20 request_ids B also holds, 10 of its own) and a day of a week only A has. B: the shared
    day (the 20 shared ids, 15 of its own), another day, and a line that does not parse."""
    shared = _rows(SHARED_DAY, "shared", 20)
    a = _write(
        tmp_path / "a.jsonl",
        shared + _rows(SHARED_DAY, "a", 10, "batch-job") + _rows(A_WEEK_DAY, "a-late", 30, "batch-job"),
    )
    b_shared = [dict(row, output_tokens=row["output_tokens"] + 1) for row in shared]  # other values, same ids
    b = _write(tmp_path / "b.jsonl", b_shared + _rows(SHARED_DAY, "b", 15) + _rows(B_DAY, "b2", 25), 1)
    return a, b


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _rounded(rows: list[tuple]) -> list[tuple]:
    """Rows with floats to 10 significant digits (sums of the same terms in another order differ in the last bits),
    sorted."""
    rounded = [tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in row) for row in rows]
    return sorted(rounded, key=repr)


def _parquet_rows(root: Path, pattern: str, without: str | None = None) -> list[tuple]:
    """Every row of the Parquet files ``pattern`` names under ``root`` (without the column ``without``)."""
    files = sorted(str(p) for p in root.glob(pattern))
    if not files:
        return []
    with duckdb.connect() as con:
        con.sql("SET TimeZone = 'UTC'")
        relation = con.read_parquet(files, union_by_name=True)
        relation = relation.select(*[duckdb.ColumnExpression(c) for c in relation.columns if c != without])
        return _rounded(relation.fetchall())


def _lake(root: Path, without: str | None = None) -> dict[str, list[tuple]]:
    """Every Parquet table of the lake under ``root`` (request lake, both quarantines, rollups, weekly tables),
    without the column ``without``."""
    patterns = {
        "requests": "lake/requests/day=*/*.parquet",
        "quarantine": "lake/quarantine/day=*/*.parquet",
        "staged_quarantine": "lake/staged/*/day=quarantine/*.parquet",
    }
    patterns |= {
        f"rollup {p.name}": f"lake/rollups/day=*/{p.name}" for p in root.glob("lake/rollups/day=*/*.parquet")
    }
    patterns |= {
        f"weekly {p.name}": f"lake/weekly/{p.name}/week=*/part.parquet" for p in root.glob("lake/weekly/*")
    }
    return {name: _parquet_rows(root, pattern, without) for name, pattern in sorted(patterns.items())}


def _warehouse(home: Home) -> dict[str, list[tuple]]:
    """Every table and view of warehouse.duckdb, all rows sorted."""
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        con.sql("SET TimeZone = 'UTC'")
        names = [row[0] for row in con.sql("SELECT table_name FROM information_schema.tables").fetchall()]
        return {name: _rounded(con.table(name).fetchall()) for name in sorted(names)}


def _days(home: Home) -> list[str]:
    return sorted(p.name.removeprefix("day=") for p in home.requests.glob("day=*"))


@pytest.mark.slow
def test_forgetting_a_merged_file_gives_the_lake_and_warehouse_of_a_home_without_it(
    home, tmp_path, capsys, monkeypatch
):
    a, b = _files(tmp_path)
    assert _run(["ingest", "--format", "canonical", str(a)], capsys)[0] == 0
    assert _run(["ingest", "--format", "canonical", str(b)], capsys)[0] == 0
    a_id, b_id = (f.file_id for f in landed_files(home))
    only_b = Home(tmp_path / "only-b")  # a home that only ever ingested B: the same landing, without A's
    shutil.copytree(home.root, only_b.root)
    for path in only_b.landing.glob(f"{a_id}*"):
        path.unlink()

    code, _, err = _run(["materialize", "--quiet"], capsys)
    assert code == 0, err
    assert _days(home) == [SHARED_DAY, B_DAY, A_WEEK_DAY]
    duplicates = _parquet_rows(home.root, f"lake/quarantine/day={SHARED_DAY}/*.parquet")
    assert len(duplicates) == 20  # B's copies of the shared ids: A landed first
    week_before = _parquet_rows(home.root, "lake/weekly/endpoint_profiles/week=2026-11-02/part.parquet")

    code, out, err = _run(["forget", str(a)], capsys)  # by path: the file's content is looked up
    assert code == 0, err
    assert f"a.jsonl ({a_id}): forgotten" in out
    assert "1 day(s) re-opened" in out and "1 left without data" in out and A_ONLY_WEEK in out
    assert _days(home) == [B_DAY]  # at once, no row of A is in the lake
    assert not list(home.lake.glob(f"weekly/*/week={A_ONLY_WEEK}"))
    assert [f.file_id for f in landed_files(home)] == [b_id]

    code, out, err = _run(["materialize", "--quiet"], capsys)
    assert code == 0, err
    with monkeypatch.context() as patch:
        patch.setenv("MODESHIFT_HOME", str(only_b.root))
        code, _, err = _run(["materialize", "--quiet"], capsys)
        assert code == 0, err

    assert _days(home) == [SHARED_DAY, B_DAY]
    assert (
        _parquet_rows(home.root, f"lake/quarantine/day={SHARED_DAY}/*.parquet") == []
    )  # B's copies kept now
    week_after = _parquet_rows(home.root, "lake/weekly/endpoint_profiles/week=2026-11-02/part.parquet")
    assert week_after != week_before  # recomputed without A's rows
    lake, expected_lake = _lake(home.root), _lake(only_b.root)
    assert lake == expected_lake and lake["requests"] and lake["weekly recommendations"]
    warehouse, expected_warehouse = _warehouse(home), _warehouse(only_b)
    assert warehouse == expected_warehouse and "recommendations" in warehouse
    (log,) = warehouse["ingest_log"]  # the forgotten file is not counted; B balances
    columns = [
        c[0] for c in duckdb.connect(str(home.warehouse), read_only=True).sql("FROM ingest_log").description
    ]
    entry = dict(zip(columns, log, strict=True))
    assert entry["source_file"] == b_id and entry["rows_pending"] == 0
    assert entry["rows_in"] == entry["rows_accepted"] + entry["rows_quarantined"] == 61
    assert entry["rows_quarantined"] == 1  # the line that does not parse

    code, out, err = _run(["forget", a_id], capsys)  # gone: one line, exit 2
    assert code == 2 and out == "" and err.count("\n") == 1 and f"No landed file has the id {a_id}" in err
    code, _, err = _run(["forget", str(tmp_path / "nowhere.jsonl")], capsys)
    assert code == 2 and "is neither a landed file id nor a file" in err


@pytest.mark.slow
def test_the_same_bytes_with_other_options_land_again_and_their_copies_are_duplicates(home, tmp_path, capsys):
    data = _write(tmp_path / "gateway.jsonl", _rows(SHARED_DAY, "r", 12), bad_lines=1)
    code, out, _ = _run(["ingest", "--format", "canonical", str(data)], capsys)
    assert code == 0 and "1 new file(s)" in out
    (first,) = landed_files(home)
    code, out, _ = _run(["ingest", "--format", "canonical", str(data)], capsys)
    assert (
        code == 0 and "already landed (same content, same options), skipped" in out and "0 new file(s)" in out
    )
    code, out, _ = _run(["ingest", "--format", "canonical", "--endpoint", "support", str(data)], capsys)
    assert code == 0 and "1 new file(s)" in out
    assert f"same content as {first.file_id} landed with other options; landing again" in out
    assert f"'modeshift forget {first.file_id}' to drop the old one" in out
    second = next(f for f in landed_files(home) if f.file_id != first.file_id)
    assert second.sha256 == first.sha256 and second.options == {"endpoint": "support"}

    code, _, err = _run(["materialize", "--quiet"], capsys)
    assert code == 0, err
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        log = {
            row[0]: row[1:]
            for row in con.sql(
                "SELECT source_file, rows_in, rows_accepted, rows_quarantined, rows_pending FROM ingest_log"
            ).fetchall()
        }
        stages = dict(
            con.sql("SELECT source_file || ':' || stage, count(*) FROM quarantine GROUP BY ALL").fetchall()
        )
    assert log[first.file_id] == (13, 12, 1, 0)  # rows in = accepted + quarantined (the bad line)
    assert log[second.file_id] == (
        13,
        0,
        13,
        0,
    )  # every copy a duplicate of the first file's, and the bad line
    assert stages == {
        f"{first.file_id}:parse": 1,
        f"{second.file_id}:parse": 1,
        f"{second.file_id}:duplicate": 12,
    }


def test_a_file_landed_by_an_older_version_keeps_its_id(home, tmp_path, capsys):
    """A home written when a file's id was its bytes' hash alone: the same bytes and options are still 'already
    landed' under that id, other options land a new file naming it, and forget finds it by id and by path."""
    data = _write(tmp_path / "old.jsonl", _rows(SHARED_DAY, "r", 3))
    assert _run(["ingest", "--format", "canonical", str(data)], capsys)[0] == 0
    (landed,) = landed_files(home)
    legacy = legacy_file_id(landed.sha256)
    assert legacy != landed.file_id
    manifest = json.loads(manifest_path(home, landed.file_id).read_text())
    manifest_path(home, landed.file_id).unlink()
    landed.path(home).rename(home.landing / f"{legacy}{landed.suffix}")
    manifest_path(home, legacy).write_text(json.dumps(manifest | {"file_id": legacy}))

    code, out, _ = _run(["ingest", "--format", "canonical", str(data)], capsys)
    assert code == 0 and f"already landed (same content, same options), skipped as {legacy}" in out
    code, out, _ = _run(["ingest", "--format", "canonical", "--endpoint", "e", str(data)], capsys)
    assert code == 0 and f"same content as {legacy} landed with other options" in out
    unknown = "0123456789abcdef0123"
    code, _, err = _run(["forget", legacy, unknown], capsys)  # one unknown id: nothing is forgotten
    assert code == 2 and f"No landed file has the id {unknown}" in err and len(landed_files(home)) == 2
    code, _, err = _run(["forget", str(data)], capsys)  # two landings of these bytes: the id must be named
    assert code == 2 and "landed 2 times" in err and legacy in err
    code, out, _ = _run(["forget", legacy], capsys)
    assert code == 0 and f"({legacy}): forgotten" in out
    assert [f.options for f in landed_files(home)] == [{"endpoint": "e"}]


def test_every_command_has_a_description_and_an_example_and_ingest_lists_the_formats(capsys):
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in commands.items():
        text = sub.format_help()
        assert sub.description and "example" in text and f"modeshift {name}" in text.split("example")[-1], (
            name
        )
    ingest = commands["ingest"].format_help()
    for described in describe_formats():
        (line,) = [x for x in ingest.splitlines() if x.startswith(f"  {described.name} (")]
        for key in described.required_options:
            assert "needs --" + key.replace("_", "-") in line, line
        assert ("needs no option" in line) == (not described.required_options), line
    assert (
        "burstgpt (csv): needs --anchor" in ingest
        and "mapped (jsonl, csv, parquet): needs --mapping" in ingest
    )
    with pytest.raises(SystemExit):
        main(["forget", "--help"])
    assert "FILE_ID|PATH" in capsys.readouterr().out


@pytest.mark.slow
def test_forget_in_object_mode_gives_the_lake_of_a_local_home_without_the_file(tmp_path, capsys, monkeypatch):
    a, b = _files(tmp_path)
    with s3_server() as s3:
        bucket = s3.new_bucket()
        for key, value in s3.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("MODESHIFT_LAKE", f"s3://{bucket}/lake")
        monkeypatch.setenv("MODESHIFT_SALT", "cli-undo-object-lake-salt-0123456789abcdef")
        monkeypatch.setenv("MODESHIFT_SCRATCH", str(tmp_path / "scratch"))
        monkeypatch.delenv("MODESHIFT_HOME", raising=False)  # each command works in its own scratch copy
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
        (tmp_path / "dagster").mkdir()
        store = S3Store(bucket, "lake")
        for source in (a, b):
            assert _run(["ingest", "--format", "canonical", str(source)], capsys)[0] == 0
        code, _, err = _run(["materialize", "--quiet"], capsys)
        assert code == 0, err
        code, out, err = _run(["forget", str(a)], capsys)
        assert code == 0 and "1 day(s) re-opened" in out, err
        a_id = out.split("(")[1].split(")")[0]
        assert not [item.key for item in store.list("landing/") if a_id in item.key]
        assert not [item.key for item in store.list("_commits/") if a_id in item.key]
        code, _, err = _run(["materialize", "--quiet"], capsys)
        assert code == 0, err
        pulled = tmp_path / "pulled"
        mirror = LakeMirror(store, pulled)
        mirror.pull_metadata()
        mirror.pull_files({"lake/": None, "warehouse.duckdb": None})
    with monkeypatch.context() as patch:  # the default local mode, on B alone
        patch.delenv("MODESHIFT_LAKE", raising=False)
        patch.setenv("MODESHIFT_HOME", str(tmp_path / "local"))
        local = Home(tmp_path / "local").ensure()
        assert _run(["ingest", "--format", "canonical", str(b)], capsys)[0] == 0
        assert _run(["materialize", "--quiet"], capsys)[0] == 0
    lake = _lake(pulled, without="landed_at_ns")  # the landing time differs between the two landings of B
    assert lake == _lake(local.root, without="landed_at_ns") and lake["weekly recommendations"]
    assert not list(pulled.glob(f"lake/weekly/*/week={A_ONLY_WEEK}"))
    with duckdb.connect(str(pulled / "warehouse.duckdb"), read_only=True) as con:
        log = con.sql(
            "SELECT rows_in, rows_accepted, rows_quarantined, rows_pending FROM ingest_log"
        ).fetchall()
    assert log == [(61, 60, 1, 0)]


def test_forgetting_a_merged_usage_export_reopens_its_days_and_keeps_the_other_exports(
    home, settings, tmp_path
):
    """Aggregated usage (openai-usage) merged without Dagster: forgetting one of two exports that share a day
    removes both its merged usage days; the shared day is pending again (merged from the other export alone)."""
    from pipelines.ingest.failures import stage_or_set_aside
    from pipelines.ingest.landing import land_file
    from pipelines.ingest.usage_merge import merge_usage_day, pending_usage_days, read_usage_merged
    from pipelines.lake.forget import forget_landed
    from tests.test_usage_pipeline import _small_export

    source = tmp_path / "usage.jsonl"
    source.write_text(_small_export())  # 2026-11-02 .. 04
    other = tmp_path / "usage-by-model.jsonl"
    other.write_text(
        source.read_text().splitlines(keepends=True)[1]
    )  # the 1-minute buckets of 2026-11-03 only
    first = stage_or_set_aside(home, settings, land_file(home, source, "openai-usage", {})[0])
    second = stage_or_set_aside(
        home, settings, land_file(home, other, "openai-usage", {"endpoint_by": "model"})[0]
    )
    for day in ("2026-11-02", "2026-11-03", "2026-11-04"):
        merge_usage_day(home, day)
    assert set(read_usage_merged(home, "2026-11-03").inputs) == {first.file_id, second.file_id}

    forgotten = forget_landed(home, first.file_id)
    assert forgotten.reopened_days == ["2026-11-03"] and forgotten.emptied_days == [
        "2026-11-02",
        "2026-11-04",
    ]
    assert forgotten.removed_weeks == []  # 2026-11-03 keeps the week's data
    assert sorted(p.name for p in home.usage.glob("day=*")) == []
    assert pending_usage_days(home) == ["2026-11-03"]
    merged = merge_usage_day(home, "2026-11-03")
    assert set(merged.inputs) == {second.file_id} and merged.accepted == merged.rows_in == 60


def test_a_file_landed_again_after_forget_gets_a_new_staging_run_key(home, tmp_path):
    """The landing sensor asks for a staging run once per run key: the same bytes and options landed again after
    ``forget`` have the same id, so the key carries the landing time too."""
    from dagster import DagsterInstance, build_sensor_context

    from pipelines.ingest.landing import land_file
    from pipelines.lake.forget import forget_landed
    from pipelines.ops.resources import ModeshiftResource
    from pipelines.ops.sensors import landing_sensor

    instance = DagsterInstance.ephemeral()
    resources = {"modeshift": ModeshiftResource(home_dir=str(home.root))}
    data = _write(tmp_path / "a.jsonl", _rows(SHARED_DAY, "r", 3))
    first = land_file(home, data, "canonical", {})[0]
    (before,) = landing_sensor(build_sensor_context(instance=instance, resources=resources)).run_requests
    forget_landed(home, first.file_id)
    again = land_file(home, data, "canonical", {})[0]
    (after,) = landing_sensor(build_sensor_context(instance=instance, resources=resources)).run_requests
    assert again.file_id == first.file_id and after.partition_key == before.partition_key == first.file_id
    assert after.run_key != before.run_key and after.run_key == f"stage:{again.file_id}@{again.landed_at_ns}"
