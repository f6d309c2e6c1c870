"""The openrouter format (generation records of GET /api/v1/generation as JSON lines, a JSON array, whole responses
and gzip) through real landing + staging + normalization, then the day merge and the warehouse for the privacy
canaries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.ingest.formats import openrouter
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
    write_json_array,
    write_jsonl,
)
from tests.helpers import land_and_stage, staged_rows

USER = f"user-{USER_CANARY}"


def generation(**fields: Any) -> dict[str, Any]:
    """One generation record (the `data` object) with the fields OpenRouter returns (text fields carry the canary)."""
    record: dict[str, Any] = {
        "id": "gen-1771967930-1gsys6ZhRaY0TPbuRsDR",
        "upstream_id": f"chatcmpl-{TEXT_CANARY}",
        "total_cost": 0.0015,
        "cache_discount": None,
        "upstream_inference_cost": None,
        "created_at": "2024-05-01T10:00:00.433273+00:00",
        "model": "meta-llama/llama-4-scout-17b-16e-instruct",
        "app_id": 2872617,
        "external_user": USER,
        "streamed": True,
        "cancelled": False,
        "provider_name": "Groq",
        "latency": 1016,
        "moderation_latency": None,
        "generation_time": 2940,
        "finish_reason": "stop",
        "native_finish_reason": "stop",
        "tokens_prompt": 65,
        "tokens_completion": 116,
        "native_tokens_prompt": 64,
        "native_tokens_completion": 98,
        "native_tokens_completion_images": None,
        "native_tokens_reasoning": 0,
        "native_tokens_cached": 0,
        "num_media_prompt": None,
        "num_media_completion": 0,
        "num_search_results": None,
        "origin": f"https://example.com/{TEXT_CANARY}",
        "http_referer": f"https://example.com/{TEXT_CANARY}",
        "user_agent": f"agent/{TEXT_CANARY}",
        "usage": 0.0015,
        "is_byok": False,
        "api_type": "completions",
        "router": None,
        "provider_responses": [{"provider_name": "Groq", "status": 200, "latency": 1000}],
    }
    record.update(fields)
    return record


RECORDS: list[dict[str, Any]] = [
    # 1: streamed, attributed to an app, native counts below the normalized ones.
    generation(),
    # 2: not streamed, no native counts (the normalized ones are taken, the cached count with them is not), the cost
    #    only in `usage`, no app, no user.
    generation(
        id="gen-1755352517-vcNNzGslBXHr45jGsA2B",
        created_at="2024-05-01T10:00:05Z",
        model="mistralai/mistral-medium-3.1",
        app_id=None,
        external_user=None,
        streamed=False,
        latency=343,
        generation_time=418,
        finish_reason="length",
        tokens_prompt=285,
        tokens_completion=25,
        native_tokens_prompt=None,
        native_tokens_completion=None,
        native_tokens_cached=5,
        total_cost=None,
        usage=0.000164,
    ),
    # 3: cancelled by the caller (still run and billed: ok), a latency above the generation time (no ttft kept).
    generation(
        id="gen-3",
        created_at="2024-05-01T10:00:09.5+00:00",
        cancelled=True,
        finish_reason=None,
        latency=1250,
        generation_time=1200,
        native_tokens_prompt=10,
        native_tokens_completion=25,
        native_tokens_cached=3,
    ),
    # 4: the provider failed.
    generation(
        id="gen-4", created_at="2024-05-01T10:00:10Z", finish_reason="error", native_tokens_completion=0
    ),
    # 5: no creation time: quarantined.
    generation(id="gen-5", created_at=None),
]


def check_rows(home: Home, file_id: str) -> None:
    """The exact values every shape of RECORDS must land as."""
    rows = staged_rows(home, file_id)
    assert [row["request_id"] for row in rows] == [
        "gen-1771967930-1gsys6ZhRaY0TPbuRsDR",
        "gen-1755352517-vcNNzGslBXHr45jGsA2B",
        "gen-3",
        "gen-4",
    ]
    first, second, third, fourth = rows
    assert first["ts"] == datetime(2024, 5, 1, 10, 0, 0, 433273, tzinfo=UTC)
    assert (first["endpoint"], first["model"]) == (
        "app-2872617:meta-llama/llama-4-scout-17b-16e-instruct",
        "meta-llama/llama-4-scout-17b-16e-instruct",
    )
    assert (first["input_tokens"], first["output_tokens"], first["cached_input_tokens"]) == (64, 98, 0)
    assert (first["latency_ms"], first["ttft_ms"], first["stream"], first["ok"]) == (
        2940.0,
        1016.0,
        True,
        True,
    )
    assert (first["billed_cost_usd"], first["client"], first["deployment_mode"]) == (
        0.0015,
        key_hash(USER),
        "serverless",
    )

    assert second["ts"] == datetime(2024, 5, 1, 10, 0, 5, tzinfo=UTC)
    assert (
        second["endpoint"],
        second["input_tokens"],
        second["output_tokens"],
        second["cached_input_tokens"],
    ) == (
        "mistralai/mistral-medium-3.1",
        285,
        25,
        None,
    )
    assert (second["latency_ms"], second["ttft_ms"], second["stream"], second["ok"]) == (
        418.0,
        None,
        False,
        True,
    )
    assert (second["billed_cost_usd"], second["client"]) == (0.000164, None)

    assert (third["ok"], third["latency_ms"], third["ttft_ms"], third["cached_input_tokens"]) == (
        True,
        1200.0,
        None,
        3,
    )
    assert (fourth["ok"], fourth["output_tokens"]) == (False, 0)

    quarantined = staged_rows(home, file_id, accepted=False)
    assert [(row["source_line"], row["quarantine_reason"]) for row in quarantined] == [
        (5, "missing timestamp")
    ]
    assert '"api_key":"<redacted>"' in quarantined[0]["raw"]


@pytest.mark.parametrize(
    "write",
    [
        lambda tmp: write_jsonl(tmp / "generations.jsonl", RECORDS),
        lambda tmp: write_json_array(tmp / "generations.json", RECORDS),
        lambda tmp: write_jsonl(tmp / "responses.jsonl", [{"data": record} for record in RECORDS]),
        lambda tmp: gzipped(write_jsonl(tmp / "generations.jsonl", RECORDS)),
    ],
    ids=["jsonl", "json-array", "whole-responses", "jsonl-gz"],
)
def test_every_shape_of_the_records_lands_the_same_values(home, settings, tmp_path, write):
    staged = land_and_stage(home, settings, write(tmp_path), "openrouter")
    assert (staged.rows_in, staged.rows_staged, staged.rows_quarantined) == (5, 4, 1)
    assert staged.note is None
    check_rows(home, staged.file_id)


def test_a_response_encoded_as_a_json_string_is_read(home, settings, tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"data": json.dumps(generation(id="gen-twice"))}])
    staged = land_and_stage(home, settings, path, "openrouter")
    assert [(row["request_id"], row["input_tokens"]) for row in staged_rows(home, staged.file_id)] == [
        ("gen-twice", 64)
    ]


def test_a_file_with_broken_rows_accounts_for_every_line(home, settings, tmp_path):
    good = generation()
    lines = [
        json.dumps(good),
        "{not json at all " + TEXT_CANARY,
        json.dumps({"data": 5}),
        json.dumps({**good, "id": "b1", "native_tokens_prompt": True}),
        json.dumps({**good, "id": "b2", "native_tokens_completion": "many"}),
        json.dumps({**good, "id": "b3", "generation_time": -5}),
        json.dumps({**good, "id": "b4", "total_cost": True}),
        json.dumps({**good, "id": "b5", "native_tokens_cached": 2.5}),
        json.dumps({**good, "id": "b6", "model": ""}),
    ]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    staged = land_and_stage(home, settings, path, "openrouter")
    assert staged.rows_in == len(lines) == staged.rows_staged + staged.rows_quarantined
    assert [row["request_id"] for row in staged_rows(home, staged.file_id)] == [good["id"]]
    reasons = {
        row["source_line"]: row["quarantine_reason"] for row in staged_rows(home, staged.file_id, False)
    }
    assert reasons[2].startswith("unreadable line")
    assert reasons[3] == "missing timestamp"
    assert reasons[4] == "input_tokens is a boolean (true), not a number"
    assert reasons[5] == "output_tokens is missing or not a number"
    assert reasons[6].startswith("latency_ms -5")
    assert reasons[7] == "billed_cost_usd is a boolean (true), not a number"
    assert reasons[8].startswith("cached_input_tokens 2.5 is not a non-negative integer")
    assert reasons[9] == "missing endpoint"  # no model: neither endpoint nor model
    assert not any(TEXT_CANARY in reason for reason in reasons.values())


def test_no_text_and_no_user_reaches_the_lake_the_quarantine_or_the_warehouse(home, settings, tmp_path):
    land_and_stage(home, settings, write_jsonl(tmp_path / "g.jsonl", RECORDS), "openrouter")
    land_and_stage(home, settings, write_json_array(tmp_path / "g.json", RECORDS), "openrouter")
    build_lake_and_warehouse(home)
    assert warehouse_rows(home, "SELECT count(*), count(DISTINCT request_id) FROM requests") == [(4, 4)]
    assert warehouse_rows(
        home, "SELECT sum(rows_in), sum(rows_accepted), sum(rows_quarantined) FROM ingest_log"
    ) == [(10, 4, 6)]
    assert warehouse_rows(home, "SELECT DISTINCT client FROM requests WHERE client IS NOT NULL") == [
        (key_hash(USER),)
    ]
    assert files_holding_canaries(home.root) == []


def test_the_endpoint_option_overrides_every_row(home, settings, tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", RECORDS)
    staged = land_and_stage(home, settings, path, "openrouter", {"endpoint": "router"})
    assert {row["endpoint"] for row in staged_rows(home, staged.file_id)} == {"router"}


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
        land_file(home, write_jsonl(tmp_path / "g.jsonl", RECORDS), "openrouter", options)


def test_csv_is_refused(home, tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("id,created_at\n")
    with pytest.raises(ModeshiftError, match="reads jsonl files"):
        land_file(home, path, "openrouter", {})


def test_raw_rows_have_exactly_the_raw_columns_and_never_select_caller_addresses(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", RECORDS)
    asked: list[list[str]] = []
    with connect() as con:
        reader = record_reader(con, path, ".jsonl")

        def spying_reader(fields: list[str]):
            asked.append(fields)
            return reader(fields)

        relation = openrouter.raw_rows(".jsonl", {}, spying_reader)
        columns, values = relation.columns, relation.fetchall()
    assert columns[:2] == ["source_line", "parse_error"]
    assert set(columns[2:]) == set(RAW_COLUMNS)
    assert not any(TEXT_CANARY in str(value) for row in values for value in row)
    assert asked and not {"origin", "http_referer", "user_agent", "upstream_id"} & set(asked[0])


def test_the_record_by_record_reader_gives_the_same_raw_rows(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", [{"data": record} for record in RECORDS[:2]] + RECORDS[2:])
    salvage_dir = tmp_path / "salvage"
    salvage_dir.mkdir()
    with connect() as con:
        fast = openrouter.raw_rows(".jsonl", {}, record_reader(con, path, ".jsonl")).fetchall()
        slow = openrouter.raw_rows(".jsonl", {}, record_reader(con, path, ".jsonl", salvage_dir)).fetchall()
    assert len(fast) == len(RECORDS)
    assert slow == fast
