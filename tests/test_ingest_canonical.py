"""Canonical and mapped formats through real landing + staging: exact values, bad rows, privacy."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines.core.errors import ModeshiftError
from pipelines.ingest.landing import land_file
from tests.helpers import land_and_stage, staged_rows

GOOD_ROW = {
    "request_id": "r-1",
    "ts": "2026-11-02T10:00:00.250Z",
    "endpoint": "chat",
    "model": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "input_tokens": 1200,
    "output_tokens": 300,
    "cached_input_tokens": 100,
    "latency_ms": 812.5,
    "ttft_ms": 95.0,
    "ok": True,
    "stream": True,
    "interactive": None,
    "client": "team-search",
    "deployment_mode": "serverless",
    "billed_cost_usd": 0.0013,
    "prompt": "PROMPT-CANARY tell me a secret",
    "completion": "COMPLETION-CANARY here it is",
}


def write_jsonl(path: Path, rows: list[object], gz: bool = False) -> Path:
    text = "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def test_canonical_jsonl_lands_exact_values(home, settings, tmp_path):
    staged = land_and_stage(home, settings, write_jsonl(tmp_path / "a.jsonl", [GOOD_ROW]), "canonical")
    assert (staged.rows_in, staged.rows_quarantined, staged.rows_by_day) == (1, 0, {"2026-11-02": 1})
    row = staged_rows(home, staged.file_id)[0]
    assert row["request_id"] == "r-1"
    assert row["ts"] == datetime(2026, 11, 2, 10, 0, 0, 250000, tzinfo=UTC)
    assert (row["input_tokens"], row["output_tokens"], row["cached_input_tokens"]) == (1200, 300, 100)
    assert (row["latency_ms"], row["ttft_ms"], row["billed_cost_usd"]) == (812.5, 95.0, 0.0013)
    assert (row["ok"], row["stream"], row["interactive"]) == (True, True, None)
    assert (row["client"], row["deployment_mode"], row["source_line"]) == ("team-search", "serverless", 1)
    assert "prompt" not in row and "completion" not in row


def test_canonical_csv_and_parquet_read_the_same_rows(home, settings, tmp_path):
    frame = pl.DataFrame([{k: v for k, v in GOOD_ROW.items() if k not in ("prompt", "completion")}])
    frame.write_csv(tmp_path / "a.csv")
    frame.write_parquet(tmp_path / "a.parquet")
    from_csv = staged_rows(home, land_and_stage(home, settings, tmp_path / "a.csv", "canonical").file_id)
    from_parquet = staged_rows(
        home, land_and_stage(home, settings, tmp_path / "a.parquet", "canonical").file_id
    )
    for rows in (from_csv, from_parquet):
        assert len(rows) == 1
        assert rows[0]["ts"] == datetime(2026, 11, 2, 10, 0, 0, 250000, tzinfo=UTC)
        assert (rows[0]["input_tokens"], rows[0]["output_tokens"], rows[0]["endpoint"]) == (1200, 300, "chat")


def test_gzip_is_read_transparently(home, settings, tmp_path):
    staged = land_and_stage(
        home, settings, write_jsonl(tmp_path / "a.jsonl.gz", [GOOD_ROW] * 3, gz=True), "canonical"
    )
    assert staged.rows_in == 3 and staged.rows_staged == 3


BAD_ROWS: list[tuple[object, str]] = [
    ("this is not json", "unreadable line"),
    ("[1, 2, 3]", "unreadable line"),
    ({**GOOD_ROW, "ts": "yesterday"}, "unreadable timestamp"),
    ({**GOOD_ROW, "ts": None}, "missing timestamp"),
    ({**GOOD_ROW, "ts": "1969-07-20T20:17:00Z"}, "before the configured start date"),
    ({**GOOD_ROW, "ts": "2100-01-01T00:00:00Z"}, "in the future"),
    ({**GOOD_ROW, "endpoint": None}, "missing endpoint"),
    ({**GOOD_ROW, "endpoint": "   "}, "missing endpoint"),
    ({**GOOD_ROW, "endpoint": "bad\u0007name"}, "control characters"),
    ({**GOOD_ROW, "model": None}, "missing model"),
    ({**GOOD_ROW, "input_tokens": -1}, "input_tokens -1.0 is not a non-negative integer"),
    ({**GOOD_ROW, "input_tokens": 2.5}, "input_tokens 2.5 is not"),
    ({**GOOD_ROW, "input_tokens": "lots"}, "input_tokens is missing or not a number"),
    ({**GOOD_ROW, "input_tokens": 2**63}, "is not a non-negative integer below 10^12"),
    ({**GOOD_ROW, "output_tokens": None}, "output_tokens is missing or not a number"),
    ({**GOOD_ROW, "cached_input_tokens": -3}, "cached_input_tokens"),
    ({**GOOD_ROW, "cached_input_tokens": 1201}, "cached_input_tokens 1201 exceeds input_tokens 1200"),
    ({**GOOD_ROW, "latency_ms": -5}, "latency_ms"),
    ({**GOOD_ROW, "ok": "maybe"}, "ok 'maybe' is not a boolean"),
    ({**GOOD_ROW, "deployment_mode": "spot"}, "deployment_mode 'spot'"),
]


def test_every_bad_row_is_quarantined_with_its_reason_and_nothing_is_lost(home, settings, tmp_path):
    rows = (
        [GOOD_ROW]
        + [row for row, _ in BAD_ROWS]
        + [{**GOOD_ROW, "input_tokens": "120", "billed_cost_usd": "n/a"}]
    )
    staged = land_and_stage(home, settings, write_jsonl(tmp_path / "bad.jsonl", rows), "canonical")
    assert staged.rows_in == len(rows)
    assert staged.rows_in == staged.rows_staged + staged.rows_quarantined
    assert (
        staged.rows_staged == 2
    )  # the good row, and one with a numeric string for tokens (a text cost is absent)
    assert [r["billed_cost_usd"] for r in staged_rows(home, staged.file_id)] == [0.0013, None]
    quarantined = staged_rows(home, staged.file_id, accepted=False)
    reasons = {row["source_line"]: row["quarantine_reason"] for row in quarantined}
    for line, (_, expected) in enumerate(BAD_ROWS, start=2):
        assert expected in reasons[line], (line, reasons[line])
    assert all("CANARY" not in (row["raw"] or "") for row in quarantined)


def test_numeric_timestamps_use_the_configured_unit_never_a_guess(home, settings, tmp_path):
    rows = [{**GOOD_ROW, "ts": 1793613600}, {**GOOD_ROW, "ts": 1793613600000}]
    staged = land_and_stage(
        home, settings, write_jsonl(tmp_path / "s.jsonl", rows), "canonical", {"ts_unit": "s"}
    )
    accepted = staged_rows(home, staged.file_id)
    assert [r["ts"] for r in accepted] == [datetime(2026, 11, 2, 10, 0, tzinfo=UTC)]
    assert (
        staged.rows_quarantined == 1
    )  # milliseconds read as seconds: far in the future, not silently rescaled


def test_mapped_format_reads_nested_json_with_constants_and_an_anchor(home, settings, tmp_path):
    rows = [
        {
            "t": 1500,
            "body": {"model": "m-1"},
            "usage": {"prompt_tokens": 7, "completion_tokens": 3},
            "id": "x",
        },
        {
            "t": 61000,
            "body": {"model": "m-1"},
            "usage": {"prompt_tokens": 9, "completion_tokens": 0},
            "id": "y",
        },
    ]
    mapping = {
        "columns": {
            "request_id": "id",
            "ts": "t",
            "endpoint": {"constant": "chat-prod"},
            "model": "body.model",
            "input_tokens": "usage.prompt_tokens",
            "output_tokens": "usage.completion_tokens",
        },
        "timestamp": {"unit": "ms", "anchor": "2026-11-02T00:00:00Z"},
    }
    path = write_jsonl(tmp_path / "m.jsonl", rows)
    staged = land_and_stage(home, settings, path, "mapped", {"mapping": mapping})
    accepted = staged_rows(home, staged.file_id)
    assert [
        (r["request_id"], r["endpoint"], r["model"], r["input_tokens"], r["output_tokens"]) for r in accepted
    ] == [
        ("x", "chat-prod", "m-1", 7, 3),
        ("y", "chat-prod", "m-1", 9, 0),
    ]
    assert [r["ts"] for r in accepted] == [
        datetime(2026, 11, 2, 0, 0, 1, 500000, tzinfo=UTC),
        datetime(2026, 11, 2, 0, 1, 1, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (None, "needs a mapping file"),
        ({"columns": {"tokens": "x"}}, "not a request column"),
        ({"columns": {"ts": "t"}}, "does not map the required"),
        ({"columns": {"ts": ["a"]}}, "must be a field name"),
    ],
)
def test_bad_mappings_are_refused_at_landing(home, tmp_path, mapping, message):
    path = write_jsonl(tmp_path / "m.jsonl", [GOOD_ROW])
    with pytest.raises(ModeshiftError, match=message):
        land_file(home, path, "mapped", {"mapping": mapping} if mapping else {})


def test_api_keys_are_kept_only_as_a_salted_hash_and_text_never_stored(home, settings, tmp_path):
    rows = [{**GOOD_ROW, "client": None, "api_key": "sk-live-KEYCANARY"}]
    staged = land_and_stage(home, settings, write_jsonl(tmp_path / "k.jsonl", rows), "canonical")
    row = staged_rows(home, staged.file_id)[0]
    assert row["client"].startswith("key-") and "KEYCANARY" not in row["client"]
    for path in home.lake.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert (
                b"KEYCANARY" not in data and b"PROMPT-CANARY" not in data and b"COMPLETION-CANARY" not in data
            )


def test_a_truncated_gzip_keeps_the_rows_before_the_cut(home, settings, tmp_path):
    data = gzip.compress(
        "".join(json.dumps({**GOOD_ROW, "request_id": f"r{i}"}) + "\n" for i in range(400)).encode()
    )
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    staged = land_and_stage(home, settings, path, "canonical")
    assert staged.rows_staged > 50
    assert staged.rows_in == staged.rows_staged + staged.rows_quarantined
    assert "truncated" in " ".join(staged.top_reasons)
    assert staged.note and "record by record" in staged.note


def test_invalid_utf8_and_a_bom_and_crlf(home, settings, tmp_path):
    good = json.dumps(GOOD_ROW).encode()
    path = tmp_path / "enc.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + good + b"\r\n" + b'{"ts": "\xff\xfe"}\r\n' + good.replace(b"r-1", b"r-2") + b"\r\n"
    )
    staged = land_and_stage(home, settings, path, "canonical")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (3, 2, 1)


def _parquet_with_ts(path: Path, ts_sql: str) -> Path:
    """Six canonical rows as Parquet whose ``ts`` column is ``ts_sql`` over the instants below (typed or text)."""
    import duckdb

    with duckdb.connect() as con:
        con.sql("SET TimeZone = 'UTC'")
        con.sql(
            f"""COPY (SELECT 'r' || n AS request_id, {ts_sql} AS ts, 'chat' AS endpoint, 'm' AS model,
                    10 AS input_tokens, 2 AS output_tokens
                FROM (VALUES (1, TIMESTAMPTZ '2026-11-03 10:00:00.123456+00'),
                             (2, TIMESTAMPTZ '2026-11-03 23:59:59.999999+00'),
                             (3, TIMESTAMPTZ '2026-11-04 00:00:00+00'),
                             (4, NULL),
                             (5, TIMESTAMPTZ 'infinity'),
                             (6, TIMESTAMPTZ '2017-01-01 00:00:00+00')) AS t(n, instant))
                TO '{path}' (FORMAT parquet)"""  # noqa: S608 - the test's own fixed SQL
        )
    return path


@pytest.mark.parametrize(
    "typed",
    ["instant", "CAST(instant AS TIMESTAMP)"],
    ids=["timestamptz", "naive-timestamp"],
)
def test_a_parquet_timestamp_column_stages_exactly_as_its_text_would(home, settings, tmp_path, typed):
    # the instants are read as they are (no text round trip); every value, day, reason and raw copy is the same
    as_text = land_and_stage(
        home, settings, _parquet_with_ts(tmp_path / "text.parquet", "CAST(instant AS VARCHAR)"), "canonical"
    )
    native = land_and_stage(home, settings, _parquet_with_ts(tmp_path / "typed.parquet", typed), "canonical")
    assert (native.rows_in, native.rows_quarantined, native.rows_by_day) == (
        6,
        3,
        {"2026-11-03": 2, "2026-11-04": 1},
    )
    assert native.top_reasons == as_text.top_reasons
    for accepted in (True, False):
        ignore = {"source_file", "landed_at_ns"}
        text_rows = [
            {k: v for k, v in r.items() if k not in ignore}
            for r in staged_rows(home, as_text.file_id, accepted)
        ]
        typed_rows = [
            {k: v for k, v in r.items() if k not in ignore}
            for r in staged_rows(home, native.file_id, accepted)
        ]
        assert typed_rows == text_rows
    reasons = [r["quarantine_reason"] for r in staged_rows(home, native.file_id, accepted=False)]
    assert (
        reasons[0] == "missing timestamp"
        and "is not a finite time" in reasons[1]
        and "start date" in reasons[2]
    )


def test_an_epoch_unit_still_refuses_a_timestamp_column_as_before(home, settings, tmp_path):
    staged = land_and_stage(
        home, settings, _parquet_with_ts(tmp_path / "typed.parquet", "instant"), "canonical", {"ts_unit": "s"}
    )
    assert staged.rows_quarantined == 6  # an instant is not a number of seconds
    assert any("unreadable timestamp '2026-11-03 10:00:00.123456+00'" in r for r in staged.top_reasons)
