"""The dedupe census: repeated request_ids are found once per dedupe region and every day of the region reuses
them, with the same duplicates as grouping each day's own window (the window semantics themselves are tested in
test_operational_safety.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
from hypothesis import given
from hypothesis import strategies as st

from pipelines.core.calendar import DedupeWindow
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.ingest.day_merge import merge_day, pending_days
from pipelines.ingest.landing import land_file
from pipelines.ingest.staging import stage_file

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


@given(
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    same_iso_week=st.booleans(),
    adjacent_days=st.integers(min_value=0, max_value=4),
)
def test_a_region_holds_its_day_and_window_and_is_shared_by_the_days_of_an_iso_week(
    day: date, same_iso_week: bool, adjacent_days: int
) -> None:
    window = DedupeWindow(same_iso_week, adjacent_days)
    region = window.region_of(day.isoformat())
    assert region == sorted(region) and len(set(region)) == len(region)
    assert {day.isoformat(), *window.days_around(day.isoformat())} <= set(region)
    if same_iso_week:
        monday = day - timedelta(days=day.weekday())
        for offset in range(7):
            assert window.region_of((monday + timedelta(days=offset)).isoformat()) == region


def _rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(
            json.dumps(
                {
                    "request_id": rid,
                    "ts": ts,
                    "endpoint": "chat",
                    "model": MODEL,
                    "input_tokens": 10,
                    "output_tokens": 1,
                }
            )
            + "\n"
            for rid, ts in rows
        )  # fmt: skip
    )
    return path


def _census_rows(path: Path) -> list[tuple[str, str]]:
    with duckdb.connect() as con:
        return con.sql(
            "SELECT request_id, day FROM read_parquet($f) ORDER BY ALL", params={"f": str(path)}
        ).fetchall()


def test_one_census_per_region_holds_every_copy_of_the_repeated_ids_and_is_rebuilt_when_inputs_change(
    home: Home, tmp_path: Path
) -> None:
    settings = Settings.load(home)
    rows = [
        ("same-week", "2026-11-03T10:00:00Z"),  # Tuesday and Thursday of the week of 2026-11-02
        ("same-week", "2026-11-05T10:00:00Z"),
        ("midnight", "2026-11-08T23:59:00Z"),  # Sunday, and the Monday after (in both weeks' regions)
        ("midnight", "2026-11-09T00:01:00Z"),
        ("once", "2026-11-04T10:00:00Z"),
        *[(f"plain-{n}", f"2026-11-0{2 + n % 6}T12:00:00Z") for n in range(30)],
    ]
    landed, _ = land_file(home, _rows(tmp_path / "a.jsonl", rows), "canonical", {})
    stage_file(home, settings, landed)
    days = pending_days(home)
    first = merge_day(home, days[0])  # Monday 2026-11-02 builds the census of its region
    censuses = sorted((home.cache / "dedupe").glob("*.parquet"))
    assert [p.name.split("-w")[0] for p in censuses] == ["2026-11-01_2026-11-09"]
    built = censuses[0].stat()
    for day in days[1:]:
        merge_day(home, day)
    names = sorted(p.name.split("-w")[0] for p in (home.cache / "dedupe").glob("*.parquet"))
    # the six other days of the week reused it; the Monday 2026-11-09 is in the next week's region
    assert names == ["2026-11-01_2026-11-09", "2026-11-08_2026-11-16"]
    assert censuses[0].stat().st_ino == built.st_ino and censuses[0].stat().st_mtime_ns == built.st_mtime_ns
    assert _census_rows(censuses[0]) == [
        ("midnight", "2026-11-08"),
        ("midnight", "2026-11-09"),
        ("same-week", "2026-11-03"),
        ("same-week", "2026-11-05"),
    ]
    assert first.quarantined == 0
    assert merge_day(home, "2026-11-05").quarantined == 1  # the Thursday copy of same-week
    # a second file in the region: the census of those inputs is a new one, and it sees the new repeat
    landed_b, _ = land_file(
        home, _rows(tmp_path / "b.jsonl", [("once", "2026-11-06T10:00:00Z")]), "canonical", {}
    )
    stage_file(home, settings, landed_b)
    assert merge_day(home, "2026-11-06").quarantined == 1
    newer = [p for p in (home.cache / "dedupe").glob("2026-11-01_2026-11-09-*.parquet") if p != censuses[0]]
    assert len(newer) == 1 and ("once", "2026-11-06") in _census_rows(newer[0])


def test_a_clean_day_of_two_files_keeps_their_slices_as_its_lake_files_and_a_duplicate_makes_it_one_file(
    home: Home, tmp_path: Path
) -> None:
    settings = Settings.load(home)
    for name, rows in (
        ("a.jsonl", [(f"a-{n}", "2026-11-03T10:00:00Z") for n in range(5)]),
        ("b.jsonl", [(f"b-{n}", "2026-11-03T11:00:00Z") for n in range(4)]),
    ):
        landed, _ = land_file(home, _rows(tmp_path / name, rows), "canonical", {})
        stage_file(home, settings, landed)
    merged = merge_day(home, "2026-11-03")
    day_dir = home.request_day_dir("2026-11-03")
    lake_files = sorted(p.name for p in day_dir.glob("*.parquet"))
    assert lake_files == ["part-2.parquet", "part.parquet"] and merged.accepted == 9
    slice_inodes = {p.stat().st_ino for p in home.staged.glob("*/day=2026-11-03/*.parquet")}
    assert {p.stat().st_ino for p in day_dir.glob("*.parquet")} == slice_inodes  # linked, not rewritten
    # a third file repeating an id: the day is rewritten as one file, and no file of the two-file layout stays
    landed, _ = land_file(
        home, _rows(tmp_path / "c.jsonl", [("a-1", "2026-11-03T12:00:00Z")]), "canonical", {}
    )
    stage_file(home, settings, landed)
    merged = merge_day(home, "2026-11-03")
    assert sorted(p.name for p in day_dir.glob("*.parquet")) == ["part.parquet"]
    assert (merged.accepted, merged.quarantined) == (9, 1)
    with duckdb.connect() as con:
        assert con.sql(
            "SELECT count(*) FROM read_parquet($f)", params={"f": str(day_dir / "part.parquet")}
        ).fetchall() == [(9,)]
