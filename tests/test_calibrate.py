"""``modeshift calibrate`` on a home built through real runs: a dedicated endpoint with declared replicas and known
per-minute load and latency gets the documented estimate (the 95th percentile of weighted tokens/s per replica,
the median P95 latency of the minutes at or above it) beside the capacity file's K for its shape; endpoints without
declared replicas or without dedicated traffic are listed with why; the command only reads
(docs/cost-model.md#calibrating-replica-capacity)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from pipelines.app.cli import main
from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.domain.calibration import estimate_replica_capacity
from pipelines.ingest.landing import land_file
from pipelines.lake.calibration import calibrate

MODEL_70B = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
START = datetime(2026, 11, 9, tzinfo=UTC)  # a Monday
MINUTES = 2 * 1440
TOKENS_IN, TOKENS_OUT = 1_000, 100  # weighted 1,000 + 6 × 100 = 1,600 per request (w = 6 on the shipped card)


def _count(minute: int) -> int:
    """Requests of ded-chat in a minute: 1 to 20, in a saw tooth."""
    return 1 + minute % 20


def _latency(count: int) -> float:
    """Every request of a minute with ``count`` requests takes 100 + 10·count ms (busier is slower)."""
    return 100.0 + 10.0 * count


def _write_logs(path: Path) -> None:
    rows = []
    for minute in range(MINUTES):
        at = START + timedelta(minutes=minute)
        for k in range(_count(minute)):
            rows.append(
                ("ded-chat", MODEL_70B, at + timedelta(seconds=k), "dedicated", _latency(_count(minute)))
            )
        if minute % 30 == 0:
            rows.append(("ded-undeclared", MODEL_70B, at, "dedicated", 300.0))
            rows.append(("serverless-declared", MODEL_70B, at, "serverless", 300.0))
            rows.append(("plain-serverless", MODEL_70B, at, "serverless", 300.0))
    with open(path, "w", encoding="utf-8") as handle:
        for i, (endpoint, model, at, mode, latency) in enumerate(rows):
            record = {
                "request_id": f"c{i}",
                "ts": at.isoformat(),
                "endpoint": endpoint,
                "model": model,
                "input_tokens": TOKENS_IN,
                "output_tokens": TOKENS_OUT,
                "latency_ms": latency,
                "deployment_mode": mode,
            }
            handle.write(json.dumps(record) + "\n")


@pytest.fixture(scope="module")
def calibrated_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    import os

    root = tmp_path_factory.mktemp("calibrate") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODESHIFT_HOME", str(root))
        patch.setenv("MODESHIFT_SALT", "test-salt")
        patch.setenv("DAGSTER_HOME", os.environ.get("DAGSTER_HOME", str(root / "dagster")))
        home = Home(root).ensure()
        home.config_file.write_text(
            "deployments:\n  ded-chat: 2\n  serverless-declared: 1\n  gone: 3\n", encoding="utf-8"
        )
        source = root.parent / "calibrate.jsonl"
        _write_logs(source)
        land_file(home, source, "canonical", {})
        materialize_pending(home, progress=lambda _: None)
    return home


def test_the_estimate_is_the_documented_percentile_of_the_known_load(calibrated_home: Home) -> None:
    result = calibrate(calibrated_home, Settings.load(calibrated_home))
    rows = {row.endpoint: row for row in result.rows}
    chat = rows["ded-chat"]
    assert chat.estimate is not None and chat.replicas == 2
    counts = np.array([_count(m) for m in range(MINUTES)], dtype=float)
    per_replica = counts * (TOKENS_IN + 6 * TOKENS_OUT) / 60 / 2
    expected = float(np.quantile(per_replica, 0.95))  # 0.95 quantile of the 1..20 saw tooth: 19.05 requests
    assert chat.estimate.minutes_observed == MINUTES
    assert chat.estimate.per_replica_tps == pytest.approx(expected)
    assert chat.estimate.per_replica_tps == pytest.approx(19.05 * 1_600 / 60 / 2)
    # minutes at or above the estimate: those with 20 requests, whose every request took 300 ms
    assert chat.estimate.busy_minutes == MINUTES // 20
    assert chat.estimate.latency_p95_ms == pytest.approx(_latency(20))
    # the card's K for ~1,000 in / 100 out (L = 1,100) on 2×H100: between short_chat (256) and balanced (2,000)
    t = math.log(1_100 / 256) / math.log(2_000 / 256)
    assert chat.card_tps == pytest.approx(44_646 + t * (29_435 - 44_646))
    assert chat.ratio == pytest.approx(expected / chat.card_tps)
    assert chat.input_tokens_p50 == TOKENS_IN and chat.output_tokens_p50 == TOKENS_OUT
    assert (
        chat.hint is not None and "replica_capacity.csv" in chat.hint and "balanced row" in chat.hint
    )  # nearest in log length
    assert "lower bound unless they were saturated" in chat.hint and "300 ms" in chat.hint


def test_endpoints_that_cannot_be_calibrated_say_why(calibrated_home: Home) -> None:
    result = calibrate(calibrated_home, Settings.load(calibrated_home))
    rows = {row.endpoint: row for row in result.rows}
    assert rows["ded-undeclared"].estimate is None
    assert "no replica count declared: add 'ded-undeclared: N' under deployments:" in (
        rows["ded-undeclared"].why or ""
    )
    assert rows["serverless-declared"].estimate is None
    assert "no request served on dedicated replicas" in (rows["serverless-declared"].why or "")
    assert rows["gone"].why == "no requests in the lake"
    assert result.other_endpoints == 1  # plain-serverless
    assert sorted(rows) == ["ded-chat", "ded-undeclared", "gone", "serverless-declared"]


def test_an_autoscaled_deployment_is_not_calibrated_and_says_why(calibrated_home: Home) -> None:
    settings = Settings.from_overrides(
        {"deployments": {"ded-undeclared": {"min_replicas": 1, "max_replicas": 3}}}
    )
    rows = {row.endpoint: row for row in calibrate(calibrated_home, settings).rows}
    assert rows["ded-undeclared"].estimate is None
    assert rows["ded-undeclared"].why == (
        "declared as autoscale under deployments: its replica count changes during the week; calibrating needs a "
        "fixed count"
    )


def test_the_command_prints_the_table_and_the_hints(
    calibrated_home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODESHIFT_HOME", str(calibrated_home.root))
    assert main(["calibrate"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:3] == ["endpoint", "model", "replicas"] and "ratio" in header
    chat = next(line for line in out.splitlines() if line.startswith("ded-chat "))
    estimate = 19.05 * 1_600 / 60 / 2
    assert f"{round(estimate):,}" in chat and " 300" in chat and f"{MINUTES:,}" in chat
    assert "  ded-chat: the replicas carried" in out
    assert (
        "Not calibrated:" in out
        and "  ded-undeclared (meta-llama/Llama-3.3-70B-Instruct-Turbo): no replica" in out
    )
    assert "1 other endpoint(s) served only serverless or batch" in out


def test_calibrate_does_not_create_a_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("MODESHIFT_HOME", str(missing))
    assert main(["calibrate"]) == 2
    assert "There is no modeshift home at" in capsys.readouterr().err
    assert not missing.exists()


def test_an_empty_home_has_nothing_to_calibrate(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate"]) == 0
    assert "nothing to calibrate" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ the estimate, pure


def test_the_estimate_known_answers() -> None:
    # 20 minutes of 60 × (1..20) weighted tokens on 1 replica: x = 1..20 tokens/s; p95 (linear) = 19.05
    tokens = np.arange(1, 21, dtype=float) * 60
    latency = np.arange(1, 21, dtype=float) * 10
    estimate = estimate_replica_capacity(tokens, latency, replicas=1)
    assert estimate.per_replica_tps == pytest.approx(19.05)
    assert estimate.busy_minutes == 1 and estimate.latency_p95_ms == 200.0
    # two replicas halve the per-replica load; the median of the busy minutes' latency ignores NaN
    halved = estimate_replica_capacity(tokens, np.where(latency > 150, np.nan, latency), replicas=2)
    assert halved.per_replica_tps == pytest.approx(19.05 / 2) and halved.latency_p95_ms is None
    assert estimate_replica_capacity(tokens, latency, 1, quantile=0.5).per_replica_tps == pytest.approx(10.5)
    flat = estimate_replica_capacity(np.full(5, 600.0), np.array([1.0, 2, 3, 4, 5]), 1)
    assert flat.per_replica_tps == 10.0 and flat.busy_minutes == 5 and flat.latency_p95_ms == 3.0


@pytest.mark.parametrize(
    ("tokens", "latency", "replicas", "message"),
    [
        (np.array([]), np.array([]), 1, "at least one"),
        (np.array([1.0]), np.array([1.0, 2.0]), 1, "one length"),
        (np.array([-1.0]), np.array([1.0]), 1, ">= 0"),
        (np.array([1.0]), np.array([1.0]), 0, "replicas"),
    ],
)
def test_the_estimate_refuses_bad_input(tokens, latency, replicas: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_replica_capacity(tokens, latency, replicas)
