"""The openai-usage format (OpenAI Usage API completions buckets) through real landing, staging and the usage day
merge: page shapes, gzip, broken buckets, duplicates, the endpoint choice and the privacy of API key ids."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl
import pytest

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.ingest.failures import read_failure, stage_or_set_aside
from pipelines.ingest.landing import land_file
from pipelines.ingest.staging import staged_dir
from pipelines.ingest.usage_merge import merge_usage_day, read_usage_merged, recount_usage_day
from pipelines.lake.rollups import rollup_day
from tests.helpers import land_and_stage

MONDAY = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp())  # 2026-11-02T00:00:00Z
KEY_ID_CANARY = "key_CANARYabc123"


def result(**fields: Any) -> dict[str, Any]:
    """One ``organization.usage.completions.result`` as the API writes it (grouped by project, model and batch)."""
    record: dict[str, Any] = {
        "object": "organization.usage.completions.result",
        "input_tokens": 1000,
        "input_cached_tokens": 200,
        "output_tokens": 300,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "num_model_requests": 7,
        "project_id": "proj_search",
        "user_id": None,
        "api_key_id": None,
        "model": "gpt-4o-mini-2024-07-18",
        "batch": False,
        "service_tier": None,
    }
    record.update(fields)
    return record


def bucket(start: int, width: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``bucket`` object of a page."""
    return {"object": "bucket", "start_time": start, "end_time": start + width, "results": results}


def page(buckets: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    """One page of ``GET /v1/organization/usage/completions``."""
    return {
        "object": "page",
        "data": buckets,
        "has_more": has_more,
        "next_page": "AAAAAGdGxdE=" if has_more else None,
    }


def _staged_minutes(home: Home, file_id: str) -> list[dict[str, Any]]:
    files = [str(p) for p in (staged_dir(home, file_id) / "usage").glob("day=*/*.parquet")]
    if not files:
        return []
    with duckdb.connect() as con:
        con.sql("SET TimeZone = 'UTC'")
        relation = con.sql(
            "SELECT * FROM read_parquet($files, hive_partitioning = true) ORDER BY source_line, minute",
            params={"files": files},
        )
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def _quarantined(home: Home, file_id: str) -> dict[int, str]:
    files = [str(p) for p in (staged_dir(home, file_id) / "day=quarantine").glob("*.parquet")]
    if not files:
        return {}
    with duckdb.connect() as con:
        rows = con.sql(
            "SELECT source_line, quarantine_reason FROM read_parquet($files)", params={"files": files}
        ).fetchall()
    return dict(rows)


def _landed_at(home: Home, file_id: str) -> int:
    from pipelines.ingest.landing import get_landed_file

    return get_landed_file(home, file_id).landed_at_ns


def test_a_pretty_printed_page_of_hourly_buckets_is_spread_over_minutes_exactly(home, settings, tmp_path):
    usage = page(
        [
            bucket(
                MONDAY, 3600, [result(), result(project_id="proj_batch", batch=True, num_model_requests=60)]
            ),
            bucket(MONDAY + 3600, 3600, []),  # an hour without usage: a bucket with no results
            bucket(
                MONDAY + 7200, 3600, [result(input_tokens=59, input_cached_tokens=0, num_model_requests=1)]
            ),
        ],
        has_more=True,
    )
    path = tmp_path / "usage-page.json"
    path.write_text(
        json.dumps(usage, indent=2)
    )  # a page as the API answers it, pretty-printed over many lines

    staged = land_and_stage(home, settings, path, "openai-usage")

    assert (staged.rows_in, staged.rows_quarantined, staged.rows_by_day) == (3, 0, {})
    assert staged.usage_by_day == {"2026-11-02": 3}
    minutes = _staged_minutes(home, staged.file_id)
    assert len(minutes) == 3 * 60
    first = [m for m in minutes if m["source_line"] == 1]
    # 7 requests and 1,000 tokens over 60 minutes: whole numbers that add up exactly
    assert sum(m["requests"] for m in first) == 7 and sum(m["input_tokens"] for m in first) == 1000
    assert (
        sum(m["cached_input_tokens"] for m in first) == 200 and sum(m["output_tokens"] for m in first) == 300
    )
    assert [i for i, m in enumerate(first) if m["requests"]] == [8, 17, 25, 34, 42, 51, 59]
    assert {m["input_tokens"] for m in first} == {16, 17}
    assert {m["width_s"] for m in minutes} == {3600}
    assert {m["endpoint"] for m in minutes} == {"proj_search", "proj_batch"}
    assert all(m["batch"] for m in minutes if m["endpoint"] == "proj_batch")
    assert minutes[0]["minute"] == datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    third = [m for m in minutes if m["source_line"] == 3]
    assert third[0]["minute"] == datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    assert sum(m["input_tokens"] for m in third) == 59 and max(m["input_tokens"] for m in third) == 1


def test_pages_as_json_lines_gzip_flattened_rows_and_an_array_all_read_the_same_buckets(
    home, settings, tmp_path
):
    buckets = [
        bucket(MONDAY + 60 * i, 60, [result(input_tokens=100 + i, input_cached_tokens=50)]) for i in range(5)
    ]
    shapes: dict[str, bytes] = {
        "pages.jsonl": b"".join(json.dumps(page([b])).encode() + b"\n" for b in buckets),
        "pages-array.json": json.dumps([page(buckets[:2]), page(buckets[2:])]).encode(),
        "flat.jsonl": b"".join(
            json.dumps({"start_time": b["start_time"], "end_time": b["end_time"], **b["results"][0]}).encode()
            + b"\n"
            for b in buckets
        ),
        "buckets.jsonl": b"\n\n".join(json.dumps(b).encode() for b in buckets)
        + b"\n",  # blank lines are no record
    }
    shapes["pages.jsonl.gz"] = gzip.compress(shapes["pages.jsonl"])
    seen = {}
    for name, data in shapes.items():
        path = tmp_path / name
        path.write_bytes(data)
        staged = land_and_stage(home, settings, path, "openai-usage")
        assert (staged.rows_in, staged.rows_quarantined) == (5, 0), name
        minutes = _staged_minutes(home, staged.file_id)
        seen[name] = sorted((m["minute"], m["input_tokens"], m["requests"]) for m in minutes)
    assert len({tuple(v) for v in seen.values()}) == 1
    # a 1m bucket is its minute exactly
    assert seen["pages.jsonl"][0] == (datetime(2026, 11, 2, 0, 0, tzinfo=UTC), 100, 7)

    # five exports of the same five buckets: the day merge keeps each bucket once, from the first landed file
    merged = merge_usage_day(home, "2026-11-02")
    assert merged.rows_in == 25 and merged.accepted == 5 and merged.quarantined == 20
    first = min(home_files := merged.inputs, key=lambda f: _landed_at(home, f))
    assert home_files[first].accepted == 5  # every bucket kept from the first landed export
    assert all(c.rows_in == c.accepted + c.quarantined for c in merged.inputs.values())
    assert read_usage_merged(home, "2026-11-02").requests == 5 * 7
    assert recount_usage_day(home, "2026-11-02").balanced
    # re-running the merge changes nothing
    assert merge_usage_day(home, "2026-11-02") == merged


BROKEN: list[tuple[dict[str, Any], str]] = [
    ({"input_tokens": -5}, "input_tokens -5 is negative"),
    ({"output_tokens": -1}, "output_tokens -1 is negative"),
    ({"num_model_requests": -2}, "num_model_requests -2 is negative"),
    ({"input_cached_tokens": -3}, "input_cached_tokens -3 is negative"),
    ({"input_tokens": True}, "input_tokens is a boolean (true), not a number"),
    ({"input_tokens": 10.5}, "input_tokens 10.5 is not an integer below 10^12"),
    ({"input_cached_tokens": 5000}, "input_cached_tokens 5000 exceeds input_tokens 1000"),
    ({"model": None}, "missing model (export the usage grouped by model: group_by=model)"),
    ({"project_id": None}, "no project_id to name the endpoint"),
    ({"batch": "sometimes"}, "batch 'sometimes' is not a boolean"),
    ({"output_audio_tokens": -7}, "output_audio_tokens '-7' is not a non-negative integer"),
]


def test_broken_buckets_are_quarantined_with_their_reason_and_counted(home, settings, tmp_path):
    good = bucket(MONDAY, 60, [result()])
    lines = [json.dumps(page([good]))]
    lines += [json.dumps(page([bucket(MONDAY + 120, 60, [result(**fields)])])) for fields, _ in BROKEN]
    bounds = [
        (
            {"start_time": MONDAY + 600, "end_time": MONDAY + 600},
            "end_time 1793578200 is not after start_time 1793578200",
        ),
        ({"start_time": MONDAY + 600, "end_time": MONDAY + 540}, "is not after start_time"),
        ({"start_time": MONDAY + 600, "end_time": MONDAY + 720}, "bucket width 120 s is not 1m, 1h or 1d"),
        ({"start_time": MONDAY + 610, "end_time": MONDAY + 670}, "is not on a whole minute"),
        ({"start_time": MONDAY + 82800 + 1800, "end_time": MONDAY + 86400 + 1800}, "crosses midnight UTC"),
        ({"start_time": MONDAY + 3600, "end_time": MONDAY + 90000}, "crosses midnight UTC"),
        (
            {"start_time": "soon", "end_time": MONDAY},
            "start_time 'soon' is not a whole number of Unix seconds",
        ),
        ({"start_time": 946684800, "end_time": 946684860}, "is before the configured start date"),
    ]
    for fields, _ in bounds:
        lines.append(json.dumps({**result(), **fields}))  # flattened rows carry their bucket's bounds
    lines.append("{not json")
    lines.append(json.dumps({"object": "page", "data": [{"object": "bucket", "start_time": MONDAY}]}))
    lines.append(json.dumps([1, 2]))
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")

    staged = land_and_stage(home, settings, path, "openai-usage")

    expected = [reason for _, reason in BROKEN] + [reason for _, reason in bounds]
    expected += ["not valid JSON", "a bucket without a results list", "is JSON but not an object"]
    assert staged.rows_in == 1 + len(expected)
    assert staged.rows_quarantined == len(expected) and staged.usage_by_day == {"2026-11-02": 1}
    reasons = _quarantined(home, staged.file_id)
    assert sorted(reasons) == list(range(2, 2 + len(expected)))
    for line, want in enumerate(expected, start=2):
        assert want in reasons[line], (line, reasons[line])


def test_a_file_whose_buckets_were_all_refused_is_an_error_the_user_sees(home, settings, tmp_path):
    path = tmp_path / "no-model.jsonl"
    path.write_text(json.dumps(page([bucket(MONDAY, 3600, [result(model=None), result(model=None)])])) + "\n")
    landed, _ = land_file(home, path, "openai-usage", {})
    with pytest.raises(ModeshiftError, match="every one of its 2 usage record"):
        from pipelines.ingest.staging import stage_file

        stage_file(home, settings, landed)
    assert not staged_dir(home, landed.file_id).exists()
    with pytest.raises(ModeshiftError):
        stage_or_set_aside(home, settings, landed)
    failure = read_failure(home, landed.file_id)
    assert failure is not None and failure.failed and "missing model" in failure.error

    # a gzip file that is no gzip is refused as a whole: one record, refused, so an error too
    fake = tmp_path / "usage.jsonl.gz"
    fake.write_text(json.dumps(page([])))
    landed, _ = land_file(home, fake, "openai-usage", {})
    with pytest.raises(ModeshiftError, match="not gzip"):
        stage_or_set_aside(home, settings, landed)


def test_an_empty_page_is_an_empty_file_not_an_error(home, settings, tmp_path):
    path = tmp_path / "quiet.json"
    path.write_text(json.dumps(page([bucket(MONDAY, 86400, [])])))
    staged = land_and_stage(home, settings, path, "openai-usage")
    assert (staged.rows_in, staged.rows_quarantined, staged.usage_by_day) == (0, 0, {})


def test_the_endpoint_choice_and_api_key_ids_kept_only_as_a_salted_hash(home, settings, tmp_path):
    usage = page(
        [bucket(MONDAY, 86400, [result(api_key_id=KEY_ID_CANARY, project_id=None, user_id="user_ann")])]
    )
    path = tmp_path / "by-key.json"
    path.write_text(json.dumps(usage))
    by_key = land_and_stage(home, settings, path, "openai-usage", {"endpoint_by": "api_key_id"})
    minutes = _staged_minutes(home, by_key.file_id)
    assert len(minutes) == 1440  # a daily bucket starting at 00:00 UTC covers the whole day
    salted = hashlib.sha256(("test-salt" + KEY_ID_CANARY).encode()).hexdigest()[:16]
    assert {m["endpoint"] for m in minutes} == {f"key-{salted}"}
    for file in staged_dir(home, by_key.file_id).rglob("*"):
        if file.is_file():
            assert KEY_ID_CANARY.encode() not in file.read_bytes(), file

    path2 = tmp_path / "by-user.json"
    path2.write_text(json.dumps(usage) + "\n")  # other bytes: another landed file
    assert {m["endpoint"] for m in _staged_minutes(home, land_and_stage(
        home, settings, path2, "openai-usage", {"endpoint_by": "user_id"}).file_id)} == {"user_ann"}  # fmt: skip
    path3 = tmp_path / "named.json"
    path3.write_text(json.dumps(usage) + " ")
    named = land_and_stage(home, settings, path3, "openai-usage", {"endpoint": "search-api"})
    assert {m["endpoint"] for m in _staged_minutes(home, named.file_id)} == {"search-api"}
    # grouped by project (the default) but the export has no project: every result refused, with the way out
    path4 = tmp_path / "default.json"
    path4.write_text(json.dumps(usage) + "  ")
    landed, _ = land_file(home, path4, "openai-usage", {})
    with pytest.raises(ModeshiftError, match="--endpoint-by"):
        stage_or_set_aside(home, settings, landed)


def test_options_that_do_not_apply_are_refused_at_ingest(home, tmp_path):
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps(page([bucket(MONDAY, 60, [result()])])) + "\n")
    with pytest.raises(ModeshiftError, match="does not take --model"):
        land_file(home, path, "openai-usage", {"model": "gpt-4o"})
    with pytest.raises(ModeshiftError, match="not a field of a usage result"):
        land_file(home, path, "openai-usage", {"endpoint_by": "organization"})
    with pytest.raises(ModeshiftError, match="does not take --endpoint-by"):
        land_file(home, path, "canonical", {"endpoint_by": "model"})
    csv = tmp_path / "u.csv"
    csv.write_text("start_time,end_time\n")
    with pytest.raises(ModeshiftError, match="reads jsonl files"):
        land_file(home, csv, "openai-usage", {})


RATE_CARD = """model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,batch_discount,gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,target_utilization,source,as_of
gpt-4o-mini-2024-07-18,2020-01-01,,1.0,4.0,true,0.5,G1,1,2.0,1000,3,1.0,test card,2026-11-01
"""


def test_the_rollup_prices_usage_like_request_rows_and_cached_tokens_at_the_cached_price_when_the_card_has_one(
    home, settings, tmp_path, monkeypatch
):
    card = tmp_path / "card.csv"
    card.write_text(RATE_CARD)
    home.config_file.write_text(f"rate_card: {card}\n")
    from pipelines.core.settings import Settings

    settings = Settings.load(home)
    path = tmp_path / "u.jsonl"
    # 1,000,000 input tokens of which 400,000 cached, 100,000 output, in one minute
    usage = page([bucket(MONDAY, 60, [result(input_tokens=1_000_000, input_cached_tokens=400_000,
                                             output_tokens=100_000, num_model_requests=50)])])  # fmt: skip
    path.write_text(json.dumps(usage) + "\n")
    land_and_stage(home, settings, path, "openai-usage")
    merge_usage_day(home, "2026-11-02")

    def minute_row() -> dict[str, Any]:
        rollup_day(home, settings, "2026-11-02")
        with duckdb.connect() as con:
            relation = con.sql(
                "SELECT * FROM read_parquet($f)",
                params={"f": str(home.rollup_day_dir("2026-11-02") / "minutes.parquet")},
            )
            rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
        assert len(rows) == 1
        return rows[0]

    row = minute_row()
    # no cached price on the card: cached tokens at the input price, (1,000,000 × $1 + 100,000 × $4) / 10⁶
    assert row["list_cost_usd"] == pytest.approx(1.4)
    assert row["weighted_tokens"] == pytest.approx(1_000_000 + 3 * 100_000)
    assert (row["requests"], row["ok_requests"], row["bucket_requests"], row["bucket_width_s"]) == (
        50,
        50,
        50,
        60,
    )
    assert row["cached_input_tokens"] == 400_000 and row["unpriced_requests"] == 0

    # a card with a cached price: (600,000 × $1 + 400,000 × $0.25 + 100,000 × $4) / 10⁶
    from pipelines.lake import rollups

    real = rollups.load_rate_card
    monkeypatch.setattr(
        rollups,
        "load_rate_card",
        lambda p: real(p).with_columns(pl.lit(0.25).alias("cached_input_usd_per_mtok")),
    )
    assert minute_row()["list_cost_usd"] == pytest.approx(1.1)
