"""A week of request-level logs plus a usage-bucket export of other endpoints, through real Dagster runs: the bucketed
endpoints are profiled with their unavailable metrics named, recommended with the money, and counted in
ingest_log (docs/metrics.md#aggregated-sources)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.app.cli import main
from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.core.lake_mirror import LakeMirror
from pipelines.core.object_store import S3Store
from pipelines.core.settings import Settings
from pipelines.domain.endpoint_profile import HOUR_METRICS, MINUTE_METRICS, REQUEST_LEVEL_METRICS
from pipelines.ingest.landing import land_file
from pipelines.lake.step_inputs import step_inputs
from tests.servers import s3_server

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
T0 = int(MONDAY.timestamp())
# $1 per million input tokens, output $2, output weight 1; a one-GPU replica at $2 an hour serving K = 1,000
# weighted tokens/s at u = 1; batch half price (the hand card of tests/test_recommendations_pipeline.py).
RATE_CARD = """model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,batch_discount,gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,target_utilization,source,as_of
hand/model,2020-01-01,,1.0,2.0,true,0.5,G1,1,2.0,1000,1,1.0,test card,2026-11-01
"""


def _result(project: str, tokens_in: int, requests: int, batch: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": tokens_in,
        "input_cached_tokens": 0,
        "output_tokens": 0,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "num_model_requests": requests,
        "project_id": project,
        "user_id": None,
        "api_key_id": None,
        "model": "hand/model",
        "batch": batch,
        "service_tier": None,
    } | extra


def _usage_export() -> str:
    """JSON lines of pages: one page per day of 1-minute buckets for proj_minute (120,000 input tokens and 10
    requests a minute), one page of 1-hour buckets for proj_hourly (600,000 tokens, 60 requests an hour) and
    proj_batch (Batch API, 60,000 tokens an hour), and one page of broken buckets."""
    lines = []
    for day in range(7):
        start = T0 + day * 86400
        minute_buckets = [
            {"object": "bucket", "start_time": start + 60 * m, "end_time": start + 60 * m + 60,
             "results": [_result("proj_minute", 120_000, 10)]}
            for m in range(1440)
        ]  # fmt: skip
        lines.append({"object": "page", "data": minute_buckets, "has_more": day < 6, "next_page": None})
    hourly = [
        {"object": "bucket", "start_time": T0 + 3600 * h, "end_time": T0 + 3600 * h + 3600,
         "results": [_result("proj_hourly", 600_000, 60), _result("proj_batch", 60_000, 6, batch=True)]}
        for h in range(7 * 24)
    ]  # fmt: skip
    lines.append({"object": "page", "data": hourly, "has_more": False, "next_page": None})
    broken = [
        {"object": "bucket", "start_time": T0, "end_time": T0 + 120, "results": [_result("proj_x", 5, 1)]},
        {"object": "bucket", "start_time": T0, "end_time": T0, "results": [_result("proj_x", 5, 1)]},
        {"object": "bucket", "start_time": T0, "end_time": T0 + 60, "results": [_result("proj_x", -5, 1)]},
        {
            "object": "bucket",
            "start_time": T0,
            "end_time": T0 + 60,
            "results": [_result("proj_x", 5, 1, model=None)],
        },
    ]
    lines.append({"object": "page", "data": broken, "has_more": False, "next_page": None})
    return "".join(json.dumps(line) + "\n" for line in lines)


def _requests() -> str:
    """The request-level endpoint 'chat': one request every 2 minutes of the week, 1,000 input and 100 output tokens."""
    rows = [
        {"request_id": f"c{m}", "ts": (MONDAY + timedelta(minutes=m, seconds=m % 17)).isoformat(), "endpoint": "chat",
         "model": "hand/model", "input_tokens": 1000, "output_tokens": 100, "stream": True, "latency_ms": 900 + m % 50}
        for m in range(0, 7 * 1440, 2)
    ]  # fmt: skip
    return "".join(json.dumps(row) + "\n" for row in rows)


def _attribute(key: str, value: Any) -> dict[str, Any]:
    """One OTLP/JSON attribute (64-bit integers are decimal strings in OTLP/JSON)."""
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _spans() -> str:
    """The request-level endpoint 'chat' as an OpenTelemetry span export (the collector's file exporter, ten GenAI
    spans a line): one chat call every 2 minutes of the week, 1,000 input and 100 output tokens, streamed."""
    spans = []
    for m in range(0, 7 * 1440, 2):
        start_ns = int((MONDAY + timedelta(minutes=m, seconds=m % 17)).timestamp()) * 1_000_000_000
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                      "gen_ai.request.model": "hand/model", "gen_ai.response.id": f"c{m}",
                      "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100,
                      "gen_ai.request.stream": True}  # fmt: skip
        spans.append({"traceId": f"{m:032x}", "spanId": f"{m:016x}", "name": "chat hand/model",
                      "startTimeUnixNano": str(start_ns),
                      "endTimeUnixNano": str(start_ns + (900 + m % 50) * 1_000_000),
                      "attributes": [_attribute(k, v) for k, v in attributes.items()], "status": {}})  # fmt: skip
    resource = {"attributes": [_attribute("service.name", "chat")]}
    lines = [
        {
            "resourceSpans": [
                {"resource": resource, "scopeSpans": [{"scope": {"name": "t"}, "spans": spans[i : i + 10]}]}
            ]
        }
        for i in range(0, len(spans), 10)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines)


def _rows(home: Home, query: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        relation = con.sql(query)
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


@pytest.mark.slow
def test_a_week_of_requests_and_usage_buckets_through_dagster(home, tmp_path: Path):
    card = tmp_path / "card.csv"
    card.write_text(RATE_CARD)
    home.config_file.write_text(f"rate_card: {card}\n")
    spans = (
        tmp_path / "chat.jsonl"
    )  # a span export for the request-level endpoint, usage buckets for the others
    spans.write_text(_spans())
    land_file(home, spans, "otel-genai", {})
    usage = tmp_path / "usage-2026-11-02.jsonl"
    usage.write_text(_usage_export())
    land_file(home, usage, "openai-usage", {})
    # the same export again, gzipped (an export of an overlapping period would be the same): counted once
    again = tmp_path / "usage-again.jsonl.gz"
    again.write_bytes(gzip.compress(usage.read_bytes()))
    land_file(home, again, "openai-usage", {})

    summary = materialize_pending(home, progress=lambda _: None)
    assert summary.failures == [] and summary.failed_files == []

    profiles = {r["endpoint"]: r for r in _rows(home, "SELECT * FROM endpoint_profiles")}
    assert set(profiles) == {"chat", "proj_minute", "proj_hourly", "proj_batch"}
    chat, minute, hourly, batch = (profiles[e] for e in ("chat", "proj_minute", "proj_hourly", "proj_batch"))

    assert chat["source_grain"] == "request" and chat["unavailable_metrics"] == []
    assert chat["unavailable_reason"] is None
    assert chat["burstiness_an"] is not None and chat["latency_p95_ms"] is not None

    assert minute["source_grain"] == "1m"
    assert minute["unavailable_metrics"] == list(REQUEST_LEVEL_METRICS)
    assert "1m buckets, without single requests" in minute["unavailable_reason"]
    assert all(minute[m] is None for m in REQUEST_LEVEL_METRICS)
    # 1-minute buckets are minutes exactly: 120,000 tokens a minute = 2,000 tokens/s, every minute of the week
    assert minute["requests"] == 10 * 10080 and minute["input_tokens"] == 120_000 * 10080
    assert minute["peak_tps"] == pytest.approx(2000.0) and minute["p99_tps"] == pytest.approx(2000.0)
    assert minute["fano"] == pytest.approx(0.0)

    assert hourly["source_grain"] == "1h"
    assert hourly["unavailable_metrics"] == list(REQUEST_LEVEL_METRICS + MINUTE_METRICS)
    assert "spread evenly" in hourly["unavailable_reason"]
    assert all(hourly[m] is None for m in REQUEST_LEVEL_METRICS + MINUTE_METRICS)
    assert all(hourly[m] is not None for m in HOUR_METRICS) and hourly["mean_tps"] == pytest.approx(
        10_000 / 60
    )
    assert hourly["burst_class"] == "moderate"  # no A_n, no peak/mean: neither bursty nor smooth

    assert (batch["current_mode"], batch["latency_class"], batch["offline_share"]) == (
        "batch",
        "offline",
        1.0,
    )

    recs = {r["endpoint"]: r for r in _rows(home, "SELECT * FROM recommendations")}
    # proj_minute: 2,000 weighted tokens/s all week. Serverless 120,000 × $1e-6 × 10,080 = $1,209.60; two replicas
    # (K = 1,000) cost 2 × $2 × 168 h = $672: dedicated is the raw candidate, saving $537.60 (held: one week)
    m = recs["proj_minute"]
    assert round(m["current_cost_usd"], 2) == 1209.60
    assert (m["raw_mode"], m["raw_replicas"], round(m["raw_cost_usd"], 2)) == ("dedicated", 2, 672.00)
    assert round(m["raw_savings_usd"], 2) == 537.60
    assert not any("usage buckets" in reason for reason in m["reasons"])
    # proj_hourly: 600,000 tokens an hour, serverless $0.60 × 168 = $100.80, cheaper than a replica ($336)
    h = recs["proj_hourly"]
    assert round(h["current_cost_usd"], 2) == 100.80 and h["raw_mode"] == "serverless"
    assert h["confidence"] == "low"
    assert any("known only in 1h usage buckets" in reason for reason in h["reasons"])
    # proj_batch runs on batch today: its current cost is the batch price of its list cost
    b = recs["proj_batch"]
    assert b["current_mode"] == "batch" and b["current_cost_usd"] is not None
    assert round(b["current_cost_usd"], 2) == round(60_000 * 168 * 1e-6 * 0.5, 2)

    log = {r["original_name"]: r for r in _rows(home, "SELECT * FROM ingest_log")}
    for row in log.values():
        assert row["rows_in"] == row["rows_accepted"] + row["rows_quarantined"] and row["rows_pending"] == 0
    buckets = 7 * 1440 + 2 * 168
    assert log["usage-2026-11-02.jsonl"]["rows_in"] == buckets + 4
    assert log["usage-2026-11-02.jsonl"]["rows_accepted"] == buckets
    assert log["usage-2026-11-02.jsonl"]["rows_quarantined"] == 4
    assert log["usage-again.jsonl.gz"]["rows_accepted"] == 0  # every bucket a duplicate of the first export's
    assert log["usage-again.jsonl.gz"]["rows_quarantined"] == buckets + 4
    assert log["chat.jsonl"]["rows_accepted"] == 7 * 720
    stages = dict(
        (r["stage"], r["n"])
        for r in _rows(home, "SELECT stage, count(*) AS n FROM quarantine GROUP BY stage")
    )  # fmt: skip
    assert stages == {"parse": 8, "duplicate": buckets}
    # the request lake holds only real requests
    assert _rows(home, "SELECT count(*) AS n FROM requests")[0]["n"] == 7 * 720

    # nothing is pending, and running again changes nothing
    again_summary = materialize_pending(home, progress=lambda _: None)
    assert sum(again_summary.runs.get(job, 0) for job in ("daily", "weekly")) == 0


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Store]:
    """An empty bucket of moto's S3 server on 127.0.0.1; MODESHIFT_LAKE points at it (object mode)."""
    with s3_server() as server:
        bucket = server.new_bucket()
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("MODESHIFT_LAKE", f"s3://{bucket}/lake")
        monkeypatch.setenv("MODESHIFT_SALT", "usage-object-lake-test-salt-0123456789")
        monkeypatch.setenv("MODESHIFT_SCRATCH", str(tmp_path / "scratch"))
        monkeypatch.delenv("MODESHIFT_HOME", raising=False)
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
        (tmp_path / "dagster").mkdir()
        yield S3Store(bucket, "lake")


def _small_export() -> str:
    """Three days of hourly buckets of one project and one hour of 1-minute buckets of another."""
    hourly = [
        {"object": "bucket", "start_time": T0 + 3600 * h, "end_time": T0 + 3600 * h + 3600,
         "results": [_result("proj_hourly", 6_000 + h, 6)]}
        for h in range(3 * 24)
    ]  # fmt: skip
    minute = [
        {"object": "bucket", "start_time": T0 + 86400 + 60 * m, "end_time": T0 + 86400 + 60 * m + 60,
         "results": [_result("proj_minute", 100 + m, 1)]}
        for m in range(60)
    ]  # fmt: skip
    pages = [{"object": "page", "data": hourly}, {"object": "page", "data": minute}]
    return "".join(json.dumps(p) + "\n" for p in pages)


def _tables(root: Path) -> dict[str, list[tuple]]:
    """The usage lake, the minute rollups and the profiles under ``root`` (without landing times)."""
    patterns = {
        "usage": "lake/usage/day=*/part.parquet",
        "minutes": "lake/rollups/day=*/minutes.parquet",
        "profiles": "lake/weekly/endpoint_profiles/week=*/part.parquet",
    }
    tables = {}
    with duckdb.connect() as con:
        con.sql("SET TimeZone = 'UTC'")
        for name, pattern in patterns.items():
            files = sorted(str(p) for p in root.glob(pattern))
            assert files, f"no {name} under {root}"
            rows = con.sql(
                "SELECT * FROM read_parquet($files) ORDER BY ALL", params={"files": files}
            ).fetchall()
            tables[name] = [
                tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in row) for row in rows
            ]
    return tables


def test_object_mode_stages_merges_and_rolls_up_usage_like_the_local_lake(
    lake: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "usage.jsonl"
    source.write_text(_small_export())
    requests = tmp_path / "chat.jsonl"
    requests.write_text("".join(_requests().splitlines(keepends=True)[:500]))
    with monkeypatch.context() as patch:
        patch.delenv("MODESHIFT_LAKE", raising=False)
        patch.setenv("MODESHIFT_HOME", str(tmp_path / "local"))
        local = Home(tmp_path / "local").ensure()
        land_file(local, requests, "canonical", {})
        land_file(
            local, source, "openai-usage", {"endpoint_by": "project_id"}
        )  # the same read options: the same id
        materialize_pending(local, progress=lambda _: None)

    assert main(["ingest", "--format", "canonical", str(requests)]) == 0
    assert main(["ingest", "--format", "openai-usage", "--endpoint-by", "project_id", str(source)]) == 0
    assert main(["materialize", "--quiet"]) == 0
    units = {item.key for item in lake.list("_commits/lake/usage/")}
    assert units == {f"_commits/lake/usage/day=2026-11-0{d}.json" for d in (2, 3, 4)}
    mirror = LakeMirror(lake, tmp_path / "check")
    mirror.pull_metadata()
    mirror.pull_files({"lake/": None})
    remote = _tables(tmp_path / "check")
    assert remote == _tables(local.root)
    assert {row[0] for row in remote["usage"]} == {"proj_hourly", "proj_minute"}

    # a worker with an empty scratch brings in exactly what a day's steps read: the day merge the staged usage
    # minutes of its day, the rollup the merged usage day
    worker = LakeMirror(lake, tmp_path / "worker")
    worker.pull_metadata()
    home = Home(tmp_path / "worker")
    settings = Settings.load(home)
    worker.pull_files(step_inputs(home, settings, {"requests"}, "2026-11-03"))
    staged = sorted(p.relative_to(home.staged).as_posix() for p in home.staged.glob("*/usage/*/*.parquet"))
    assert staged and all("/usage/day=2026-11-03/" in name for name in staged)
    worker.pull_files(step_inputs(home, settings, {"daily_rollups"}, "2026-11-03"))
    assert (home.usage_day_dir("2026-11-03") / "part.parquet").exists()
    assert not (home.usage_day_dir("2026-11-02") / "part.parquet").exists()
