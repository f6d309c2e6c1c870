"""The helicone format (request records of Helicone's export tool / query API as JSON lines, a JSON array, CSV and
gzip) through real landing + staging + normalization, then the day merge and the warehouse for the privacy
canaries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.ingest.formats import helicone
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
NO_CACHE = "00000000-0000-0000-0000-000000000000"
BODY = {
    "model": "gpt-4o",
    "messages": [
        {"role": "user", "content": f'Summarize, "quoted", with commas,\nand lines: {TEXT_CANARY} ' * 30}
    ],
}
RESPONSE = {"choices": [{"message": {"role": "assistant", "content": f"{TEXT_CANARY} done. " * 40}}]}


def helicone_request(**fields: Any) -> dict[str, Any]:
    """One request record with the fields Helicone's query API returns (text fields carry the canary)."""
    record: dict[str, Any] = {
        "response_id": "5e1f0c7a-0000-4000-8000-000000000001",
        "response_created_at": "2024-05-01 10:00:01.500",
        "response_body": RESPONSE,
        "response_status": 200,
        "response_model": "gpt-4o-2024-08-06",
        "request_id": "0b3c8f2e-0000-4000-8000-000000000001",
        "request_created_at": "2024-05-01 10:00:00.000",
        "request_body": BODY,
        "request_path": "/v1/chat/completions",
        "request_user_id": USER,
        "request_properties": {"Endpoint": "support-bot", "Conversation": TEXT_CANARY},
        "request_model": "gpt-4o",
        "model_override": None,
        "helicone_user": f"owner-{USER_CANARY}",
        "provider": "OPENAI",
        "delay_ms": 1500,
        "time_to_first_token": 320,
        "total_tokens": 1320,
        "prompt_tokens": 900,
        "prompt_cache_write_tokens": 0,
        "prompt_cache_read_tokens": 300,
        "completion_tokens": 120,
        "prompt_id": None,
        "signed_body_url": f"https://s3.example.com/bodies/{TEXT_CANARY}",
        "country_code": "DE",
        "scores": {},
        "cost": 0.0031,
        "properties": {"Endpoint": "support-bot", "Conversation": TEXT_CANARY},
        "assets": [],
        "target_url": "https://api.openai.com/v1/chat/completions",
        "model": "gpt-4o",
        "cache_reference_id": NO_CACHE,
        "cache_enabled": False,
    }
    record.update(fields)
    return record


RECORDS: list[dict[str, Any]] = [
    # 1: an OpenAI call with cache reads, the endpoint from its custom property, a user.
    helicone_request(),
    # 2: Anthropic with cache reads and writes, rate-limited (429), no endpoint property, no delay_ms (the latency
    #    comes from the two timestamps), no first-token time, no user, ISO times with an offset.
    helicone_request(
        request_id="0b3c8f2e-0000-4000-8000-000000000002",
        request_created_at="2024-05-01T10:00:05.000+00:00",
        response_created_at="2024-05-01T10:00:07.250+00:00",
        request_model="claude-3-5-sonnet-20241022",
        response_model=None,
        provider="ANTHROPIC",
        response_status=429,
        request_properties={"environment": "prod"},
        properties={"environment": "prod"},
        prompt_tokens=50,
        prompt_cache_read_tokens=2000,
        prompt_cache_write_tokens=500,
        completion_tokens=0,
        delay_ms=None,
        time_to_first_token=None,
        request_user_id="",
        cost=0.0012,
    ),
    # 3: answered from Helicone's own cache: no model ran.
    helicone_request(
        request_id="0b3c8f2e-0000-4000-8000-000000000003",
        cache_reference_id="0b3c8f2e-0000-4000-8000-000000000001",
    ),
    # 4: no response arrived (-1), the property key spelled with Helicone's header prefix.
    helicone_request(
        request_id="0b3c8f2e-0000-4000-8000-000000000004",
        request_created_at="2024-05-01 10:00:09.000",
        response_status=-1,
        request_properties={"Helicone-Property-Endpoint": "batch-summaries"},
        properties={"Helicone-Property-Endpoint": "batch-summaries"},
        prompt_tokens=700,
        prompt_cache_read_tokens=None,
        prompt_cache_write_tokens=None,
        completion_tokens=0,
        cost=0,
    ),
    # 5: no creation time: quarantined (its raw copy must carry neither text nor the user).
    helicone_request(request_id="0b3c8f2e-0000-4000-8000-000000000005", request_created_at=None),
]


def check_rows(home: Home, file_id: str) -> None:
    """The exact values every export of RECORDS must land as."""
    rows = staged_rows(home, file_id)
    assert [row["request_id"][-2:] for row in rows] == ["01", "02", "04"]
    first, second, fourth = rows
    assert first["ts"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert (first["endpoint"], first["model"]) == ("support-bot", "gpt-4o")
    assert (first["input_tokens"], first["output_tokens"], first["cached_input_tokens"]) == (1200, 120, 300)
    assert (first["latency_ms"], first["ttft_ms"], first["ok"], first["billed_cost_usd"]) == (
        1500.0,
        320.0,
        True,
        0.0031,
    )
    assert (first["client"], first["stream"], first["deployment_mode"]) == (
        key_hash(USER),
        None,
        "serverless",
    )

    assert second["ts"] == datetime(2024, 5, 1, 10, 0, 5, tzinfo=UTC)
    assert (second["endpoint"], second["model"]) == (
        "claude-3-5-sonnet-20241022",
        "claude-3-5-sonnet-20241022",
    )
    assert (second["input_tokens"], second["output_tokens"], second["cached_input_tokens"]) == (2550, 0, 2000)
    assert (second["latency_ms"], second["ttft_ms"], second["ok"], second["client"]) == (
        2250.0,
        None,
        False,
        None,
    )

    assert (fourth["endpoint"], fourth["ok"], fourth["input_tokens"], fourth["cached_input_tokens"]) == (
        "batch-summaries",
        False,
        700,
        None,
    )
    assert fourth["billed_cost_usd"] == 0.0

    quarantined = staged_rows(home, file_id, accepted=False)
    assert [(row["source_line"], row["quarantine_reason"]) for row in quarantined] == [
        (3, "served from the Helicone cache (cache_reference_id): no model load, no list spend"),
        (5, "missing timestamp"),
    ]
    assert '"api_key":"<redacted>"' in quarantined[1]["raw"]


@pytest.mark.parametrize(
    "write",
    [
        lambda tmp: write_jsonl(tmp / "helicone.jsonl", RECORDS),
        lambda tmp: write_json_array(tmp / "output.json", RECORDS),
        lambda tmp: write_csv(tmp / "output.csv", RECORDS),
        lambda tmp: gzipped(write_jsonl(tmp / "helicone-export.jsonl", RECORDS)),
        lambda tmp: gzipped(write_csv(tmp / "helicone-export.csv", RECORDS)),
    ],
    ids=["jsonl", "json-array", "csv", "jsonl-gz", "csv-gz"],
)
def test_every_shape_of_the_export_lands_the_same_values(home, settings, tmp_path, write):
    staged = land_and_stage(home, settings, write(tmp_path), "helicone")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (5, 3, 2)
    assert staged.note is None
    check_rows(home, staged.file_id)


def test_the_export_tools_json_array_with_a_comma_after_the_last_record(home, settings, tmp_path):
    path = tmp_path / "output.json"
    path.write_text("[\n" + "".join(json.dumps(record, indent=2) + ",\n" for record in RECORDS) + "]\n")
    staged = land_and_stage(home, settings, path, "helicone")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (6, 3, 3)
    assert staged.note.startswith("read record by record")
    quarantined = staged_rows(home, staged.file_id, accepted=False)
    assert quarantined[-1]["quarantine_reason"].startswith("unreadable JSON array at record 6")
    assert [row["request_id"][-2:] for row in staged_rows(home, staged.file_id)] == ["01", "02", "04"]


def test_the_older_csv_export_with_its_own_column_names(home, settings, tmp_path):
    # The export tool's earlier CSV: no request_id, `latency` for delay_ms, `cost_usd` for cost, `model` only.
    columns = ["response_id", "response_created_at", "response_status", "request_created_at", "request_body",
               "request_properties", "request_user_id", "model", "prompt_tokens", "completion_tokens", "latency",
               "cost_usd"]  # fmt: skip
    rows = [
        {**{name: helicone_request()[name] for name in columns if name in helicone_request()}, "latency": 1800,
         "cost_usd": 0.004}
    ]  # fmt: skip
    staged = land_and_stage(home, settings, write_csv(tmp_path / "output.csv", rows), "helicone")
    (row,) = staged_rows(home, staged.file_id)
    assert row["request_id"] == "5e1f0c7a-0000-4000-8000-000000000001"
    assert (row["model"], row["endpoint"], row["input_tokens"], row["cached_input_tokens"]) == (
        "gpt-4o",
        "support-bot",
        900,
        None,
    )
    assert (row["latency_ms"], row["billed_cost_usd"], row["client"]) == (1800.0, 0.004, key_hash(USER))


def test_request_properties_encoded_twice_are_read(home, settings, tmp_path):
    record = helicone_request(request_properties=json.dumps({"ENDPOINT": "twice-encoded"}), properties=None)
    staged = land_and_stage(home, settings, write_jsonl(tmp_path / "h.jsonl", [record]), "helicone")
    assert [row["endpoint"] for row in staged_rows(home, staged.file_id)] == ["twice-encoded"]


def test_a_file_with_broken_rows_accounts_for_every_line(home, settings, tmp_path):
    good = helicone_request()
    lines = [
        json.dumps(good),
        "{not json at all " + TEXT_CANARY,
        json.dumps({**good, "request_id": "b1", "prompt_tokens": True}),
        json.dumps({**good, "request_id": "b2", "prompt_cache_read_tokens": -3}),
        json.dumps({**good, "request_id": "b3", "prompt_cache_write_tokens": "lots"}),
        json.dumps({**good, "request_id": "b4", "cost": True}),
        json.dumps({**good, "request_id": "b5", "response_status": "teapot"}),
        json.dumps({**good, "request_id": "b6", "request_properties": "{broken", "properties": None}),
        json.dumps({**good, "request_id": "b7", "completion_tokens": None}),
        json.dumps({**good, "request_id": "b8", "delay_ms": -20}),
    ]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    staged = land_and_stage(home, settings, path, "helicone")
    assert staged.rows_in == len(lines) == staged.rows_staged + staged.rows_quarantined
    accepted = {row["request_id"]: row for row in staged_rows(home, staged.file_id)}
    assert sorted(accepted) == ["0b3c8f2e-0000-4000-8000-000000000001", "b6"]
    assert accepted["b6"]["endpoint"] == "gpt-4o"  # unreadable properties: the model names the endpoint
    reasons = {
        row["source_line"]: row["quarantine_reason"] for row in staged_rows(home, staged.file_id, False)
    }
    assert reasons[2].startswith("unreadable line")
    assert reasons[3] == "input_tokens is a boolean (true), not a number"
    assert reasons[4] == "prompt_cache_read_tokens is not a non-negative number"
    assert reasons[5] == "prompt_cache_write_tokens is not a non-negative number"
    assert reasons[6] == "billed_cost_usd is a boolean (true), not a number"
    assert reasons[7] == "response_status is not a number"
    assert reasons[9] == "output_tokens is missing or not a number"
    assert reasons[10].startswith("latency_ms -20")
    assert not any(TEXT_CANARY in reason for reason in reasons.values())


def test_no_text_and_no_user_id_reaches_the_lake_the_quarantine_or_the_warehouse(home, settings, tmp_path):
    land_and_stage(home, settings, write_jsonl(tmp_path / "h.jsonl", RECORDS), "helicone")
    land_and_stage(home, settings, gzipped(write_csv(tmp_path / "h.csv", RECORDS)), "helicone")
    build_lake_and_warehouse(home)
    assert warehouse_rows(home, "SELECT count(*), count(DISTINCT request_id) FROM requests") == [(3, 3)]
    assert warehouse_rows(
        home, "SELECT sum(rows_in), sum(rows_accepted), sum(rows_quarantined) FROM ingest_log"
    ) == [(10, 3, 7)]
    assert warehouse_rows(home, "SELECT DISTINCT client FROM requests WHERE client IS NOT NULL") == [
        (key_hash(USER),)
    ]
    assert files_holding_canaries(home.root) == []


def test_the_endpoint_option_overrides_every_row(home, settings, tmp_path):
    staged = land_and_stage(
        home, settings, write_jsonl(tmp_path / "h.jsonl", RECORDS), "helicone", {"endpoint": "gw"}
    )
    assert {row["endpoint"] for row in staged_rows(home, staged.file_id)} == {"gw"}


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
        land_file(home, write_jsonl(tmp_path / "h.jsonl", RECORDS), "helicone", options)


def test_parquet_is_refused(home, tmp_path):
    path = tmp_path / "h.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(ModeshiftError, match="reads jsonl or csv files"):
        land_file(home, path, "helicone", {})


def test_raw_rows_have_exactly_the_raw_columns_and_never_select_bodies(tmp_path):
    path = write_jsonl(tmp_path / "h.jsonl", RECORDS)
    asked: list[list[str]] = []
    with connect() as con:
        reader = record_reader(con, path, ".jsonl")

        def spying_reader(fields: list[str]):
            asked.append(fields)
            return reader(fields)

        relation = helicone.raw_rows(".jsonl", {}, spying_reader)
        columns, values = relation.columns, relation.fetchall()
    assert columns[:2] == ["source_line", "parse_error"]
    assert set(columns[2:]) == set(RAW_COLUMNS)
    assert not any(TEXT_CANARY in str(value) for row in values for value in row)
    assert asked and not {"request_body", "response_body", "signed_body_url", "helicone_user"} & set(asked[0])


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_the_record_by_record_reader_gives_the_same_raw_rows(tmp_path, kind):
    path = (write_jsonl if kind == "jsonl" else write_csv)(tmp_path / f"h.{kind}", RECORDS)
    salvage_dir = tmp_path / "salvage"
    salvage_dir.mkdir()
    with connect() as con:
        fast = helicone.raw_rows(f".{kind}", {}, record_reader(con, path, f".{kind}")).fetchall()
        slow = helicone.raw_rows(f".{kind}", {}, record_reader(con, path, f".{kind}", salvage_dir)).fetchall()
    assert len(fast) == len(RECORDS)
    assert slow == fast
