"""Exactly-once ingest through real Dagster runs: idempotent re-ingest, late files, midnight, re-runs."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.delivery.warehouse import ingest_log_frame
from pipelines.ingest.day_merge import pending_days, read_merged
from pipelines.ingest.landing import land_file, landed_files


def _row(request_id: str, ts: str, endpoint: str = "chat", tokens: int = 10) -> dict:
    return {
        "request_id": request_id,
        "ts": ts,
        "endpoint": endpoint,
        "model": "m",
        "input_tokens": tokens,
        "output_tokens": 1,
    }


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _lake(home: Home) -> list[tuple]:
    """Every accepted request (request_id, day, source file) from the warehouse's requests view."""
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.sql(
            "SELECT request_id, CAST(day AS VARCHAR), source_file FROM requests ORDER BY ALL"
        ).fetchall()


def test_same_file_twice_changes_nothing(home, tmp_path):
    first = _write(
        tmp_path / "a.jsonl", [_row("a", "2026-11-02T10:00:00Z"), _row("b", "2026-11-03T10:00:00Z")]
    )
    copy = tmp_path / "renamed-copy.jsonl"
    copy.write_bytes(first.read_bytes())
    assert land_file(home, first, "canonical", {})[1] is True
    materialize_pending(home, progress=lambda _: None)
    before = _lake(home)
    assert land_file(home, copy, "canonical", {})[1] is False  # same content, another name: a no-op
    assert land_file(home, first, "canonical", {})[1] is False
    assert pending_days(home) == []
    materialize_pending(home, progress=lambda _: None)
    assert _lake(home) == before
    assert [r[0] for r in before] == ["a", "b"]


def test_rows_land_in_their_own_utc_day_whatever_the_file_name(home, tmp_path):
    rows = [
        _row("before-midnight", "2026-11-02T23:59:59.999Z"),
        _row("after-midnight", "2026-11-03T00:00:00Z"),
        _row("offset", "2026-11-03T01:30:00+02:00"),  # 2026-11-02 23:30 UTC
    ]
    land_file(home, _write(tmp_path / "requests-2026-11-03.jsonl", rows), "canonical", {})
    materialize_pending(home, progress=lambda _: None)
    assert _lake(home)[0:3] == [
        ("after-midnight", "2026-11-03", _lake(home)[0][2]),
        ("before-midnight", "2026-11-02", _lake(home)[0][2]),
        ("offset", "2026-11-02", _lake(home)[0][2]),
    ]


def test_a_late_file_recomputes_only_the_days_it_touches(home, tmp_path):
    land_file(
        home,
        _write(tmp_path / "a.jsonl", [_row("a", "2026-11-02T10:00:00Z"), _row("b", "2026-11-03T10:00:00Z")]),
        "canonical",
        {},
    )
    materialize_pending(home, progress=lambda _: None)
    day3_before = read_merged(home, "2026-11-03")
    late = _write(
        tmp_path / "late.jsonl", [_row("late", "2026-11-02T11:00:00Z"), _row("a", "2026-11-02T10:00:00Z")]
    )
    land_file(home, late, "canonical", {})
    summary = materialize_pending(home, progress=lambda _: None)
    assert summary.runs == {
        "stage_files": 1,
        "daily": 1,
        "weekly": 1,
        "refresh_warehouse": 1,
        "publish_analytics": 1,
    }
    assert read_merged(home, "2026-11-03") == day3_before
    merged = read_merged(home, "2026-11-02")
    assert (merged.rows_in, merged.accepted, merged.quarantined) == (
        3,
        2,
        1,
    )  # the late copy of "a" is a duplicate
    assert sorted(r[0] for r in _lake(home)) == ["a", "b", "late"]
    log = ingest_log_frame(home)
    assert (log["rows_in"] == log["rows_accepted"] + log["rows_quarantined"] + log["rows_pending"]).all()
    assert log["rows_pending"].sum() == 0


def test_rerunning_a_day_replaces_it(home, tmp_path):
    from pipelines.ingest.day_merge import merge_day

    land_file(
        home,
        _write(tmp_path / "a.jsonl", [_row(f"r{i}", "2026-11-02T10:00:00Z") for i in range(50)]),
        "canonical",
        {},
    )
    materialize_pending(home, progress=lambda _: None)
    for _ in range(3):
        merge_day(home, "2026-11-02")
    with duckdb.connect() as con:
        count = con.sql(
            "SELECT count(*) FROM read_parquet($f)",
            params={"f": str(home.request_day_dir("2026-11-02") / "*.parquet")},
        )
        assert count.fetchall()[0][0] == 50


def test_ingest_log_and_quarantine_tables_balance(home, tmp_path):
    rows = [_row("a", "2026-11-02T10:00:00Z"), _row("a", "2026-11-02T10:00:00Z"), {"ts": "nope"}, "garbage"]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join((json.dumps(r) if isinstance(r, dict) else r) + "\n" for r in rows))
    land_file(home, path, "canonical", {})
    materialize_pending(home, progress=lambda _: None)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        log = con.sql(
            "SELECT rows_in, rows_accepted, rows_quarantined, rows_pending FROM ingest_log"
        ).fetchall()
        reasons = con.sql("SELECT line, stage, reason FROM quarantine ORDER BY line").fetchall()
    assert log == [(4, 1, 3, 0)]
    assert [(line, stage) for line, stage, _ in reasons] == [(2, "duplicate"), (3, "parse"), (4, "parse")]
    assert len(landed_files(home)) == 1


def test_a_crashed_writers_leftover_directory_is_not_read(home, tmp_path):
    import shutil

    rows = [_row("a", "2026-11-02T10:00:00Z"), {"ts": "nope"}]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    land_file(home, path, "canonical", {})
    materialize_pending(home, progress=lambda _: None)
    staged = next(p for p in home.staged.iterdir() if not p.name.startswith("."))
    shutil.copytree(
        staged, home.staged / f".trash-0123-{staged.name}"
    )  # what a crash between two renames leaves
    from pipelines.delivery.warehouse import refresh_ingest_tables

    counts = refresh_ingest_tables(home)
    assert counts["quarantine"] == 1 and counts["requests"] == 1
