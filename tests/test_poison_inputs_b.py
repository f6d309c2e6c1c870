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
from tests.helpers import derived_id_prefix, land_and_stage, staged_rows

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
    "json text 'TRUE'": ("canonical", {**GOOD, "input_tokens": "TRUE"}, "input_tokens is a boolean (true)"),
    "json text 'False'": ("canonical", {**GOOD, "latency_ms": "False"}, "latency_ms is a boolean (false)"),
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


# ---------------------------------------------------------------------------------------------------------------
# Item 7: decompression bombs and records past the cap are refused, streaming, never inflated into memory
# ---------------------------------------------------------------------------------------------------------------


def _small_caps(home: Home, **values: int) -> Settings:
    """Settings of ``home`` with ingest caps overridden (through config.yaml, as a user would)."""
    import yaml

    ingest = {"gzip_max_ratio": 10, "gzip_min_cap_bytes": 200_000, "max_record_bytes": 1000, **values}
    home.config_file.write_text(yaml.safe_dump({"ingest": ingest}))
    return Settings.load(home)


BOMBS: dict[str, tuple[str, bytes]] = {
    "NUL bytes": (".jsonl.gz", gzip.compress(b"\0" * 3_000_000)),
    "valid JSON lines": (".jsonl.gz", gzip.compress(_jsonl(GOOD) * 40_000)),
    "CSV rows": (".csv.gz", gzip.compress(b"ts,endpoint,model,input_tokens,output_tokens\n" + b"2026-11-02T10:00:00Z,e,m,1,1\n" * 40_000)),
    "concatenated gzip members": (".jsonl.gz", b"".join(gzip.compress(_jsonl(GOOD) * 4000) for _ in range(10))),
    "newlines only": (".jsonl.gz", gzip.compress(b"\n" * 3_000_000)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_gzip_past_the_decompression_cap_is_refused_as_one_row_with_the_reason(home, tmp_path, name):
    settings = _small_caps(home)
    suffix, data = BOMBS[name]
    staged = _stage(home, settings, tmp_path, "bomb" + suffix, data)
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (1, 0, 1)
    [reason] = _reasons(home, staged)
    assert reason.startswith("decompression bomb: the gzip stream inflates to more than 200,000 bytes"), (
        reason
    )
    assert staged.note and "decompression bomb" in staged.note  # visible in ingest_log.note


def test_the_cap_is_the_ratio_above_the_floor_and_a_file_under_it_is_read(home, tmp_path):
    # 4.08 MB of records; each call of stage() below lands other bytes (another file)
    records = _jsonl(GOOD) * 40_000
    assert len(records) == 4_080_000

    def stage(level: int, **caps: int) -> StagedFile:
        settings = _small_caps(home, **caps)
        data = gzip.compress(records, compresslevel=level, mtime=level)  # never the same bytes twice
        return _stage(home, settings, tmp_path, f"l{level}.jsonl.gz", data)

    assert stage(1, gzip_max_ratio=2000).rows_staged == 40_000  # the ratio allows it
    assert stage(2, gzip_min_cap_bytes=4_100_000).rows_staged == 40_000  # the floor allows it
    refused = stage(3, gzip_min_cap_bytes=4_000_000)  # neither does
    assert (refused.rows_in, refused.rows_quarantined) == (1, 1)
    plain = _stage(
        home, _small_caps(home), tmp_path, "c.jsonl", records
    )  # a plain file has nothing to inflate
    assert plain.rows_staged == 40_000


def test_the_decompression_check_streams_in_bounded_memory(tmp_path):
    import tracemalloc

    from pipelines.ingest.formats.content import inspect_content

    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(gzip.compress(b"\0" * 60_000_000, compresslevel=1))
    tracemalloc.start()
    try:
        content = inspect_content(path, ".jsonl.gz", "0" * 64, max_decompressed_bytes=100_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert content.refusal is None and content.decompressed_bytes == 60_000_000
    assert peak < 8_000_000, peak  # a 60 MB stream checked with a few MB


RECORD_CAP_CASES: dict[str, tuple[str, bytes, int]] = {
    # a truncated gzip stream sends each file through the record-by-record reader
    "json line": (".jsonl.gz", _jsonl(GOOD, {**GOOD, "prompt": "x" * 5000}, GOOD), 2),
    "json line of NULs": (".jsonl.gz", _jsonl(GOOD) + b"\0" * 50_000 + b"\n" + _jsonl(GOOD), 2),
    "csv line": (".csv.gz", b"ts,endpoint,model,input_tokens,output_tokens\n2026-11-02T10:00:00Z,e,m,1,1\n"
                 b"2026-11-02T10:00:00Z," + b"e" * 5000 + b",m,1,1\n2026-11-02T10:00:00Z,e,m,1,1\n", 2),
    "json array element": (".json.gz", b"[" + json.dumps(GOOD).encode() + b"," + json.dumps({**GOOD, "p": "x" * 5000}).encode() + b"]", 1),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(RECORD_CAP_CASES))
def test_a_record_past_the_length_cap_is_one_quarantined_row(home, tmp_path, name):
    suffix, data, good_rows = RECORD_CAP_CASES[name]
    settings = _small_caps(home, gzip_min_cap_bytes=10_000_000)
    tail = _jsonl(GOOD) * 50 if "json line" in name else b""
    if suffix == ".csv.gz":
        tail = b"2026-11-02T10:00:00Z,e,m,1,1\n" * 50
    staged = _stage(home, settings, tmp_path, "long" + suffix, gzip.compress(data + tail)[:-12])
    reasons = _reasons(home, staged)
    assert any("longer than 1,000 bytes" in r for r in reasons), reasons
    assert staged.rows_staged >= good_rows


def test_the_salvage_reader_skips_a_huge_line_in_bounded_memory(tmp_path):
    import tracemalloc

    from pipelines.ingest.formats.salvage import salvage_to_parquet

    path = tmp_path / "nul.jsonl"
    path.write_bytes(_jsonl(GOOD) + b"\0" * 40_000_000 + b"\n" + _jsonl(GOOD))
    tracemalloc.start()
    try:
        out = salvage_to_parquet(path, "jsonl", ["ts", "endpoint"], tmp_path, max_record_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    table = pq.read_table(out).to_pylist()
    assert [row["__modeshift_parse_error"] for row in table] == [
        None,
        "record longer than 1,000,000 bytes (setting ingest.max_record_bytes): skipped",
        None,
    ]
    assert [row["source_line"] for row in table] == [1, 2, 3]
    assert peak < 6_000_000, peak


# ---------------------------------------------------------------------------------------------------------------
# Item 16: a file that is not what its name says gets a file-level reason; a JSON array is read as records
# ---------------------------------------------------------------------------------------------------------------


def _zip_bytes(tmp_path: Path) -> bytes:
    import zipfile

    out = tmp_path / "made.zip"
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("logs.jsonl", _jsonl(GOOD) * 10)
    return out.read_bytes()


MISNAMED: dict[str, tuple[str, str, str]] = {
    "zip named .jsonl.gz": (".jsonl.gz", "zip", "not gzip: looks like a zip archive"),
    "JSON lines named .jsonl.gz": (
        ".jsonl.gz",
        "jsonl",
        "not gzip: looks like plain text (JSON) (name it .jsonl)",
    ),
    "CSV named .csv.gz": (".csv.gz", "csv", "not gzip: looks like plain text (name it .csv)"),
    "Parquet named .csv.gz": (".csv.gz", "parquet", "not gzip: looks like a Parquet file"),
    "gzip named .jsonl": (".jsonl", "gzip", "not a text file: looks like a gzip stream (name it .jsonl.gz)"),
    "zip named .csv": (".csv", "zip", "not a text file: looks like a zip archive"),
    "bzip2 named .json.gz": (".json.gz", "bzip2", "not gzip: looks like a bzip2 stream"),
}


@pytest.mark.parametrize("name", sorted(MISNAMED))
def test_a_file_that_is_not_what_its_name_says_is_one_row_saying_what_it_is(home, settings, tmp_path, name):
    import bz2

    suffix, kind, reason = MISNAMED[name]
    data = {
        "zip": _zip_bytes(tmp_path),
        "jsonl": _jsonl(GOOD) * 10,
        "csv": b"ts,endpoint,model,input_tokens,output_tokens\n2026-11-02T10:00:00Z,e,m,1,1\n",
        "parquet": _parquet_bytes(tmp_path, {"ts": pa.array(["2026-11-02T10:00:00Z"])}),
        "gzip": gzip.compress(_jsonl(GOOD) * 10),
        "bzip2": bz2.compress(_jsonl(GOOD) * 10),
    }[kind]
    staged = _stage(home, settings, tmp_path, "file" + suffix, data)
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (1, 0, 1)
    assert _reasons(home, staged) == [reason]
    assert staged.note == f"refused as a whole: {reason}"


ARRAYS: dict[str, tuple[str, bytes, int, int, str | None]] = {
    # name -> (suffix, bytes, rows staged, rows quarantined, a quarantine reason expected)
    "one line": (".json", json.dumps([GOOD, GOOD, GOOD]).encode(), 3, 0, None),
    "pretty-printed": (".json", json.dumps([GOOD, GOOD], indent=2).encode(), 2, 0, None),
    "gzipped, BOM and blanks": (".json.gz", gzip.compress(b"\xef\xbb\xbf\n  " + json.dumps([GOOD] * 5).encode() + b"\n"), 5, 0, None),
    "empty": (".json", b"[]", 0, 0, None),
    "non-object element": (".json", json.dumps([GOOD, 7, GOOD]).encode(), 2, 1, "element of the JSON array"),
    "named .jsonl": (".jsonl", json.dumps([GOOD] * 4, indent=1).encode(), 4, 0, None),
    "cut short": (".json", json.dumps([GOOD] * 4, indent=1).encode()[:-20], 3, 1, "unreadable JSON array at record 4"),
    "missing closing bracket": (".json", json.dumps([GOOD] * 4).encode()[:-1], 4, 1, "without its closing ']'"),
    "garbage between elements": (".json", b"[" + json.dumps(GOOD).encode() + b" x " + json.dumps(GOOD).encode() + b"]", 1, 1, "expected ',' or ']'"),
    "trailing comma, no closing bracket": (".json", b"[" + json.dumps(GOOD).encode() + b', "s", ' + json.dumps(GOOD).encode() + b",", 2, 1, "element of the JSON array"),
    "non-object element, salvaged": (".json", b"[" + json.dumps(GOOD).encode() + b', "s", ' + json.dumps(GOOD).encode(), 2, 2, "not an object (a str)"),
    "gzip cut short": (".json.gz", gzip.compress(json.dumps([GOOD] * 300).encode())[:-30], 200, 1, "truncated"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_a_top_level_json_array_is_read_as_records(home, settings, tmp_path, name):
    suffix, data, rows_staged, rows_quarantined, reason = ARRAYS[name]
    staged = _stage(home, settings, tmp_path, "export" + suffix, data)
    assert staged.rows_staged >= rows_staged if "gzip cut" in name else staged.rows_staged == rows_staged
    assert staged.rows_quarantined == rows_quarantined, _reasons(home, staged)
    if reason is not None:
        assert any(reason in r for r in _reasons(home, staged)), _reasons(home, staged)
    assert [r["source_line"] for r in staged_rows(home, staged.file_id)] == sorted(
        r["source_line"] for r in staged_rows(home, staged.file_id)
    )


def test_json_lines_whose_first_record_is_an_array_are_still_read_line_by_line(home, settings, tmp_path):
    staged = _stage(home, settings, tmp_path, "lines.jsonl", b"[1, 2]\n" + _jsonl(GOOD, GOOD))
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (3, 2, 1)


def test_a_litellm_export_as_a_json_array_is_read(home, settings, tmp_path):
    record = {"startTime": "2026-11-02T10:00:00Z", "model": "m", "prompt_tokens": 5, "completion_tokens": 3}
    staged = _stage(
        home, settings, tmp_path, "spend.json", json.dumps([record] * 3, indent=2).encode(), "litellm"
    )
    assert (staged.rows_in, staged.rows_staged) == (3, 3)


# ---------------------------------------------------------------------------------------------------------------
# Item 15: a derived request id comes from the decompressed content: the same log plain and gzipped counts once
# ---------------------------------------------------------------------------------------------------------------


def _merge(home: Home, staged: list[StagedFile]) -> tuple[int, int]:
    """Merge every day the staged files touch; return (rows accepted, rows refused as duplicates)."""
    from pipelines.ingest.day_merge import merge_day

    days = sorted({day for s in staged for day in s.rows_by_day})
    merged = [merge_day(home, day) for day in days]
    assert sum(m.rows_in for m in merged) == sum(m.accepted + m.quarantined for m in merged)
    return sum(m.accepted for m in merged), sum(m.quarantined for m in merged)


def _log_without_ids(rows: int = 50) -> bytes:
    return b"".join(
        json.dumps({**GOOD, "ts": f"2026-11-0{2 + i % 3}T10:00:{i % 60:02d}Z", "input_tokens": i}).encode()
        + b"\n"
        for i in range(rows)
    )


SAME_CONTENT: dict[str, tuple[tuple[str, bytes], ...]] = {
    "plain then gzip": ((".jsonl", _log_without_ids()), (".jsonl.gz", gzip.compress(_log_without_ids()))),
    "gzip then plain": ((".jsonl.gz", gzip.compress(_log_without_ids())), (".jsonl", _log_without_ids())),
    "gzip level 1 and 9": (
        (".jsonl.gz", gzip.compress(_log_without_ids(), compresslevel=1)),
        (".jsonl.gz", gzip.compress(_log_without_ids(), compresslevel=9, mtime=12345)),
    ),
    "one gzip member and two": (
        (".jsonl.gz", gzip.compress(_log_without_ids())),
        (".jsonl.gz", gzip.compress(_log_without_ids()[:1000]) + gzip.compress(_log_without_ids()[1000:])),
    ),
    "csv plain and gzip": (
        (".csv", b"ts,endpoint,model,input_tokens,output_tokens\n" + b"2026-11-02T10:00:00Z,e,m,3,1\n" * 20),
        (".csv.gz", gzip.compress(b"ts,endpoint,model,input_tokens,output_tokens\n" + b"2026-11-02T10:00:00Z,e,m,3,1\n" * 20)),
    ),
    "json array plain and gzip": (
        (".json", json.dumps([GOOD] * 20).encode()),
        (".json.gz", gzip.compress(json.dumps([GOOD] * 20).encode())),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SAME_CONTENT))
def test_the_same_records_plain_and_gzipped_get_the_same_ids_and_count_once(home, settings, tmp_path, name):
    (first_suffix, first), (second_suffix, second) = SAME_CONTENT[name]
    a = _stage(home, settings, tmp_path, "a" + first_suffix, first)
    b = _stage(home, settings, tmp_path, "b" + second_suffix, second)
    assert a.file_id != b.file_id and a.rows_staged == b.rows_staged > 0
    ids_a = [r["request_id"] for r in staged_rows(home, a.file_id)]
    assert ids_a == [r["request_id"] for r in staged_rows(home, b.file_id)]
    assert _merge(home, [a, b]) == (a.rows_staged, b.rows_staged)  # the second copy is refused as duplicates


def test_different_content_never_shares_derived_ids(home, settings, tmp_path):
    a = _stage(home, settings, tmp_path, "a.jsonl.gz", gzip.compress(_log_without_ids(30)))
    b = _stage(home, settings, tmp_path, "b.jsonl.gz", gzip.compress(_log_without_ids(31)))
    assert _merge(home, [a, b]) == (61, 0)
    plain = _stage(home, settings, tmp_path, "c.jsonl", _jsonl(GOOD))
    # plain ids are the content's digest and the record number, as for the gzipped files
    assert staged_rows(home, plain.file_id)[0]["request_id"] == f"{derived_id_prefix(_jsonl(GOOD))}:1"


# ---------------------------------------------------------------------------------------------------------------
# Item 17: LiteLLM calls served from the proxy cache are neither model load nor spend
# ---------------------------------------------------------------------------------------------------------------


def _spend_log(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "request_id": f"call-{i}",
        "startTime": f"2026-11-02T10:00:{i:02d}Z",
        "endTime": f"2026-11-02T10:00:{i:02d}.5Z",
        "model": "gpt-4o",
        "prompt_tokens": 100,
        "completion_tokens": 10,
        "spend": 0.25,
        "messages": "PROMPT TEXT",
        **fields,
    }


CACHE_VALUES: dict[str, tuple[object, bool]] = {
    "json true": (True, True),
    "SpendLogs 'True'": ("True", True),
    "text ' true '": (" true ", True),
    "json false": (False, False),
    "SpendLogs 'False'": ("False", False),
    "empty text": ("", False),
    "null": (None, False),
}


@pytest.mark.parametrize("name", sorted(CACHE_VALUES))
def test_a_litellm_cache_hit_is_quarantined_and_a_miss_is_kept(home, settings, tmp_path, name):
    value, is_hit = CACHE_VALUES[name]
    records = [_spend_log(0, cache_hit="False"), _spend_log(1, cache_hit=value), _spend_log(2)]
    staged = _stage(home, settings, tmp_path, "spend.jsonl", _jsonl(*records), "litellm")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (3, 3 - is_hit, int(is_hit))
    accepted = staged_rows(home, staged.file_id)
    assert sum(r["billed_cost_usd"] for r in accepted) == pytest.approx(0.25 * (3 - is_hit))
    assert sum(r["input_tokens"] for r in accepted) == 100 * (3 - is_hit)
    if is_hit:
        assert _reasons(home, staged) == [
            "served from the proxy cache (cache_hit): no model load, no list spend"
        ]
        assert "call-1" not in {r["request_id"] for r in accepted}


def test_litellm_cache_hits_in_a_csv_export_and_a_gzip_are_quarantined(home, settings, tmp_path):
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(_spend_log(0, cache_hit="")))
    writer.writeheader()
    for i, hit in enumerate(["True", "False", "True", ""]):
        writer.writerow(_spend_log(i, cache_hit=hit))
    staged = _stage(home, settings, tmp_path, "spend.csv", out.getvalue().encode(), "litellm")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (4, 2, 2)
    gz = gzip.compress(_jsonl(*[_spend_log(i, cache_hit=i % 2 == 0) for i in range(10)]))
    staged = _stage(home, settings, tmp_path, "spend.jsonl.gz", gz, "litellm")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (10, 5, 5)
    # the day holds the CSV's kept call-1 and call-3 and the gzip's call-1, 3, 5, 7, 9: two repeated ids
    assert _merge(home, [staged]) == (5, 2)


# ---------------------------------------------------------------------------------------------------------------
# Item 8: file names that are not UTF-8 survive every table, manifest, log line and message, escaped
# ---------------------------------------------------------------------------------------------------------------

# Names as Linux hands them to Python (surrogateescape), and the escaped text modeshift shows for each.
RAW_NAMES: dict[bytes, str] = {
    b"logs-\xff\xfe.jsonl": "logs-\\xff\\xfe.jsonl",
    b"caf\xc3\xa9-\xe9t\xe9.jsonl": "café-\\xe9t\\xe9.jsonl",  # valid UTF-8 kept, Latin-1 bytes escaped
    b"cut-\xe2\x82.jsonl.gz": "cut-\\xe2\\x82.jsonl.gz",  # a multi-byte character cut short
}


def test_escape_name_is_valid_text_idempotent_and_keeps_valid_names():
    import os

    from pipelines.core.text import escape_name

    for raw, shown in RAW_NAMES.items():
        name = os.fsdecode(raw)
        assert escape_name(name) == shown
        assert escape_name(escape_name(name)) == shown
        shown.encode("utf-8")  # never raises
    assert escape_name("a\ud800b") == "a\\ud800b"  # a lone surrogate that is no escaped byte
    assert escape_name("plain-名前 é.jsonl") == "plain-名前 é.jsonl"


def test_non_utf8_file_names_go_through_ingest_materialize_warehouse_and_publish(
    home, tmp_path, monkeypatch, capsys
):
    import os

    import duckdb

    from pipelines.app.cli import main
    from pipelines.app.runner import materialize_pending
    from pipelines.delivery.publish import analytics_path

    monkeypatch.setenv("DAGSTER_HOME", str(home.root / "dagster"))
    source = tmp_path / "incoming"
    source.mkdir()
    for i, raw in enumerate(RAW_NAMES):
        data = _jsonl(*({**GOOD, "request_id": f"r{i}-{j}", "input_tokens": i + 1} for j in range(3)))
        path = source / os.fsdecode(raw)
        path.write_bytes(gzip.compress(data) if raw.endswith(b".gz") else data)
    (source / os.fsdecode(b"archive-\xff.jsonl.gz")).write_bytes(_zip_bytes(tmp_path))  # refused as a whole
    assert main(["ingest", "--format", "canonical", str(source)]) == 0  # stdout is strict UTF-8 under capsys
    printed = capsys.readouterr().out
    assert all(shown in printed for shown in RAW_NAMES.values()), printed
    summary = materialize_pending(home, progress=print)
    assert "\\xff\\xfe" in capsys.readouterr().out
    assert summary.runs
    with duckdb.connect(str(analytics_path(home)), read_only=True) as con:
        log = con.sql(
            "SELECT original_name, rows_in, rows_accepted, rows_quarantined, note FROM ingest_log "
            "ORDER BY original_name"
        ).fetchall()
        requests = con.sql("SELECT count(*) FROM requests").fetchall()[0][0]
        reasons = con.sql("SELECT reason FROM quarantine").fetchall()
    by_name = {name: rest for name, *rest in log}
    assert sorted(by_name) == sorted([*RAW_NAMES.values(), "archive-\\xff.jsonl.gz"])
    assert by_name.pop("archive-\\xff.jsonl.gz") == [
        1,
        0,
        1,
        "refused as a whole: not gzip: looks like a zip archive",
    ]
    assert all(counts == [3, 3, 0, None] for counts in by_name.values())
    assert requests == 9 and reasons == [("not gzip: looks like a zip archive",)]
    manifests = [p.read_bytes() for p in home.landing.glob("*.manifest.json")]
    manifests += [p.read_bytes() for p in home.staged.glob("*/_manifest.json")]
    assert len(manifests) == 8 and all(b"\\udc" not in m for m in manifests)  # no raw surrogate escapes
    assert sum(b"\\\\xff" in m for m in manifests) == 4  # the escaped names, written as JSON


def test_a_manifest_written_with_a_raw_name_reads_back_escaped(home, settings, tmp_path):
    import os

    from pipelines.core.atomic import read_json, write_json
    from pipelines.ingest.landing import get_landed_file, manifest_path
    from pipelines.ingest.staging import read_staged

    staged = _stage(home, settings, tmp_path, "x.jsonl", _jsonl(GOOD))
    raw = os.fsdecode(b"old-\xff.jsonl")  # as a modeshift before this fix wrote it
    for path in (manifest_path(home, staged.file_id), home.staged / staged.file_id / "_manifest.json"):
        write_json(path, {**read_json(path), "original_name": raw})
    assert get_landed_file(home, staged.file_id).original_name == "old-\\xff.jsonl"
    assert read_staged(home, staged.file_id).original_name == "old-\\xff.jsonl"


def test_a_missing_or_untyped_non_utf8_path_is_one_clear_escaped_error(home, tmp_path, capsys):
    import os

    from pipelines.app.cli import main

    assert (
        main(["ingest", "--format", "canonical", os.fsdecode(str(tmp_path).encode() + b"/gone-\xff.jsonl")])
        == 2
    )
    assert "gone-\\xff.jsonl does not exist" in capsys.readouterr().err
    untyped = tmp_path / os.fsdecode(b"notes-\xfe.txt")
    untyped.write_bytes(b"x")
    assert main(["ingest", "--format", "canonical", str(untyped)]) == 2
    assert "Cannot tell the file type of notes-\\xfe.txt" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("burstgpt", {"anchor": "2026-11-02T00:00:00Z"}),
        ("azure-trace", {"endpoint": "code"}),
        ("litellm", {}),
    ],
)
def test_every_format_refuses_a_misnamed_file_and_a_bomb_the_same_way(home, tmp_path, fmt, options):
    settings = _small_caps(home)
    suffix = ".jsonl.gz" if fmt == "litellm" else ".csv.gz"
    staged = _stage(home, settings, tmp_path, "zip" + suffix, _zip_bytes(tmp_path), fmt, **options)
    assert (staged.rows_in, staged.rows_quarantined) == (1, 1)
    assert _reasons(home, staged) == ["not gzip: looks like a zip archive"]
    staged = _stage(
        home, settings, tmp_path, "bomb" + suffix, gzip.compress(b"\0" * 3_000_000), fmt, **options
    )
    assert (staged.rows_in, staged.rows_quarantined) == (1, 1)
    assert _reasons(home, staged)[0].startswith("decompression bomb")


# ---------------------------------------------------------------------------------------------------------------
# Parts A and B together: the record cap inside ingest-a's CSV field limits, and the independent count of ingest-a
# for what part B reads (JSON arrays, files refused as a whole)
# ---------------------------------------------------------------------------------------------------------------

CSV_HEADER = b"ts,endpoint,model,input_tokens,output_tokens,prompt\n"
CSV_GOOD_LINE = b"2026-11-02T10:00:00Z,e,m,1,2,hi\n"


def test_an_open_quote_running_into_a_line_past_the_cap_refuses_both_lines_and_keeps_the_rest(home, tmp_path):
    settings = _small_caps(home, gzip_min_cap_bytes=10_000_000)
    data = (
        CSV_HEADER
        + CSV_GOOD_LINE
        + b'2026-11-02T10:00:00Z,e,m,1,2,"open\n'
        + b"x" * 5000
        + b"\n"
        + CSV_GOOD_LINE * 30
    )
    staged = _stage(home, settings, tmp_path, "q.csv", data)
    assert staged.note is not None and staged.note.startswith("read record by record")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (
        33,
        31,
        2,
    )  # 33 lines after the header
    assert sorted(_reasons(home, staged)) == [
        "a quoted field runs past the record cap of 1,000 bytes (setting ingest.max_record_bytes; an unterminated "
        "quote?): this line is refused and reading goes on with the next",
        "record longer than 1,000 bytes (setting ingest.max_record_bytes): skipped",
    ]


def test_a_quoted_field_may_not_grow_past_the_record_cap_over_several_lines(tmp_path):
    from pipelines.ingest.formats.salvage import LINE_STATS_FILE, CsvLimits, salvage_to_parquet

    path = tmp_path / "q.csv"
    field = b"\n".join([b"y" * 300] * 5)  # 5 lines of 300 bytes: each under the cap, together past it
    path.write_bytes(CSV_HEADER + b'2026-11-02T10:00:00Z,e,m,1,2,"' + field + b'"\n' + CSV_GOOD_LINE * 3)
    out = salvage_to_parquet(path, "csv", ["ts", "prompt"], tmp_path, CsvLimits(), max_record_bytes=1000)
    errors = [row["__modeshift_parse_error"] for row in pq.read_table(out).to_pylist()]
    assert errors[0].startswith("a quoted field runs past the record cap of 1,000 bytes")
    assert errors[-3:] == [None, None, None]
    stats = json.loads((tmp_path / LINE_STATS_FILE).read_text())
    assert stats["lines"] == 1 + 5 + 3  # every physical line seen exactly once
    assert len(errors) == stats["lines"] - 1 - stats["empty"] - stats["inner_breaks"]


def test_the_independent_count_of_a_json_array_and_of_a_file_refused_as_a_whole(tmp_path):
    from pipelines.ingest.formats.content import inspect_content
    from pipelines.ingest.formats.physical import check_salvaged, fast_read_mismatch
    from pipelines.ingest.formats.salvage import CsvLimits

    array = tmp_path / "a.json"
    array.write_bytes(json.dumps([GOOD] * 7, indent=2).encode())  # 7 records over many lines
    content = inspect_content(array, ".json", "0" * 64, 10**9)
    assert content.json_array
    assert fast_read_mismatch(array, ".json", 7, CsvLimits(), content) is None
    assert "7 readable elements, but 6 records" in fast_read_mismatch(array, ".json", 6, CsvLimits(), content)
    check_salvaged(array, ".json", 7, tmp_path, content)
    with pytest.raises(RuntimeError, match="7 readable elements"):
        check_salvaged(array, ".json", 8, tmp_path, content)
    cut = tmp_path / "cut.json"
    cut.write_bytes(json.dumps([GOOD] * 3).encode()[:-1])  # no closing bracket: 3 elements and the damage
    check_salvaged(cut, ".json", 4, tmp_path, inspect_content(cut, ".json", "0" * 64, 10**9))

    bomb = tmp_path / "b.jsonl.gz"
    bomb.write_bytes(gzip.compress(b"\n" * 3_000_000))
    refused = inspect_content(bomb, ".jsonl.gz", "0" * 64, 100_000)
    assert refused.refusal is not None
    assert fast_read_mismatch(bomb, ".jsonl.gz", 1, CsvLimits(), refused) is None  # one record, not 3 M lines
    assert "one record, but 2" in fast_read_mismatch(bomb, ".jsonl.gz", 2, CsvLimits(), refused)
    with pytest.raises(RuntimeError, match="one record"):
        check_salvaged(bomb, ".jsonl.gz", 0, tmp_path, refused)


def test_a_zip_named_csv_is_landed_and_refused_as_a_whole(home, settings, tmp_path):
    # the ingest dry run cannot read a header from a zip named .csv: staging refuses the file as one row
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("logs.csv", (CSV_HEADER + CSV_GOOD_LINE).decode())
    staged = _stage(home, settings, tmp_path, "logs.csv", buffer.getvalue())
    assert (staged.rows_in, staged.rows_quarantined) == (1, 1)
    assert _reasons(home, staged) == ["not a text file: looks like a zip archive"]
