"""The burstgpt format on the real BurstGPT sample files, through real landing + staging + normalization."""

from __future__ import annotations

import gzip
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.ingest.formats import burstgpt
from pipelines.ingest.formats.records import RAW_COLUMNS, record_reader
from pipelines.ingest.landing import land_file
from tests.helpers import derived_id_prefix, land_and_stage, staged_rows

SAMPLE_DIR = Path(__file__).parent / "data" / "burstgpt-sample"  # CC BY 4.0, see its README.md
OLD_ORDER = "BurstGPT_1_head400.csv"  # Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
NEW_ORDER = "BurstGPT_3_head400.csv"  # Timestamp,Session ID,Elapsed time,Model,...
ANCHOR = "2023-05-10T00:00:00Z"
ANCHOR_AT = datetime(2023, 5, 10, tzinfo=UTC)

# Facts of the sample files, counted by hand (awk) from the CSVs.
FAILED_LINES_OLD = {21, 39, 41, 42, 82, 122, 123, 124, 177, 244, 261, 305, 339, 360, 361, 395, 396}
FAILED_LINES_NEW = {116}
ENDPOINTS_OLD = {"chatgpt-conversation": 320, "gpt-4-conversation": 78, "gpt-4-api": 2}
ENDPOINTS_NEW = {"chatgpt-conversation": 302, "gpt-4-conversation": 92, "chatgpt-api": 3, "gpt-4-api": 3}


def copy_sample(name: str, target_dir: Path) -> Path:
    """Copy one sample CSV (with its LICENSE and CITATION, as CC BY 4.0 asks) into a writable directory."""
    for extra in ("LICENSE", "CITATION.cff"):
        shutil.copyfile(SAMPLE_DIR / extra, target_dir / extra)
    target = target_dir / name
    shutil.copyfile(SAMPLE_DIR / name, target)
    target.chmod(0o644)
    return target


def test_old_column_order_lands_every_row_with_exact_first_values(home, settings, tmp_path):
    sample = copy_sample(OLD_ORDER, tmp_path)
    staged = land_and_stage(home, settings, sample, "burstgpt", {"anchor": ANCHOR})
    assert staged.rows_in == 400
    assert staged.rows_staged + staged.rows_quarantined == 400
    assert staged.rows_quarantined == 0
    assert staged.note is None  # read by DuckDB's fast path, not record by record
    assert staged.rows_by_day == {"2023-05-10": 400}  # the last Timestamp is 37274 s: still the first day
    rows = staged_rows(home, staged.file_id)
    first = rows[0]
    assert first["ts"] == ANCHOR_AT + timedelta(seconds=5)
    assert (first["model"], first["input_tokens"], first["output_tokens"]) == ("ChatGPT", 472, 18)
    assert (first["endpoint"], first["interactive"], first["ok"]) == ("chatgpt-conversation", True, True)
    assert first["latency_ms"] is None  # the old files have no Elapsed time
    assert first["request_id"] == f"{derived_id_prefix(sample.read_bytes())}:1"
    third = rows[2]
    assert (third["ts"], third["model"], third["endpoint"]) == (
        ANCHOR_AT + timedelta(seconds=118),
        "GPT-4",
        "gpt-4-conversation",
    )
    assert {row["source_line"] for row in rows if not row["ok"]} == FAILED_LINES_OLD
    assert Counter(row["endpoint"] for row in rows) == ENDPOINTS_OLD
    api_rows = [row for row in rows if row["endpoint"] == "gpt-4-api"]
    assert [row["interactive"] for row in api_rows] == [None, None]


def test_new_column_order_reads_columns_by_name_and_latency_from_elapsed_time(home, settings, tmp_path):
    staged = land_and_stage(home, settings, copy_sample(NEW_ORDER, tmp_path), "burstgpt", {"anchor": ANCHOR})
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (400, 400, 0)
    rows = staged_rows(home, staged.file_id)
    first = rows[0]
    assert first["ts"] == ANCHOR_AT + timedelta(seconds=19440110)  # '19440110.0': a float timestamp
    assert (first["model"], first["input_tokens"], first["output_tokens"]) == ("GPT-4", 906, 446)
    assert (first["endpoint"], first["latency_ms"], first["ok"]) == ("gpt-4-conversation", 43000.0, True)
    assert (rows[1]["model"], rows[1]["latency_ms"], rows[1]["endpoint"]) == (
        "ChatGPT",
        2000.0,
        "chatgpt-conversation",
    )
    failed = [row for row in rows if not row["ok"]]
    assert [row["source_line"] for row in failed] == sorted(FAILED_LINES_NEW)
    assert (failed[0]["output_tokens"], failed[0]["latency_ms"]) == (0, 0.0)
    assert Counter(row["endpoint"] for row in rows) == ENDPOINTS_NEW
    api_row = rows[54]  # line 56 of the CSV: 19454781.0,,21,GPT-4,264,171,435,API log
    assert (api_row["endpoint"], api_row["interactive"], api_row["latency_ms"]) == (
        "gpt-4-api",
        None,
        21000.0,
    )
    assert api_row["ts"] == ANCHOR_AT + timedelta(seconds=19454781)


def gzipped_sample(name: str, target_dir: Path) -> Path:
    """A gzip-compressed copy of one sample CSV."""
    packed = target_dir / f"{name}.gz"
    packed.write_bytes(gzip.compress(copy_sample(name, target_dir).read_bytes()))
    return packed


def test_a_gzipped_copy_lands_the_same_rows(home, settings, tmp_path):
    staged = land_and_stage(
        home, settings, gzipped_sample(NEW_ORDER, tmp_path), "burstgpt", {"anchor": ANCHOR}
    )
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (400, 400, 0)
    rows = staged_rows(home, staged.file_id)
    assert (rows[0]["ts"], rows[0]["latency_ms"], rows[0]["endpoint"]) == (
        ANCHOR_AT + timedelta(seconds=19440110),
        43000.0,
        "gpt-4-conversation",
    )
    assert {row["source_line"] for row in rows if not row["ok"]} == FAILED_LINES_NEW
    assert Counter(row["endpoint"] for row in rows) == ENDPOINTS_NEW


def test_a_gzipped_csv_is_read_by_the_fast_path(home, settings, tmp_path):
    staged = land_and_stage(
        home, settings, gzipped_sample(NEW_ORDER, tmp_path), "burstgpt", {"anchor": ANCHOR}
    )
    assert staged.note is None


def test_the_endpoint_option_overrides_model_and_log_type(home, settings, tmp_path):
    options = {"anchor": ANCHOR, "endpoint": "burst-all"}
    staged = land_and_stage(home, settings, copy_sample(OLD_ORDER, tmp_path), "burstgpt", options)
    assert {row["endpoint"] for row in staged_rows(home, staged.file_id)} == {"burst-all"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs an anchor"),
        ({"anchor": "the start"}, "not an ISO-8601 time"),
        ({"anchor": ANCHOR, "ts_unit": "ms"}, "seconds"),
        ({"anchor": ANCHOR, "model": "gpt-4o"}, "does not take --model"),
    ],
)
def test_bad_options_are_refused_at_landing(home, tmp_path, options, message):
    with pytest.raises(ModeshiftError, match=message) as refused:
        land_file(home, copy_sample(OLD_ORDER, tmp_path), "burstgpt", options)
    if not options:
        assert "--anchor 2023-" in refused.value.hint
    assert not list(home.landing.iterdir())  # nothing landed


def test_raw_rows_have_exactly_the_raw_columns(tmp_path):
    path = copy_sample(OLD_ORDER, tmp_path)
    with connect() as con:
        relation = burstgpt.raw_rows(".csv", {"anchor": ANCHOR}, record_reader(con, path, ".csv"))
        assert relation.columns == ["source_line", "parse_error", *RAW_COLUMNS]
        assert {str(t) for t in relation.types[1:]} == {"VARCHAR"}
