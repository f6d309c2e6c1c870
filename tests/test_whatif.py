"""What-if (docs/cost-model.md#what-if): the plan-spec parser, ``modeshift whatif`` end to end on a small generated
home, and its SQL twin in the analytics file (docs/analytics.md#what-if-in-sql), each against the week's own tables
to the cent."""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.app.cli import main
from pipelines.core.calendar import parse_window
from pipelines.core.home import Home
from pipelines.domain.whatif import AUTOSCALE, BATCH, FIXED, POOL, SCHEDULED, SERVERLESS, parse_plan_spec

WEEK = "2026-11-09"
MONDAY = datetime(2026, 11, 9, tzinfo=UTC)
# $1 per million input tokens, a one-GPU replica at $2/hour serving K = 1,000 weighted tokens/s at u = 1.
RATE_CARD = """model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,batch_discount,gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,target_utilization,source,as_of
hand/model,2020-01-01,,1.0,0.0,true,0.5,G1,1,2.0,1000,1,1.0,test card,2026-11-01
"""
CONFIG = """rate_card: {card}
schedules:
  time_zone: Europe/Berlin
slos:
  wave: {{ttft_p95_ms: 600}}
"""


# ------------------------------------------------------------------------------------------------------ parser


@pytest.mark.parametrize(
    ("text", "kind", "replicas", "low", "high"),
    [
        ("fixed:3", FIXED, 3, 3, 3),
        (" FIXED : 12 ", FIXED, 12, 12, 12),
        ("autoscale:1-4", AUTOSCALE, 4, 1, 4),
        ("autoscale:0-1", AUTOSCALE, 1, 0, 1),
        ("autoscale:2-2", AUTOSCALE, 2, 2, 2),
        ("serverless", SERVERLESS, 0, 0, 0),
        ("batch", BATCH, 0, 0, 0),
    ],
)
def test_counts_parse(text: str, kind: str, replicas: int, low: int, high: int) -> None:
    spec = parse_plan_spec(text)
    assert (spec.kind, spec.replicas, spec.min_replicas, spec.max_replicas) == (kind, replicas, low, high)
    assert spec.text == text


@pytest.mark.parametrize(
    ("text", "window", "zone"),
    [
        ("scheduled:2@weekdays 08-20 Europe/Berlin", "weekdays 08:00-20:00", "Europe/Berlin"),
        ("scheduled:2@Mon-Fri 08:00-20:00", "Mon-Fri 08:00-20:00", None),
        ("scheduled:1@mon,wed,fri 22-06 UTC", "Mon,Wed,Fri 22:00-06:00", "UTC"),
        ("scheduled:3@daily 0-24", "daily 00:00-24:00", None),
        ("scheduled:1@weekends 09:00–17:00 America/New_York", "weekends 09:00-17:00", "America/New_York"),
    ],
)
def test_scheduled_specs_parse_to_the_window_cells(text: str, window: str, zone: str | None) -> None:
    spec = parse_plan_spec(text)
    assert spec.kind == SCHEDULED and spec.window == window and spec.time_zone == zone
    assert spec.cells == parse_window(window)
    assert spec.window_cells == [c for c, on in enumerate(parse_window(window)) if on]
    assert spec.min_replicas == 0 and spec.max_replicas == spec.replicas


def test_weekday_hours_cells() -> None:
    spec = parse_plan_spec("scheduled:2@weekdays 08-20")
    assert spec.window_cells == [day * 24 + hour for day in range(5) for hour in range(8, 20)]


def test_pool_members_keep_their_order_without_repeats() -> None:
    spec = parse_plan_spec("pool: chat-api ,support-agent,chat-api")
    assert spec.kind == POOL and spec.members == ("chat-api", "support-agent")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "unknown plan ''"),
        ("dedicated:3", "unknown plan 'dedicated'"),
        ("fixed", "fixed needs its settings after a colon"),
        ("fixed:", "fixed needs its settings"),
        ("fixed:0", "replicas must be at least 1, got 0"),
        ("fixed:2.5", "replicas must be a whole number, not '2.5'"),
        ("fixed:-1", "replicas must be a whole number"),
        ("fixed:100000", "replicas must be at most 10000"),
        ("autoscale:4", "an autoscaler is MIN-MAX replicas"),
        ("autoscale:4-2", "max replicas must be at least 4, got 2"),
        ("autoscale:0-0", "max replicas must be at least 1, got 0"),
        ("autoscale:a-2", "min replicas must be a whole number"),
        ("serverless:2", "serverless takes no settings"),
        ("batch:x", "batch takes no settings"),
        ("scheduled:2", "a scheduled plan is R@DAYS HOURS [ZONE]"),
        ("scheduled:0@daily 08-20", "replicas must be at least 1"),
        ("scheduled:2@daily", "the window is DAYS HOURS and an optional time zone"),
        ("scheduled:2@daily 08-20 Europe/Berlin extra", "the window is DAYS HOURS"),
        ("scheduled:2@someday 08-20", "days must be Mon..Sun, daily, weekdays or weekends"),
        ("scheduled:2@daily 8h-20h", "hours '8h-20h' are not HH-HH or HH:MM-HH:MM"),
        ("scheduled:2@daily 08:30-20:00", "hours must be whole"),
        ("scheduled:2@daily 25-26", "hours run from 00:00 to 24:00"),
        ("scheduled:2@daily 08-08", "the window cannot be empty"),
        ("scheduled:2@daily 08-20 'Berlin'", "is not an IANA time zone name"),
        ("pool:", "pool needs its settings"),
        ("pool:a,,b", "none empty"),
    ],
)
def test_bad_specs_say_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_plan_spec(text)
    message = str(error.value)
    assert why in message and message.startswith(f"plan {text!r}: ") and "e.g. fixed:3" in message
    assert "\n" not in message


@given(st.integers(0, 200), st.integers(1, 200))
def test_autoscale_bounds_parse_or_refuse(low: int, high: int) -> None:
    if high >= max(1, low):
        spec = parse_plan_spec(f"autoscale:{low}-{high}")
        assert (spec.min_replicas, spec.max_replicas, spec.replicas) == (low, high, high)
    else:
        with pytest.raises(ValueError, match="max replicas must be at least"):
            parse_plan_spec(f"autoscale:{low}-{high}")


@given(st.sampled_from(["daily", "weekdays", "weekends", "Mon-Fri", "Sat,Sun", "Tue"]), st.integers(0, 23),
       st.integers(1, 24))  # fmt: skip
def test_short_hours_mean_whole_hours(days: str, start: int, end: int) -> None:
    if start == end % 24 and end != 24:
        return
    spec = parse_plan_spec(f"scheduled:1@{days} {start}-{end}")
    assert spec.cells == parse_window(f"{days} {start:02d}:00-{end:02d}:00")


# ------------------------------------------------------------------------------------------------ end to end


def _rows(minutes: int) -> list[dict]:
    """One week of three endpoints of one model, one request a minute each:
    wave: 3,000 weighted tokens/s from 08:00 to 20:00 UTC, 300 at night (an autoscaler or a schedule pays);
    day-a / night-b: 600 tokens/s by day / by night (their peaks never coincide: a pool shares one replica)."""
    rows = []
    for m in range(minutes):
        at = MONDAY + timedelta(minutes=m)
        day = 8 <= at.hour < 20
        for endpoint, tps in (("wave", 3000 if day else 300), ("day-a", 600 if day else 0),
                              ("night-b", 0 if day else 600)):  # fmt: skip
            if tps:
                rows.append({"request_id": f"{endpoint}-{m}", "ts": at.isoformat(), "endpoint": endpoint,
                             "model": "hand/model", "input_tokens": tps * 60, "output_tokens": 0,
                             "stream": True})  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def whatif_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipelines.app.runner import materialize_pending
    from pipelines.ingest.landing import land_file

    root = tmp_path_factory.mktemp("whatif") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODESHIFT_HOME", str(root))
        patch.setenv("MODESHIFT_SALT", "test-salt")
        patch.setenv("DAGSTER_HOME", os.environ.get("DAGSTER_HOME", str(root / "dagster")))
        home = Home(root).ensure()
        card = root.parent / "card.csv"
        card.write_text(RATE_CARD)
        home.config_file.write_text(CONFIG.format(card=card))
        source = root.parent / "week.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in _rows(7 * 1440)))
        land_file(home, source, "canonical", {})
        materialize_pending(home, progress=lambda _: None)
    return root


@pytest.fixture
def at_home(whatif_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODESHIFT_HOME", str(whatif_home))
    monkeypatch.setenv("MODESHIFT_SALT", "test-salt")
    return whatif_home


def _whatif(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["whatif", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _sql(home: Path, query: str, params: list | None = None) -> list[dict]:
    with duckdb.connect(str(home / "analytics.duckdb"), read_only=True) as con:
        relation = con.sql(query, params=params)
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def _cents(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def test_fixed_equals_the_plan_curve_to_the_cent(at_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    curve = _sql(at_home, "SELECT * FROM plan_curve WHERE endpoint = 'wave' AND week_start = ? AND replicas >= 1 "
                          "ORDER BY replicas", [WEEK])  # fmt: skip
    assert len(curve) == 3  # R_full = 3
    for row in curve:
        result = _whatif(capsys, "--endpoint", "wave", "--plan", f"fixed:{row['replicas']}")  # newest week
        assert result["week_start"] == WEEK
        for key in ("reserved_cost_usd", "overflow_cost_usd", "total_cost_usd"):
            assert _cents(result[key]) == _cents(row[key]), key
        assert result["utilization"] == pytest.approx(row["utilization"])
        assert result["overflow_share"] == pytest.approx(row["overflow_share"], abs=1e-12)
        assert result["replica_hours"] == row["replicas"] * 168


def test_autoscale_equals_the_plan_options_row(at_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (row,) = _sql(at_home, "SELECT * FROM plan_options WHERE endpoint = 'wave' AND week_start = ? "
                           "AND family = 'autoscale'", [WEEK])  # fmt: skip
    assert row["min_replicas"] < row["max_replicas"]  # a real autoscaler, not fixed(R) again
    spec = f"autoscale:{row['min_replicas']}-{row['max_replicas']}"
    result = _whatif(capsys, "--endpoint", "wave", "--plan", spec, "--week", WEEK)
    for key in ("reserved_cost_usd", "overflow_cost_usd", "total_cost_usd", "cold_start_overflow_usd"):
        assert _cents(result[key]) == _cents(row[key]), key
    assert result["replica_hours"] == pytest.approx(row["replica_hours"])
    assert result["overflow_share"] == pytest.approx(row["overflow_share"])
    assert result["cold_start_overflow_usd"] > 0  # every morning the new replicas start cold


def test_the_recommended_and_raw_plans_cost_what_the_recommendation_says(
    at_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (rec,) = _sql(at_home, "SELECT * FROM recommendations WHERE endpoint = 'wave' AND week_start = ?", [WEEK])
    # One week of history: the raw candidate (scheduled 3 replicas 09-21 Berlin) is held, serverless recommended.
    assert (rec["action"], rec["recommended_mode"], rec["raw_family"]) == ("hold", "serverless", "scheduled")
    held = _whatif(capsys, "--endpoint", "wave", "--plan", "serverless")
    assert held["recommendation"]["recommended_plan"] == "serverless"
    assert _cents(held["difference_vs_recommended_usd"]) == 0.0
    assert _cents(held["difference_vs_current_usd"]) == 0.0
    (option,) = _sql(at_home, "SELECT * FROM plan_options WHERE endpoint = 'wave' AND week_start = ? "
                              "AND family = 'scheduled'", [WEEK])  # fmt: skip
    assert option["window"] == "daily 09:00–21:00 Europe/Berlin"
    raw = _whatif(capsys, "--endpoint", "wave", "--plan", f"scheduled:{option['replicas']}@daily 09-21")
    assert _cents(raw["total_cost_usd"]) == _cents(rec["raw_cost_usd"]) == _cents(option["total_cost_usd"])
    assert _cents(raw["reserved_cost_usd"]) == _cents(option["reserved_cost_usd"])
    assert raw["replica_hours"] == pytest.approx(option["replica_hours"])
    assert _cents(raw["difference_vs_recommended_usd"]) == _cents(
        rec["raw_cost_usd"] - rec["recommended_cost_usd"]
    )
    (sql,) = _sql(at_home, "SELECT * FROM whatif_scheduled('wave', ?, ?, ?)",
                  [WEEK, option["replicas"], option["window_cells"]])  # fmt: skip
    _same(raw, sql)


def test_serverless_batch_and_the_slo(at_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (serverless,) = _sql(at_home, "SELECT * FROM plan_options WHERE endpoint = 'wave' AND week_start = ? "
                                  "AND family = 'serverless'", [WEEK])  # fmt: skip
    result = _whatif(capsys, "--endpoint", "wave", "--plan", "serverless")
    assert _cents(result["total_cost_usd"]) == _cents(serverless["total_cost_usd"])
    assert result["overflow_share"] == 1.0 and result["replica_hours"] == 0
    (slo,) = result["slo"]
    (status,) = _sql(at_home, "SELECT * FROM slo_status WHERE endpoint = 'wave' AND week_start = ?", [WEEK])
    assert slo["serverless_status"] == status["status"] and slo["max_overflow_share"] == 0.05
    assert slo["within"] is False  # everything on serverless overflows 100 %
    full = _whatif(capsys, "--endpoint", "wave", "--plan", "fixed:3")
    assert full["slo"][0]["within"] is True and full["overflow_share"] == 0.0
    batch = _whatif(capsys, "--endpoint", "wave", "--plan", "batch")
    assert batch["total_cost_usd"] == pytest.approx(serverless["total_cost_usd"] * 0.5)
    assert _whatif(capsys, "--endpoint", "day-a", "--plan", "batch")["slo"] == []  # no SLO on day-a


def test_scheduled_in_the_settings_zone_and_another(
    at_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # wave runs 3,000 tokens/s 08:00-20:00 UTC = 09:00-21:00 in Berlin (CET in November).
    berlin = _whatif(capsys, "--endpoint", "wave", "--plan", "scheduled:3@daily 09-21")
    utc = _whatif(capsys, "--endpoint", "wave", "--plan", "scheduled:3@daily 08-20 UTC")
    assert berlin["time_zone"] == "Europe/Berlin" and utc["time_zone"] == "UTC"
    for key in ("reserved_cost_usd", "overflow_cost_usd", "total_cost_usd", "replica_hours"):
        assert berlin[key] == pytest.approx(utc[key]), key
    # By hand: 3 replicas × (7 × 12 h + 7 warm-ups of 5 min) × $2/h; the nights (300 tokens/s × 12 h × 7) on
    # serverless at $1 per million tokens.
    assert _cents(berlin["reserved_cost_usd"]) == _cents(3 * (7 * 12 * 60 + 7 * 5) * 2 / 60)
    assert _cents(berlin["overflow_cost_usd"]) == _cents(300 * 60 * 12 * 60 * 7 / 1e6)
    assert berlin["window"] == "daily 09:00-21:00 Europe/Berlin"


def test_the_sql_macros_equal_the_cli_to_the_cent(at_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for replicas in (1, 2, 3, 5):
        cli = _whatif(capsys, "--endpoint", "wave", "--plan", f"fixed:{replicas}")
        (sql,) = _sql(at_home, "SELECT * FROM whatif_fixed('wave', ?, ?)", [WEEK, replicas])
        _same(cli, sql)
    for spec in ("scheduled:2@weekdays 08-20", "scheduled:1@Mon,Wed 22-06", "scheduled:3@daily 09-21"):
        cli = _whatif(capsys, "--endpoint", "wave", "--plan", spec)
        cells = parse_plan_spec(spec).window_cells
        (sql,) = _sql(at_home, "SELECT * FROM whatif_scheduled('wave', ?, ?, ?)",
                      [WEEK, parse_plan_spec(spec).replicas, cells])  # fmt: skip
        _same(cli, sql)


def _same(cli: dict, sql: dict) -> None:
    for key in ("reserved_cost_usd", "overflow_cost_usd", "total_cost_usd"):
        assert _cents(cli[key]) == _cents(sql[key]), key
    assert sql["replica_hours"] == pytest.approx(cli["replica_hours"])
    assert (sql["utilization"] is None) == (cli["utilization"] is None)
    if cli["utilization"] is not None:
        assert sql["utilization"] == pytest.approx(cli["utilization"])
    assert sql["overflow_share"] == pytest.approx(cli["overflow_share"], abs=1e-9)


def test_a_pool_equals_its_pool_recommendations_row(
    at_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = _sql(at_home, "SELECT * FROM pool_recommendations WHERE week_start = ?", [WEEK])
    two = [row for row in pools if row["member_count"] == 2]
    assert two, pools  # day-a and night-b share one replica: the search finds them
    for row in pools:
        first, *others = row["members"]
        result = _whatif(capsys, "--endpoint", first, "--plan", "pool:" + ",".join(others))
        pool = result["pool"]
        assert pool["pool_id"] == row["pool_id"] and pool["members"] == row["members"]
        assert _cents(pool["pooled_cost_usd"]) == _cents(row["pooled_cost_usd"])
        assert _cents(pool["separate_cost_usd"]) == _cents(row["separate_cost_usd"])
        assert pool["week_pool_action"] == row["action"]
        assert result["family"] == (row["family"] or "serverless")
        assert result["replicas"] == row["replicas"]
        members = {m["endpoint"]: m for m in pool["member_recommendations"]}
        assert set(members) == set(row["members"])
        assert _cents(result["recommendation"]["recommended_cost_usd"]) == _cents(
            sum(m["recommended_cost_usd"] for m in members.values())
        )
        if row["family"] == "fixed":
            (sql,) = _sql(
                at_home, "SELECT * FROM whatif_pool_fixed(?, ?, ?)", [row["members"], WEEK, row["replicas"]]
            )
            assert _cents(sql["total_cost_usd"]) == _cents(row["pooled_cost_usd"])
            assert sql["utilization"] == pytest.approx(row["utilization"])


def test_the_pool_macros_equal_the_pool_steps_costing(at_home: Path) -> None:
    from datetime import date

    from pipelines.core.settings import Settings
    from pipelines.domain.plan_families import cost_of_setting
    from pipelines.domain.pools import pooled_series
    from pipelines.weekly.pools import poolable_members

    home = Home(at_home)
    groups, context = poolable_members(home, Settings.load(home), date.fromisoformat(WEEK))
    (group,) = groups
    by_name = {m.endpoint: m for m in group.members}
    cells = parse_plan_spec("scheduled:1@weekdays 07-22").window_cells
    for names in (["day-a", "night-b"], ["night-b", "wave"], ["day-a", "night-b", "wave"]):
        series = pooled_series([by_name[n] for n in names])
        for replicas in (1, 2, 4):
            for family, macro, args in (("fixed", "SELECT * FROM whatif_pool_fixed(?, ?, ?)", [names, WEEK, replicas]),
                                        ("scheduled", "SELECT * FROM whatif_pool_scheduled(?, ?, ?, ?)",
                                         [names, WEEK, replicas, cells])):  # fmt: skip
                plan = cost_of_setting(family, replicas, 0, replicas, cells, series.demand_tps,
                                       series.serverless_cost_usd, series.offer, group.provider,
                                       context["cells"])  # fmt: skip
                (sql,) = _sql(at_home, macro, args)
                assert sql["endpoints"] == sorted(names)
                for key in ("reserved_cost_usd", "overflow_cost_usd", "total_cost_usd"):
                    assert _cents(sql[key]) == _cents(getattr(plan, key)), (names, family, replicas, key)
                assert sql["utilization"] == pytest.approx(plan.utilization)
                assert sql["overflow_share"] == pytest.approx(plan.overflow_share, abs=1e-9)


def test_the_text_report(at_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["whatif", "--endpoint", "wave", "--plan", "autoscale:1-3"]) == 0
    out = capsys.readouterr().out
    for label in ("reserved:", "overflow (serverless):", "total:", "replica-hours:", "utilization:",
                  "overflow share:", "cold-start overflow:", "SLO wave:", "recommended this week:", "current:",
                  "what-if - recommended:"):  # fmt: skip
        assert label in out, label


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "wave", "--plan", "fixed:0"], "plan 'fixed:0': replicas must be at least 1"),
        (["--endpoint", "nobody", "--plan", "fixed:1"], "Endpoint 'nobody' has no recommendation in week"),
        (["--endpoint", "wave", "--plan", "fixed:1", "--week", "2026-11-10"], "2026-11-10 is not a Monday"),
        (
            ["--endpoint", "wave", "--plan", "fixed:1", "--week", "2026-11-02"],
            "Week 2026-11-02 has no recommendations",
        ),
        (
            ["--endpoint", "wave", "--plan", "scheduled:1@daily 08-20 Mars/Base"],
            "unknown time zone 'Mars/Base'",
        ),
        (["--endpoint", "wave", "--plan", "autoscale:0-2"], "keeps at least 1 replica(s) running"),
        (["--endpoint", "wave", "--plan", "pool:wave"], "pools 'wave' with nobody"),
        (["--endpoint", "wave", "--plan", "pool:nobody"], "Endpoint 'nobody' has no recommendation"),
    ],
)
def test_errors_are_one_line(
    at_home: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["whatif", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_missing_home_is_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    root = tmp_path / "nowhere"
    monkeypatch.setenv("MODESHIFT_HOME", str(root))
    assert main(["whatif", "--endpoint", "x", "--plan", "fixed:1"]) == 2
    assert "There is no modeshift home" in capsys.readouterr().err and not root.exists()


def test_the_published_what_if_tables(at_home: Path) -> None:
    (counts,) = _sql(at_home, "SELECT (SELECT count(*) FROM week_minutes) AS weeks_minutes, "
                              "(SELECT count(*) FROM endpoint_minutes) AS endpoint_minutes, "
                              "(SELECT count(*) FROM endpoint_offers) AS offers")  # fmt: skip
    # one full week of minutes; wave every minute, day-a and night-b half of them each
    assert counts == {"weeks_minutes": 10080, "endpoint_minutes": 10080 * 2, "offers": 3}
    (cell,) = _sql(
        at_home, "SELECT cell, cell_utc FROM week_minutes WHERE minute = TIMESTAMPTZ '2026-11-09 08:00:00+00'"
    )
    assert cell == {"cell": 9, "cell_utc": 8}  # Monday 09:00 in Berlin
    with pytest.raises(duckdb.Error, match="cannot share a deployment|no dedicated offer"):
        _sql(at_home, "SELECT * FROM whatif_pool_fixed(['wave', 'nobody'], ?, 1)", [WEEK])
    assert not math.isnan(
        _sql(at_home, "SELECT total_cost_usd FROM whatif_fixed('wave', ?, 1)", [WEEK])[0]["total_cost_usd"]
    )


@pytest.mark.parametrize("value", [-1, 53, "1", 1.5, None])
def test_whatif_weeks_is_validated(value: object) -> None:
    from pipelines.core.errors import ModeshiftError
    from pipelines.core.settings import Settings

    with pytest.raises(ModeshiftError, match=r"analytics.whatif_weeks"):
        Settings.from_overrides({"analytics": {"whatif_weeks": value}})
    assert Settings.from_overrides({"analytics": {"whatif_weeks": 0}}).analytics.whatif_weeks == 0
    assert Settings.from_overrides({}).analytics.whatif_weeks == 1


def test_no_weeks_gives_empty_tables_of_the_published_columns(at_home: Path) -> None:
    from pipelines.core.settings import Settings
    from pipelines.delivery.whatif_tables import WHATIF_TABLES, whatif_frames

    home = Home(at_home)
    frames = whatif_frames(home, Settings.load(home), [])
    assert set(frames) == set(WHATIF_TABLES) and all(f.height == 0 for f in frames.values())
    for name, frame in frames.items():
        published = _sql(at_home, f"SELECT * FROM {name} LIMIT 1")  # noqa: S608 - a fixed table name
        assert list(published[0]) == frame.columns, name
