"""The litellm format (SpendLogs as JSONL and as CSV) through real landing + staging + normalization."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.ingest.formats import litellm
from pipelines.ingest.formats.records import RAW_COLUMNS, record_reader
from pipelines.ingest.landing import land_file
from tests.helpers import land_and_stage, staged_rows

TEXT_CANARY = "CANARY-TEXT"
KEY_CANARY = "CANARY-KEY"
API_KEY = f"sk-8f14e45fceea167a5a36dedd4bea2543{KEY_CANARY}"
SALT = "test-salt"  # MODESHIFT_SALT in tests/conftest.py

LONG_PROMPT = json.dumps(
    [
        {"role": "system", "content": "You are a careful assistant. " * 40},
        {"role": "user", "content": f'Summarize, "quoted", with commas,\nand lines: {TEXT_CANARY} ' * 50},
    ]
)
LONG_RESPONSE = json.dumps(
    {
        "id": "chatcmpl-1",
        "choices": [{"message": {"role": "assistant", "content": f"{TEXT_CANARY} done. " * 80}}],
    }
)


def spend_log(**fields: Any) -> dict[str, Any]:
    """One SpendLogs record with the fields LiteLLM writes (text fields carry the canary)."""
    record: dict[str, Any] = {
        "request_id": "chatcmpl-a1",
        "call_type": "acompletion",
        "api_key": API_KEY,
        "spend": 0.0105,
        "total_tokens": 1500,
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "startTime": "2024-05-01T10:00:00.123456Z",
        "endTime": "2024-05-01T10:00:02.623456Z",
        "completionStartTime": "2024-05-01T10:00:00.473456Z",
        "model": "gpt-4o-2024-05-13",
        "model_id": "b0f6c2",
        "model_group": "gpt-4o",
        "custom_llm_provider": "openai",
        "api_base": "https://api.openai.com/v1",
        "user": "",
        "metadata": {
            "user_api_key_alias": "search-prod",
            "usage_object": {"prompt_tokens": 1200, "prompt_tokens_details": {"cached_tokens": 256}},
        },
        "cache_hit": "False",
        "cache_key": "",
        "request_tags": ["interactive", "team:search"],
        "team_id": "team-search",
        "end_user": "",
        "requester_ip_address": "10.0.0.7",
        "messages": LONG_PROMPT,
        "response": LONG_RESPONSE,
        "session_id": "6f1c4f0e-90aa-4b7e-9b7e-1d5f3c0d2a11",
        "status": "success",
    }
    record.update(fields)
    return record


RECORDS: list[dict[str, Any]] = [
    # 1: streamed, interactive tag, cached tokens in the metadata.
    spend_log(),
    # 2: not streamed (completionStartTime = endTime), no status, batch tag, no model_group, an end user.
    spend_log(
        request_id="chatcmpl-a2",
        startTime="2024-05-01 10:00:05.000000+00:00",
        endTime="2024-05-01 10:00:06.250000+00:00",
        completionStartTime="2024-05-01 10:00:06.250000+00:00",
        model_group=None,
        status=None,
        request_tags=["Batch"],
        team_id=None,
        end_user="user-42",
        metadata={},
        spend=0.0021,
    ),
    # 3: a failure, naive times (UTC), no completionStartTime, no tags, no team or user: the key hash is the client.
    spend_log(
        request_id="chatcmpl-a3",
        startTime="2024-05-01 10:00:10",
        endTime="2024-05-01 10:00:10.5",
        completionStartTime=None,
        status="failure",
        spend=0.0,
        prompt_tokens=900,
        completion_tokens=0,
        request_tags=[],
        team_id=None,
        end_user=None,
        metadata=None,
    ),
    # 4: both signals: the interactive tag wins; an offline tag alone would say false.
    spend_log(request_id="chatcmpl-a4", request_tags=["offline", "interactive"]),
    # 5: no startTime: quarantined (its raw copy must not carry the key or text either).
    spend_log(request_id="chatcmpl-a5", startTime=None),
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    """A CSV export: JSON columns as JSON text, NULL as an empty field."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        for record in records:
            writer.writerow(
                {
                    key: ""
                    if value is None
                    else json.dumps(value)
                    if isinstance(value, dict | list)
                    else value
                    for key, value in record.items()
                }
            )
    return path


def key_hash(api_key: str) -> str:
    """The client name normalize_rows.sql derives from an API key: 'key-' + 16 hex digits of sha256(salt + key)."""
    return "key-" + hashlib.sha256((SALT + api_key).encode()).hexdigest()[:16]


def check_rows(home: Home, file_id: str) -> None:
    """The exact values every export of RECORDS must land as."""
    rows = staged_rows(home, file_id)
    assert [row["request_id"] for row in rows] == ["chatcmpl-a1", "chatcmpl-a2", "chatcmpl-a3", "chatcmpl-a4"]
    first, second, third, fourth = rows
    assert first["ts"] == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert (first["latency_ms"], first["ttft_ms"]) == (2500.0, 350.0)
    assert (first["endpoint"], first["model"]) == ("gpt-4o", "gpt-4o-2024-05-13")
    assert (first["input_tokens"], first["output_tokens"], first["cached_input_tokens"]) == (1200, 300, 256)
    assert (first["billed_cost_usd"], first["ok"], first["interactive"], first["stream"]) == (
        0.0105,
        True,
        True,
        None,
    )
    assert (first["client"], first["deployment_mode"]) == ("team-search", "serverless")

    assert second["ts"] == datetime(2024, 5, 1, 10, 0, 5, tzinfo=UTC)
    assert (second["latency_ms"], second["ttft_ms"]) == (1250.0, None)  # not streamed: no first-token time
    assert (second["endpoint"], second["ok"], second["interactive"]) == ("gpt-4o-2024-05-13", True, False)
    assert (second["client"], second["cached_input_tokens"], second["billed_cost_usd"]) == (
        "user-42",
        None,
        0.0021,
    )

    assert third["ts"] == datetime(2024, 5, 1, 10, 0, 10, tzinfo=UTC)
    assert (third["latency_ms"], third["ttft_ms"], third["ok"], third["interactive"]) == (
        500.0,
        None,
        False,
        None,
    )
    assert (third["input_tokens"], third["output_tokens"], third["billed_cost_usd"]) == (900, 0, 0.0)
    assert third["client"] == key_hash(API_KEY)

    assert fourth["interactive"] is True

    quarantined = staged_rows(home, file_id, accepted=False)
    assert [(row["source_line"], row["quarantine_reason"]) for row in quarantined] == [
        (5, "missing timestamp")
    ]
    assert '"api_key":"<redacted>"' in quarantined[0]["raw"]


def file_bytes(path: Path) -> bytes:
    """The bytes of a file, decompressed when it is gzip."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def files_holding_canaries(root: Path, skip: Path | None = None) -> list[Path]:
    """Every file under ``root`` (except under ``skip``) whose bytes contain a canary string."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or (skip is not None and path.is_relative_to(skip)):
            continue
        data = file_bytes(path)
        if TEXT_CANARY.encode() in data or KEY_CANARY.encode() in data:
            found.append(path)
    return found


def test_jsonl_export_lands_exact_values(home, settings, tmp_path):
    staged = land_and_stage(home, settings, write_jsonl(tmp_path / "spend.jsonl", RECORDS), "litellm")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (5, 4, 1)
    assert staged.note is None
    check_rows(home, staged.file_id)


def test_csv_export_lands_the_same_values(home, settings, tmp_path):
    staged = land_and_stage(home, settings, write_csv(tmp_path / "spend.csv", RECORDS), "litellm")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (5, 4, 1)
    assert staged.note is None
    check_rows(home, staged.file_id)


def test_the_endpoint_option_overrides_model_group(home, settings, tmp_path):
    path = write_jsonl(tmp_path / "spend.jsonl", RECORDS)
    staged = land_and_stage(home, settings, path, "litellm", {"endpoint": "gateway"})
    assert {row["endpoint"] for row in staged_rows(home, staged.file_id)} == {"gateway"}


def test_times_in_other_iso_shapes_and_inconsistent_durations(home, settings, tmp_path):
    records = [
        # first token before the start and an end before the start: clock noise, not negative durations
        spend_log(
            request_id="x1",
            startTime="2024-05-01T10:00:00Z",
            endTime="2024-05-01T09:59:59Z",
            completionStartTime="2024-05-01T09:59:59.5Z",
        ),
        # an offset other than UTC, and a first token after the end
        spend_log(
            request_id="x2",
            startTime="2024-05-01T12:00:00.25+02:00",
            endTime="2024-05-01T10:00:01Z",
            completionStartTime="2024-05-01T10:00:02Z",
        ),
        spend_log(request_id="x3", startTime="not a time"),
    ]
    staged = land_and_stage(home, settings, write_jsonl(tmp_path / "odd.jsonl", records), "litellm")
    first, second = staged_rows(home, staged.file_id)
    assert (first["latency_ms"], first["ttft_ms"]) == (None, None)
    assert second["ts"] == datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert (second["latency_ms"], second["ttft_ms"]) == (750.0, None)
    (bad,) = staged_rows(home, staged.file_id, accepted=False)
    assert bad["quarantine_reason"].startswith("unreadable timestamp 'not a time'")


def test_no_text_and_no_api_key_is_stored_outside_the_landing_area(home, settings, tmp_path):
    for path in (write_jsonl(tmp_path / "spend.jsonl", RECORDS), write_csv(tmp_path / "spend.csv", RECORDS)):
        land_and_stage(home, settings, path, "litellm")
    assert len(list(home.staged.glob("*/_manifest.json"))) == 2
    assert files_holding_canaries(home.root, skip=home.landing) == []


def test_no_text_and_no_api_key_is_stored_anywhere_in_the_home(home, settings, tmp_path):
    land_and_stage(home, settings, write_jsonl(tmp_path / "spend.jsonl", RECORDS), "litellm")
    assert files_holding_canaries(home.root) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"anchor": "2024-05-01T00:00:00Z"}, "does not take --anchor"),
        ({"ts_unit": "ms"}, "does not take --ts-unit"),
        ({"model": "gpt-4o"}, "does not take --model"),
    ],
)
def test_options_that_do_not_apply_are_refused_at_landing(home, tmp_path, options, message):
    with pytest.raises(ModeshiftError, match=message):
        land_file(home, write_jsonl(tmp_path / "spend.jsonl", RECORDS), "litellm", options)


def test_parquet_is_refused(home, tmp_path):
    path = tmp_path / "spend.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(ModeshiftError, match="reads jsonl or csv files"):
        land_file(home, path, "litellm", {})


def test_raw_rows_have_exactly_the_raw_columns_and_never_select_text(tmp_path):
    path = write_jsonl(tmp_path / "spend.jsonl", RECORDS)
    asked: list[list[str]] = []
    with connect() as con:
        reader = record_reader(con, path, ".jsonl")

        def spying_reader(fields: list[str]):
            asked.append(fields)
            return reader(fields)

        relation = litellm.raw_rows(".jsonl", {}, spying_reader)
        assert relation.columns == ["source_line", "parse_error", *RAW_COLUMNS]
        assert {str(t) for t in relation.types[1:]} == {"VARCHAR"}
        assert not any(TEXT_CANARY in str(value) for row in relation.fetchall() for value in row)
    assert asked and not {"messages", "response"} & set(asked[0])


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_the_record_by_record_reader_gives_the_same_raw_rows(tmp_path, kind):
    writer = write_jsonl if kind == "jsonl" else write_csv
    path = writer(tmp_path / f"spend.{kind}", RECORDS)
    salvage_dir = tmp_path / "salvage"
    salvage_dir.mkdir()
    with connect() as con:
        fast = litellm.raw_rows(f".{kind}", {}, record_reader(con, path, f".{kind}")).fetchall()
        slow = litellm.raw_rows(f".{kind}", {}, record_reader(con, path, f".{kind}", salvage_dir)).fetchall()
    assert len(fast) == len(RECORDS)
    assert slow == fast
