"""The langfuse format (observations: public API objects as JSON lines / a JSON array, blob-storage export rows as
CSV, Parquet and gzipped JSON lines) through real landing + staging + normalization, then the day merge and the
warehouse for the privacy canaries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.ingest.formats import langfuse
from pipelines.ingest.formats.records import RAW_COLUMNS, record_reader
from pipelines.ingest.landing import land_file
from tests.flat_export_helpers import (
    TEXT_CANARY,
    USER_CANARY,
    build_lake_and_warehouse,
    files_holding_canaries,
    gzipped,
    key_hash,
    warehouse_rows,
    write_csv,
    write_json_array,
    write_jsonl,
)
from tests.helpers import land_and_stage, staged_rows

USER = f"user-{USER_CANARY}"
PROMPT = [{"role": "user", "content": f'Summarize, "quoted", with commas,\nand lines: {TEXT_CANARY} ' * 30}]
COMPLETION = {"role": "assistant", "content": f"{TEXT_CANARY} done. " * 40}

# The logical observations every shape below renders: (id, type, start, end, completion start, model, usage, cost,
# user, tags, metadata, environment, level). Times as (seconds after 10:00:00 UTC on 2024-05-01) or None.
CASES: list[dict[str, Any]] = [
    # 1: streamed, OpenAI-style cache key, metadata names the endpoint, interactive tag.
    {
        "id": "obs-a1",
        "type": "GENERATION",
        "start": 0.0,
        "end": 2.5,
        "first": 0.35,
        "model": "gpt-4o-2024-08-06",
        "usage": {"input": 944, "input_cached_tokens": 256, "output": 300, "total": 1500},
        "cost": {"input": 0.0024, "input_cached_tokens": 0.0003, "output": 0.003, "total": 0.0057},
        "user": USER,
        "tags": ["interactive", "team:search"],
        "metadata": {"endpoint": "search-api", "note": TEXT_CANARY},
        "environment": "production",
        "level": "DEFAULT",
    },
    # 2: not streamed, Anthropic-style cache keys, the environment names the endpoint, an error, batch tag, no user.
    {
        "id": "obs-a2",
        "type": "GENERATION",
        "start": 5.0,
        "end": 6.25,
        "first": None,
        "model": "claude-sonnet-4-20250514",
        "usage": {"input": 500, "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200, "output": 80},
        "cost": {"total": 0.0042},
        "user": None,
        "tags": ["batch"],
        "metadata": {"trace": TEXT_CANARY},
        "environment": "production",
        "level": "ERROR",
    },
    # 3: a span of the same trace: not a model request.
    {"id": "obs-a3", "type": "SPAN", "start": 0.0, "end": 3.0, "first": None, "model": None, "usage": {},
     "cost": {}, "user": USER, "tags": [], "metadata": {}, "environment": "production", "level": "DEFAULT"},
    # 4: an event.
    {"id": "obs-a4", "type": "EVENT", "start": 1.0, "end": None, "first": None, "model": None, "usage": {},
     "cost": {}, "user": USER, "tags": [], "metadata": {}, "environment": "production", "level": "DEFAULT"},
    # 5: a generation without a start time: quarantined (its raw copy must carry neither text nor the user).
    {"id": "obs-a5", "type": "GENERATION", "start": None, "end": 1.0, "first": None, "model": "gpt-4o-mini",
     "usage": {"input": 10, "output": 5}, "cost": {"total": 0.0001}, "user": USER, "tags": [], "metadata": {},
     "environment": "default", "level": "DEFAULT"},
    # 6: the default environment and no metadata endpoint: the endpoint is the model; a warning is still ok.
    {"id": "obs-a6", "type": "GENERATION", "start": 7.0, "end": 7.5, "first": 7.1, "model": "gpt-4o-mini",
     "usage": {"input": 10, "output": 5}, "cost": {"total": 0.0001}, "user": USER, "tags": [], "metadata": {},
     "environment": "default", "level": "WARNING"},
]  # fmt: skip


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp() + seconds, UTC).isoformat(
        timespec="milliseconds"
    )


def _export_time(seconds: float | None) -> str | None:
    """The export's timestamp text: 'YYYY-MM-DD HH:MM:SS.ffffff', UTC, no offset."""
    text = _iso(seconds)
    return None if text is None else datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S.%f")


def api_observation(case: dict[str, Any]) -> dict[str, Any]:
    """An observation as the public API returns it (camelCase; the text fields carry the canary)."""
    return {
        "id": case["id"],
        "traceId": "trace-1",
        "type": case["type"],
        "name": f"llm-call {TEXT_CANARY}",
        "startTime": _iso(case["start"]),
        "endTime": _iso(case["end"]),
        "completionStartTime": _iso(case["first"]),
        "model": case["model"],
        "modelParameters": {"temperature": 0.2},
        "input": PROMPT,
        "output": COMPLETION,
        "usage": {"input": 1, "output": 1, "total": 2, "unit": "TOKENS"},
        "usageDetails": case["usage"],
        "costDetails": case["cost"],
        "calculatedTotalCost": 99.0,
        "level": case["level"],
        "statusMessage": f"upstream said: {TEXT_CANARY}",
        "version": None,
        "metadata": case["metadata"],
        "environment": case["environment"],
        "userId": case["user"],
        "tags": case["tags"],
        "parentObservationId": None,
        "promptName": None,
        "latency": 9.9,
        "timeToFirstToken": 9.9,
    }


def export_row(case: dict[str, Any]) -> dict[str, Any]:
    """An enriched-observations row as the blob-storage export writes it (snake_case; text fields carry the canary)."""
    return {
        "id": case["id"],
        "trace_id": "trace-1",
        "project_id": "proj-1",
        "environment": case["environment"],
        "type": case["type"],
        "parent_observation_id": "",
        "start_time": _export_time(case["start"]),
        "end_time": _export_time(case["end"]),
        "name": f"llm-call {TEXT_CANARY}",
        "metadata": case["metadata"],
        "level": case["level"],
        "status_message": f"upstream said: {TEXT_CANARY}",
        "version": "",
        "input": json.dumps(PROMPT),
        "output": json.dumps(COMPLETION),
        "provided_model_name": case["model"] or "",
        "model_parameters": '{"temperature":0.2}',
        "usage_details": case["usage"],
        "cost_details": case["cost"],
        "completion_start_time": _export_time(case["first"]),
        "total_cost": 99.0,
        "latency": 9.9,
        "time_to_first_token": 9.9,
        "user_id": case["user"] or "",
        "session_id": f"session-{TEXT_CANARY}",
        "trace_name": f"trace {TEXT_CANARY}",
        "tags": case["tags"],
        "release": "",
    }


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A Parquet export: usage and cost as maps, metadata as a string map, tags as a list, times as timestamps."""
    timestamp = pa.timestamp("us", tz="UTC")

    def stamp(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)

    types = {
        "usage_details": pa.map_(pa.string(), pa.int64()),
        "cost_details": pa.map_(pa.string(), pa.float64()),
        "metadata": pa.map_(pa.string(), pa.string()),
        "tags": pa.list_(pa.string()),
        "start_time": timestamp,
        "end_time": timestamp,
        "completion_start_time": timestamp,
        "total_cost": pa.float64(),
        "latency": pa.float64(),
        "time_to_first_token": pa.float64(),
    }
    columns = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        if name in ("usage_details", "cost_details", "metadata"):
            values = [list(value.items()) for value in values]
        elif name in ("start_time", "end_time", "completion_start_time"):
            values = [stamp(value) for value in values]
        columns[name] = pa.array(values, type=types.get(name, pa.string()))
    pq.write_table(pa.table(columns), path)
    return path


def check_rows(home: Home, file_id: str) -> None:
    """The exact values every shape of CASES must land as."""
    rows = staged_rows(home, file_id)
    assert [row["request_id"] for row in rows] == ["obs-a1", "obs-a2", "obs-a6"]
    first, second, third = rows
    assert first["ts"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert (first["endpoint"], first["model"]) == ("search-api", "gpt-4o-2024-08-06")
    assert (first["input_tokens"], first["output_tokens"], first["cached_input_tokens"]) == (1200, 300, 256)
    assert (first["latency_ms"], first["ttft_ms"], first["stream"]) == (2500.0, 350.0, True)
    assert (first["ok"], first["interactive"], first["billed_cost_usd"]) == (True, True, 0.0057)
    assert (first["client"], first["deployment_mode"]) == (key_hash(USER), "serverless")

    assert second["ts"] == datetime(2024, 5, 1, 10, 0, 5, tzinfo=UTC)
    assert (second["endpoint"], second["model"]) == (
        "production:claude-sonnet-4-20250514",
        "claude-sonnet-4-20250514",
    )
    assert (second["input_tokens"], second["output_tokens"], second["cached_input_tokens"]) == (
        1700,
        80,
        1000,
    )
    assert (second["latency_ms"], second["ttft_ms"], second["stream"]) == (1250.0, None, None)
    assert (second["ok"], second["interactive"], second["billed_cost_usd"], second["client"]) == (
        False,
        False,
        0.0042,
        None,
    )

    assert (third["endpoint"], third["ok"], third["cached_input_tokens"], third["ttft_ms"]) == (
        "gpt-4o-mini",
        True,
        None,
        100.0,
    )

    quarantined = staged_rows(home, file_id, accepted=False)
    assert [(row["source_line"], row["quarantine_reason"]) for row in quarantined] == [
        (3, "a Langfuse SPAN observation is not a model request (only GENERATION observations are)"),
        (4, "a Langfuse EVENT observation is not a model request (only GENERATION observations are)"),
        (5, "missing timestamp"),
    ]
    assert '"api_key":"<redacted>"' in quarantined[2]["raw"]


def _api_records() -> list[dict[str, Any]]:
    return [api_observation(case) for case in CASES]


def _export_rows() -> list[dict[str, Any]]:
    return [export_row(case) for case in CASES]


@pytest.mark.parametrize(
    "write",
    [
        lambda tmp: write_jsonl(tmp / "observations.jsonl", _api_records()),
        lambda tmp: write_json_array(tmp / "observations.json", _api_records()),
        lambda tmp: write_csv(tmp / "observations.csv", _export_rows()),
        lambda tmp: write_parquet(tmp / "observations.parquet", _export_rows()),
        lambda tmp: gzipped(write_jsonl(tmp / "observations_v2.jsonl", _export_rows())),
        lambda tmp: gzipped(write_csv(tmp / "export.csv", _export_rows())),
    ],
    ids=["api-jsonl", "api-json-array", "export-csv", "export-parquet", "export-jsonl-gz", "export-csv-gz"],
)
def test_every_shape_of_the_export_lands_the_same_values(home, settings, tmp_path, write):
    staged = land_and_stage(home, settings, write(tmp_path), "langfuse")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (6, 3, 3)
    assert staged.note is None
    check_rows(home, staged.file_id)


def test_objects_encoded_twice_and_the_legacy_usage_fields_are_read(home, settings, tmp_path):
    base = api_observation(CASES[0])
    records = [
        # usageDetails and costDetails as JSON strings holding JSON text
        {**base, "id": "d1", "usageDetails": json.dumps(CASES[0]["usage"]), "costDetails": json.dumps({"total": 0.5})},
        # no usageDetails: the deprecated usage object
        {**base, "id": "d2", "usageDetails": {}, "usage": {"input": 40, "output": 4, "total": 44, "inputCost": 7.0}},
        # nor that: the deprecated top-level counts; the cost from calculatedTotalCost
        {**base, "id": "d3", "usageDetails": None, "usage": None, "promptTokens": 30, "completionTokens": 3,
         "costDetails": None},
        # an output-only usage map has 0 input tokens
        {**base, "id": "d4", "usageDetails": {"output": 9}},
    ]  # fmt: skip
    staged = land_and_stage(home, settings, write_jsonl(tmp_path / "legacy.jsonl", records), "langfuse")
    rows = {row["request_id"]: row for row in staged_rows(home, staged.file_id)}
    assert (rows["d1"]["input_tokens"], rows["d1"]["cached_input_tokens"], rows["d1"]["billed_cost_usd"]) == (
        1200,
        256,
        0.5,
    )
    assert (rows["d2"]["input_tokens"], rows["d2"]["output_tokens"], rows["d2"]["cached_input_tokens"]) == (
        40,
        4,
        None,
    )
    assert (rows["d3"]["input_tokens"], rows["d3"]["output_tokens"], rows["d3"]["billed_cost_usd"]) == (
        30,
        3,
        99.0,
    )
    assert (rows["d4"]["input_tokens"], rows["d4"]["output_tokens"]) == (0, 9)


def test_a_file_with_broken_rows_accounts_for_every_line(home, settings, tmp_path):
    good = api_observation(CASES[0])
    lines = [
        json.dumps(good),
        "{not json at all " + TEXT_CANARY,
        json.dumps([1, 2, 3]),
        json.dumps({**good, "id": "b1", "usageDetails": {"input": True, "output": 3}}),
        json.dumps({**good, "id": "b2", "usageDetails": {"input": "many", "output": 3}}),
        json.dumps({**good, "id": "b3", "usageDetails": {"input": -5, "output": 3}}),
        json.dumps({**good, "id": "b4", "costDetails": {"total": True}}),
        json.dumps({**good, "id": "b5", "startTime": "yesterday"}),
        json.dumps({**good, "id": "b6", "type": "SOMETHING-NEW"}),
        json.dumps({**good, "id": "b7", "model": None}),
        "",
        json.dumps({**good, "id": "b8", "usageDetails": {"input_tokens": 7.5, "output": 1}}),
    ]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    staged = land_and_stage(home, settings, path, "langfuse")
    assert staged.rows_in == 11  # the non-blank lines (a record's number skips blank lines)
    assert staged.rows_in == staged.rows_staged + staged.rows_quarantined
    assert [row["request_id"] for row in staged_rows(home, staged.file_id)] == ["obs-a1"]
    reasons = {
        row["source_line"]: row["quarantine_reason"] for row in staged_rows(home, staged.file_id, False)
    }
    assert reasons[2].startswith("unreadable line")
    assert reasons[3].startswith("unreadable line")
    assert reasons[4] == "usageDetails.input is not a non-negative number of tokens"
    assert reasons[5] == "usageDetails.input is not a non-negative number of tokens"
    assert reasons[6] == "usageDetails.input is not a non-negative number of tokens"
    assert reasons[7] == "billed_cost_usd is a boolean (true), not a number"
    assert reasons[8].startswith("unreadable timestamp 'yesterday'")
    assert reasons[9] == (
        "a Langfuse observation of an unknown type is not a model request (only GENERATION observations are)"
    )
    assert reasons[10] == "missing model"
    assert reasons[11].startswith("input_tokens 7.5 is not a non-negative integer")
    assert not any(TEXT_CANARY in reason for reason in reasons.values())


def test_a_file_of_spans_only_is_counted_and_lands_nothing(home, settings, tmp_path):
    rows = [export_row({**CASES[2], "id": f"s{i}"}) for i in range(4)]
    staged = land_and_stage(home, settings, write_csv(tmp_path / "spans.csv", rows), "langfuse")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (4, 0, 4)
    assert staged.top_reasons == {
        "a Langfuse SPAN observation is not a model request (only GENERATION observations are)": 4
    }


def test_no_text_and_no_user_id_reaches_the_lake_the_quarantine_or_the_warehouse(home, settings, tmp_path):
    land_and_stage(home, settings, write_jsonl(tmp_path / "api.jsonl", _api_records()), "langfuse")
    land_and_stage(home, settings, write_csv(tmp_path / "export.csv", _export_rows()), "langfuse")
    land_and_stage(home, settings, write_parquet(tmp_path / "export.parquet", _export_rows()), "langfuse")
    counts = build_lake_and_warehouse(home)
    # the same observation ids in three files: one copy of each is kept, the others are duplicates
    assert warehouse_rows(home, "SELECT count(*), count(DISTINCT request_id) FROM requests") == [(3, 3)]
    assert warehouse_rows(
        home, "SELECT sum(rows_in), sum(rows_accepted), sum(rows_quarantined) FROM ingest_log"
    ) == [(18, 3, 15)]
    assert counts
    assert warehouse_rows(home, "SELECT DISTINCT client FROM requests WHERE client IS NOT NULL") == [
        (key_hash(USER),)
    ]
    assert files_holding_canaries(home.root) == []


def test_the_endpoint_option_overrides_every_row(home, settings, tmp_path):
    path = write_jsonl(tmp_path / "observations.jsonl", _api_records())
    staged = land_and_stage(home, settings, path, "langfuse", {"endpoint": "gateway"})
    assert {row["endpoint"] for row in staged_rows(home, staged.file_id)} == {"gateway"}


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
        land_file(home, write_jsonl(tmp_path / "observations.jsonl", _api_records()), "langfuse", options)


def test_raw_rows_have_exactly_the_raw_columns_and_never_select_text(tmp_path):
    path = write_jsonl(tmp_path / "observations.jsonl", _api_records())
    asked: list[list[str]] = []
    with connect() as con:
        reader = record_reader(con, path, ".jsonl")

        def spying_reader(fields: list[str]):
            asked.append(fields)
            return reader(fields)

        relation = langfuse.raw_rows(".jsonl", {}, spying_reader)
        columns = relation.columns
        values = relation.fetchall()
    assert columns[:2] == ["source_line", "parse_error"]
    assert set(columns[2:]) == set(RAW_COLUMNS)
    assert not any(TEXT_CANARY in str(value) for row in values for value in row)
    assert asked and not {"input", "output", "statusMessage", "status_message", "name"} & set(asked[0])


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_the_record_by_record_reader_gives_the_same_raw_rows(tmp_path, kind):
    path = (
        write_jsonl(tmp_path / "o.jsonl", _api_records())
        if kind == "jsonl"
        else write_csv(tmp_path / "o.csv", _export_rows())
    )
    salvage_dir = tmp_path / "salvage"
    salvage_dir.mkdir()
    with connect() as con:
        fast = langfuse.raw_rows(f".{kind}", {}, record_reader(con, path, f".{kind}")).fetchall()
        slow = langfuse.raw_rows(f".{kind}", {}, record_reader(con, path, f".{kind}", salvage_dir)).fetchall()
    assert len(fast) == len(CASES)
    assert slow == fast
