"""Issue #12, part B: classes of poisoned input (booleans as numbers, decompression bombs, records too long, files
that are not what their name says, JSON arrays, the same log plain and gzipped, LiteLLM cache hits, file names that
are not UTF-8). Each case goes through real landing and staging; every one keeps rows in = staged + quarantined."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.ingest.staging import StagedFile
from tests.helpers import land_and_stage, staged_rows

GOOD: dict[str, Any] = {
    "ts": "2026-11-02T10:00:00Z",
    "endpoint": "e",
    "model": "m",
    "input_tokens": 10,
    "output_tokens": 2,
}


def _jsonl(*records: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def _stage(
    home: Home,
    settings: Settings,
    tmp_path: Path,
    name: str,
    data: bytes,
    fmt: str = "canonical",
    **options: Any,
) -> StagedFile:
    path = tmp_path / name
    path.write_bytes(data)
    staged = land_and_stage(home, settings, path, fmt, options)
    assert (
        staged.rows_in == staged.rows_staged + staged.rows_quarantined
    )  # the accounting identity, every case
    return staged


def _reasons(home: Home, staged: StagedFile) -> list[str]:
    return [row["quarantine_reason"] for row in staged_rows(home, staged.file_id, accepted=False)]


# ---------------------------------------------------------------------------------------------------------------
# Item 14: a boolean where a number belongs is refused, never read as 1 or 0
# ---------------------------------------------------------------------------------------------------------------


def _parquet_bytes(tmp_path: Path, columns: dict[str, pa.Array]) -> bytes:
    out = tmp_path / "made.parquet"
    pq.write_table(pa.table(columns), out)
    return out.read_bytes()


BOOLEAN_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "json input_tokens true": ("canonical", {**GOOD, "input_tokens": True}, "input_tokens is a boolean (true)"),
    "json output_tokens false": ("canonical", {**GOOD, "output_tokens": False}, "output_tokens is a boolean (false)"),
    "json cached_input_tokens": ("canonical", {**GOOD, "cached_input_tokens": True}, "cached_input_tokens is a boolean"),
    "json latency_ms": ("canonical", {**GOOD, "latency_ms": True}, "latency_ms is a boolean (true)"),
    "json ttft_ms": ("canonical", {**GOOD, "ttft_ms": False}, "ttft_ms is a boolean (false)"),
    "json billed_cost_usd": ("canonical", {**GOOD, "billed_cost_usd": True}, "billed_cost_usd is a boolean"),
    "json text 'TRUE'": ("canonical", {**GOOD, "input_tokens": " TRUE "}, "input_tokens is a boolean (true)"),
    "litellm prompt_tokens": (
        "litellm",
        {"startTime": "2026-11-02T10:00:00Z", "model": "m", "prompt_tokens": True, "completion_tokens": 3},
        "input_tokens is a boolean (true)",
    ),
    "litellm spend": (
        "litellm",
        {"startTime": "2026-11-02T10:00:00Z", "model": "m", "prompt_tokens": 5, "completion_tokens": 3, "spend": False},
        "billed_cost_usd is a boolean (false)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BOOLEAN_CASES))
def test_a_json_boolean_in_a_number_column_is_quarantined(home, settings, tmp_path, name):
    fmt, record, reason = BOOLEAN_CASES[name]
    good = GOOD if fmt == "canonical" else {**record, "prompt_tokens": 5, "spend": 0.5}
    staged = _stage(home, settings, tmp_path, "b.jsonl", _jsonl(good, record, good), fmt)
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (3, 2, 1)
    assert any(reason in r for r in _reasons(home, staged)), _reasons(home, staged)


def test_a_gzipped_and_salvaged_json_boolean_is_quarantined_too(home, settings, tmp_path):
    # A truncated gzip stream sends the file through the record-by-record reader: booleans are refused there too.
    data = _jsonl(GOOD, {**GOOD, "input_tokens": True}, GOOD) * 200
    staged = _stage(home, settings, tmp_path, "b.jsonl.gz", gzip.compress(data)[:-30])
    assert staged.note and "record by record" in staged.note
    reasons = _reasons(home, staged)
    assert reasons.count("input_tokens is a boolean (true), not a number") >= 150
    assert staged.rows_staged >= 300 and any("truncated" in r for r in reasons)


def test_a_csv_boolean_text_in_a_number_column_is_quarantined(home, settings, tmp_path):
    data = b"ts,endpoint,model,input_tokens,output_tokens\n2026-11-02T10:00:00Z,e,m,10,2\n2026-11-02T10:00:00Z,e,m,false,2\n"
    staged = _stage(home, settings, tmp_path, "b.csv", data)
    assert (staged.rows_staged, staged.rows_quarantined) == (1, 1)
    assert _reasons(home, staged) == ["input_tokens is a boolean (false), not a number"]


def test_a_parquet_boolean_column_is_quarantined_and_number_columns_still_read(home, settings, tmp_path):
    columns = {
        "ts": pa.array(["2026-11-02T10:00:00Z"] * 3),
        "endpoint": pa.array(["e"] * 3),
        "model": pa.array(["m"] * 3),
        "input_tokens": pa.array([10, 11, 12], pa.int64()),
        "output_tokens": pa.array([True, False, None], pa.bool_()),
    }
    staged = _stage(home, settings, tmp_path, "b.parquet", _parquet_bytes(tmp_path, columns))
    reasons = _reasons(home, staged)
    assert (staged.rows_staged, staged.rows_quarantined) == (0, 3)
    assert reasons[:2] == [
        "output_tokens is a boolean (true), not a number",
        "output_tokens is a boolean (false), not a number",
    ]
    assert reasons[2] == "output_tokens is missing or not a number"
    numbers = {**columns, "output_tokens": pa.array([1.0, 2.0, 3.0])}
    staged = _stage(home, settings, tmp_path, "n.parquet", _parquet_bytes(tmp_path, numbers))
    assert [r["input_tokens"] for r in staged_rows(home, staged.file_id)] == [10, 11, 12]


def test_a_mapped_nested_boolean_is_quarantined(home, settings, tmp_path):
    mapping = {
        "columns": {
            "ts": "created",
            "endpoint": {"constant": "chat"},
            "model": "body.model",
            "input_tokens": "usage.prompt_tokens",
            "output_tokens": "usage.completion_tokens",
        }
    }
    record = {
        "created": "2026-11-02T10:00:00Z",
        "body": {"model": "m"},
        "usage": {"prompt_tokens": 4, "completion_tokens": 1},
    }
    bad = {**record, "usage": {"prompt_tokens": 4, "completion_tokens": True}}
    staged = _stage(home, settings, tmp_path, "m.jsonl", _jsonl(record, bad), "mapped", mapping=mapping)
    assert (staged.rows_staged, staged.rows_quarantined) == (1, 1)
    assert _reasons(home, staged) == ["output_tokens is a boolean (true), not a number"]
