"""The weekly pictures: what is drawn (known answers), file names, atomic writing, and the weekly_charts asset."""

from __future__ import annotations

import base64
import re
import struct
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from dagster import DagsterInstance, materialize
from hypothesis import given
from hypothesis import strategies as st

import assets.charts
from pipelines.core.settings import Settings
from pipelines.core.text import format_usd
from pipelines.delivery.chart_metadata import ChartEmbedder
from pipelines.delivery.charts import (
    CurveChart,
    DemandChart,
    EndpointCharts,
    PlanCapacity,
    curve_chart,
    curve_png,
    demand_png,
    hourly_mean,
    load_week_charts,
    options_chart,
    options_png,
    overview_png,
    plan_capacity,
    recommended_family,
    reserved_capacity_tps,
    slugify,
    week_overview_png,
    window_from_label,
    write_week_charts,
)
from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.plan_families import propose_windows, simulate_autoscale
from pipelines.domain.provider import ProviderProfile
from pipelines.lake.series import week_cells
from pipelines.lake.weekly_store import read_week_table, recorded_week_fingerprint, write_week_table
from pipelines.ops.resources import ModeshiftResource

WEEK = date(2026, 11, 9)
DAYS = tuple(WEEK + timedelta(days=d) for d in range(7))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    return width, height


def _demand(endpoint: str = "chat", reserved: float = 40.0) -> DemandChart:
    demand = np.zeros(7 * 1440)
    demand[:4] = [0.0, 10.0, 50.0, 100.0]
    return DemandChart(endpoint, WEEK, DAYS, demand, "hybrid", 1, reserved)


def test_reserved_capacity_is_replicas_times_k_times_u():
    assert reserved_capacity_tps(3, 12_000.0, 0.8) == pytest.approx(28_800.0)
    assert reserved_capacity_tps(0, 12_000.0, 0.8) == 0.0


def test_overflow_is_the_demand_above_capacity_and_its_share_is_the_cost_models():
    chart = _demand(reserved=40.0)
    assert chart.overflow_tps[:4].tolist() == [0.0, 0.0, 10.0, 60.0]
    assert chart.overflow_tps[4:].sum() == 0.0
    assert chart.overflow_share == pytest.approx(70.0 / 160.0)
    # the same number from the cost model: one replica with K·u = 50 × 0.8 = 40 weighted tokens/s
    offer = DedicatedOffer("H100", 1, 1.0, replica_capacity_tps=50.0, target_utilization=0.8)
    curve = plan_curve(chart.demand_tps, chart.demand_tps * 1e-6, offer, covered_hours=168.0)
    assert curve.overflow_share[1] == pytest.approx(chart.overflow_share)
    # nothing reserved: all traffic is plain serverless, nothing is called overflow
    assert _demand(reserved=0.0).overflow_share == 0.0


def test_hourly_mean_averages_each_hour():
    minutes = np.concatenate([np.full(60, 6.0), np.arange(60, dtype=float)])
    assert hourly_mean(minutes).tolist() == [6.0, 29.5]


def test_curve_chart_reads_the_plan_curve_rows():
    rows = pl.DataFrame(
        {
            "endpoint": ["chat"] * 3 + ["other"],
            "replicas": [2, 0, 1, 0],
            "reserved_cost_usd": [1844.64, 0.0, 922.32, 0.0],
            "overflow_cost_usd": [0.0, 5000.0, 600.0, 7.0],
            "total_cost_usd": [1844.64, 5000.0, 1522.32, 7.0],
            "is_cheapest": [False, False, True, True],
        }
    )
    chart = curve_chart("chat", WEEK, rows)
    assert chart is not None
    assert chart.replicas.tolist() == [0, 1, 2]
    assert chart.r_star == 1
    assert chart.savings_vs_serverless_usd.tolist() == pytest.approx([0.0, 3477.68, 3155.36])
    assert curve_chart("missing", WEEK, rows) is None


def test_pictures_are_pngs_of_the_stated_size_and_the_same_bytes_every_time():
    demand = _demand()
    curve = CurveChart("chat", WEEK, np.arange(3), np.array([0.0, 922.32, 1844.64]),
                       np.array([5000.0, 600.0, 0.0]), np.array([5000.0, 1522.32, 1844.64]), 1)  # fmt: skip
    assert _png_size(demand_png(demand)) == (1100, 360)
    assert _png_size(curve_png(curve)) == (600, 360)
    assert demand_png(demand) == demand_png(demand)
    overview = overview_png([EndpointCharts(demand, curve), EndpointCharts(_demand("b"), None)], WEEK)
    assert _png_size(overview) == (1500, 680)
    assert overview == overview_png([EndpointCharts(demand, curve), EndpointCharts(_demand("b"), None)], WEEK)


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "team/chat\\prod", "bell\x07\nnew\tline", ".hidden", "", "ünïcødé 模型", "a" * 500],
)
def test_slugs_are_safe_file_names(name):
    slug = slugify(name)
    assert re.fullmatch(r"[a-z0-9_][a-z0-9._-]*-[0-9a-f]{8}", slug), slug
    assert ".." not in slug and len(slug) <= 48 + 9


@given(st.text(max_size=40), st.text(max_size=40))
def test_different_names_get_different_slugs(first, second):
    assert (slugify(first) == slugify(second)) == (first == second)


def test_written_charts_stay_in_the_week_directory_and_stale_ones_go(home):
    first = write_week_charts(home, WEEK, [EndpointCharts(_demand("../escape/\x00name"), None)])
    directory = home.root / "reports" / WEEK.isoformat()
    assert first.overview == directory / "overview.png"
    (demand_path,) = first.demand.values()
    assert demand_path.parent == directory and demand_path.name.startswith("demand-escape-name-")
    assert _png_size(demand_path.read_bytes()) == (1100, 360)
    second = write_week_charts(home, WEEK, [EndpointCharts(_demand("other"), None)])
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        ["_overview.json", second.overview.name, *(p.name for p in second.demand.values())]
    )  # the first endpoint's picture is gone, and no temporary file is left behind


def test_week_charts_of_the_built_home_carry_the_hand_computed_numbers(built_home):
    """steady-big sends one request a minute of 1,600,000 input and 2,000 output tokens: with output weight 6
    its weighted demand is (1,600,000 + 6 × 2,000) / 60 tokens/s in every minute; the recommended replica
    (K = 55,344 for such long prompts, the 8B long_context anchor of replica_capacity.csv, u = 0.8) reserves
    44,275.2 tokens/s, so nothing overflows."""
    charts = load_week_charts(built_home, Settings.load(built_home), WEEK, ["steady-big", "nightly"])
    steady = charts[0].demand
    assert steady.demand_tps.size == 7 * 1440
    assert np.allclose(steady.demand_tps, (1_600_000 + 6 * 2_000) / 60)
    assert steady.reserved_tps == pytest.approx(44_275.2)
    assert steady.overflow_share == 0.0
    recommendations = read_week_table(built_home, "recommendations", WEEK)
    row = recommendations.filter(pl.col("endpoint") == "steady-big").row(0, named=True)
    assert steady.replicas == row["replicas"] == 1
    assert steady.overflow_share == pytest.approx(row["overflow_share"])
    assert charts[0].curve is not None and charts[0].curve.r_star == 1
    # nightly: 20 requests at 02:00-02:59 each day of (20,000 + 6 × 500) weighted tokens, one per third minute
    nightly = charts[1].demand
    assert nightly.reserved_tps == 0.0 and nightly.cheapest_tps is None
    assert nightly.demand_tps.sum() * 60 == pytest.approx(7 * 20 * (20_000 + 6 * 500))


def test_weekly_charts_asset_writes_the_pictures_and_attaches_them(built_home):
    result = materialize(
        [assets.charts.weekly_charts],
        partition_key=WEEK.isoformat(),
        instance=DagsterInstance.ephemeral(),
        resources={"modeshift": ModeshiftResource(home_dir=str(built_home.root))},
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("weekly_charts")
    metadata = materialization.metadata
    directory = built_home.root / "reports" / WEEK.isoformat()
    # the pictures are in the metadata as Markdown images (data URIs), each the very file written under reports/
    assert metadata["endpoints_charted"].value == 3  # the three priced endpoints (unpriced has no spend)
    embedded = []
    for index in (1, 2, 3):
        pictures = _embedded_pictures(metadata[f"endpoint_{index}"].value)
        assert pictures[0][0].name.startswith("demand-")
        embedded += pictures
        if index == 1:  # steady-big's cost curve (R* = 1) follows its demand
            assert pictures[1][0].name.startswith("curve-")
    # the overview repeats the endpoints' charts: embedded after them, while the 1 MB budget lasts, else its path
    overview = metadata["overview"].value
    assert f"`{directory / 'overview.png'}`" in overview
    embedded += _embedded_pictures(overview)
    assert ("not embedded" in overview) == (len(_embedded_pictures(overview)) == 0)
    for path, png in embedded:
        assert png == path.read_bytes() and _png_size(png)[0] > 0
    assert metadata["embedded_kb"].value == round(sum(4 * -(-len(png) // 3) for _, png in embedded) / 1000)
    assert "steady-big" in metadata["endpoint_1"].value  # the top endpoint by spend comes first
    table = metadata["recommendations"].value
    assert table.splitlines()[2].startswith("| steady-big | serverless | dedicated | migrate | 1 |")
    assert metadata["savings_usd"].value == pytest.approx(2236.35)  # 2,906.67 − 670.32 (one H100 at $3.99)


def test_the_slack_report_uploads_the_overview_weekly_charts_wrote(built_home):
    """The report's picture is the file ``weekly_charts`` wrote while it matches the week's recommendations and
    featured endpoints; it is drawn again (and rewritten) when the file is missing or the endpoints differ."""
    settings = Settings.load(built_home)
    endpoints = ["steady-big", "nightly"]
    written = write_week_charts(built_home, WEEK, load_week_charts(built_home, settings, WEEK, endpoints))
    marker = written.overview.read_bytes() + b"written-by-weekly-charts"
    written.overview.write_bytes(marker)  # not a redraw: a redraw could never produce these bytes
    assert week_overview_png(built_home, settings, WEEK, endpoints) == marker
    redrawn = week_overview_png(built_home, settings, WEEK, ["nightly"])  # other endpoints: drawn again
    assert redrawn != marker and _png_size(redrawn) == (1500, 340)
    assert written.overview.read_bytes() == redrawn
    written.overview.unlink()
    again = week_overview_png(built_home, settings, WEEK, endpoints)
    assert again == overview_png(load_week_charts(built_home, settings, WEEK, endpoints), WEEK)
    assert written.overview.read_bytes() == again


# --- plan families: varying capacity, cold starts, options --------------------------------------------------------


def _square_demand() -> np.ndarray:
    """5 minutes at 5 weighted tokens/s, 6 at 25, then 20 at 5 (one replica of K·u = 10 serves 10/s)."""
    return np.array([5.0] * 5 + [25.0] * 6 + [5.0] * 20)


def test_an_autoscalers_ready_capacity_and_its_cold_start_minutes_known_answer():
    """From 1 to 3 replicas: the autoscaler sees 3 needed at minute 5 (W_up = 1) and starts 2, billed from
    minute 6 and serving from 8 (C = 2): minute 5 overflows before anything starts (not a cold start), minutes 6
    and 7 overflow while the replicas start (cold start), from 8 the ready capacity (30/s) serves everything."""
    offer = DedicatedOffer("H100", 1, 1.0, replica_capacity_tps=12.5, target_utilization=0.8)
    profile = ProviderProfile(
        "test", cold_start_minutes=2, scale_up_window_minutes=1, scale_down_window_minutes=3
    )
    demand = _square_demand()
    trace = simulate_autoscale(demand, offer, profile, 1, 3)
    capacity = PlanCapacity.autoscale(trace.running, trace.ready, offer.planned_replica_tps, "autoscale 1–3")
    assert capacity.capacity_tps[:11].tolist() == [10.0] * 8 + [30.0] * 3
    assert np.flatnonzero(capacity.cold_start_overflow(demand)).tolist() == [6, 7]
    assert capacity.overflow_tps(demand)[:11].tolist() == [0.0] * 5 + [15.0] * 3 + [0.0] * 3
    chart = DemandChart("chat", WEEK, DAYS[:1], demand, "hybrid", 3, 0.0, plan=capacity)
    assert np.flatnonzero(chart.cold_start_minutes).tolist() == [6, 7]
    assert chart.overflow_share == pytest.approx(45.0 / demand.sum())
    # the same autoscaler as a held candidate of a fixed plan: its cold starts are still marked
    held = DemandChart("chat", WEEK, DAYS[:1], demand, "dedicated", 3, 30.0, candidate=capacity)
    assert np.flatnonzero(held.cold_start_minutes).tolist() == [6, 7] and held.overflow_tps.sum() == 0.0
    assert not _demand().cold_start_minutes.any()  # a fixed plan has none


def test_a_scheduled_plan_has_capacity_only_inside_its_window():
    demand = np.array([30.0, 30.0, 5.0, 30.0, 30.0])
    in_window = np.array([False, True, True, True, False])
    capacity = PlanCapacity.scheduled(in_window, 2, 10.0, "scheduled 2")
    assert np.isnan(capacity.capacity_tps[[0, 4]]).all() and capacity.capacity_tps[1:4].tolist() == [20.0] * 3
    # outside the window all traffic is plain serverless (not overflow); inside, the demand above 20/s
    assert capacity.overflow_tps(demand).tolist() == [0.0, 10.0, 0.0, 10.0, 0.0]
    assert not capacity.cold_start_overflow(demand).any()


def test_plan_capacities_refuse_inconsistent_arrays():
    with pytest.raises(ValueError, match="ready replicas"):
        PlanCapacity.autoscale(np.array([1, 1]), np.array([1, 2]), 10.0, "x")
    with pytest.raises(ValueError, match="one length"):
        PlanCapacity.autoscale(np.array([1, 1]), np.array([1]), 10.0, "x")
    with pytest.raises(ValueError, match="minutes"):
        DemandChart("chat", WEEK, DAYS, np.zeros(5), "hybrid", 1, 0.0,
                    plan=PlanCapacity.scheduled(np.ones(4, dtype=bool), 1, 10.0, "x"))  # fmt: skip


def test_window_labels_of_the_plan_families_give_back_their_cells():
    """The weekday band propose_windows names "Mon–Fri 08:00–19:00 UTC" (for demand that one replica pays for
    only on weekdays 08-19) reads back to the same cells; daily bands too; labels without hours do not."""
    minute = np.arange(7 * 1440)
    cells = (minute // 1440) * 24 + (minute % 1440) // 60
    busy = (minute // 1440 < 5) & (minute % 1440 >= 8 * 60) & (minute % 1440 < 19 * 60)
    demand = np.where(busy, 9_000.0, 10.0)
    offer = DedicatedOffer("H100", 1, 1.0, replica_capacity_tps=12_500.0, target_utilization=0.8)
    proposed = propose_windows(demand, demand * 1e-3, offer, cells, "UTC")
    assert proposed[0].label == "Mon–Fri 08:00–19:00 UTC"
    for window in proposed[:2]:
        parsed = window_from_label(window.label)
        assert parsed is not None and parsed[0].cells == window.cells and parsed[1] == "UTC"
    daily = window_from_label("daily 08:00-20:00 Europe/Berlin")
    assert daily is not None and daily[0].hours_per_week == 84 and daily[1] == "Europe/Berlin"
    assert window_from_label("37 busiest hours of the week") is None
    assert window_from_label("Mon–Fri 20:00–08:00 UTC") is None


def test_week_cells_is_the_local_weekday_hour():
    monday, tuesday = date(2026, 11, 9), date(2026, 11, 10)
    utc = week_cells((monday, tuesday), "UTC")
    assert utc.size == 2 * 1440 and (utc[0], utc[59], utc[60], utc[1440]) == (0, 0, 1, 24)
    berlin = week_cells((monday,), "Europe/Berlin")  # UTC+1 in November
    assert (berlin[0], berlin[23 * 60 - 1], berlin[23 * 60]) == (1, 23, 24)
    kolkata = week_cells((date(2026, 11, 15),), "Asia/Kolkata")  # a Sunday; UTC+5:30
    assert (kolkata[0], kolkata[29], kolkata[30], kolkata[18 * 60 + 29], kolkata[18 * 60 + 30]) == (
        6 * 24 + 5, 6 * 24 + 5, 6 * 24 + 6, 6 * 24 + 23, 0)  # fmt: skip
    with pytest.raises(ValueError, match="time zone"):
        week_cells((monday,), "Mars/Olympus")


def _option_rows() -> pl.DataFrame:
    """plan_options rows of 'chat' (the demo's office-copilot, week 2026-11-09, in USD) and one of 'other'."""
    return pl.DataFrame(
        {
            "endpoint": ["chat"] * 5 + ["other"],
            "family": ["batch", "scheduled", "serverless", "autoscale", "fixed", "serverless"],
            "replicas": [None, 3, None, 3, 1, None],
            "min_replicas": [None, None, None, 1, None, None],
            "max_replicas": [None, None, None, 3, None, None],
            "window": [None, "Mon–Fri 08:00–19:00 UTC", None, None, None, None],
            "reserved_cost_usd": [0.0, 1825.42, 0.0, 3077.51, 1844.64, 0.0],
            "overflow_cost_usd": [0.0, 949.55, 4914.86, 951.32, 3281.73, 9.0],
            "total_cost_usd": [2457.43, 2774.97, 4914.86, 4028.83, 5126.37, 9.0],
            "is_cheapest": [False, True, False, False, False, True],
        },
        schema_overrides={"replicas": pl.Int64, "min_replicas": pl.Int64, "max_replicas": pl.Int64},
    )


def test_options_chart_orders_the_families_and_marks_cheapest_and_recommended():
    chart = options_chart("chat", WEEK, _option_rows(), "autoscale")
    assert chart is not None
    assert chart.families == ("serverless", "fixed", "autoscale", "scheduled", "batch")
    assert chart.labels == (
        "serverless",
        "fixed 1",
        "autoscale 1–3",
        "scheduled 3\nMon–Fri 08:00–19:00 UTC",
        "batch",
    )
    assert chart.cheapest == 3  # flagged is_cheapest (batch is cheaper, but the endpoint is interactive)
    assert chart.recommended == 2
    assert chart.total_cost_usd.tolist() == [4914.86, 5126.37, 4028.83, 2774.97, 2457.43]
    assert chart.other_cost_usd.tolist() == pytest.approx([0.0, 0.0, 0.0, 0.0, 2457.43])  # the batch price
    assert options_chart("chat", WEEK, _option_rows(), "none of them").recommended is None
    unflagged = options_chart("chat", WEEK, _option_rows().with_columns(is_cheapest=pl.lit(False)), None)
    assert unflagged.cheapest == 4  # no flag: the lowest total
    assert options_chart("missing", WEEK, _option_rows(), None) is None


def test_recommended_family_reads_the_plan_family_or_the_mode():
    assert recommended_family({"plan_family": "scheduled", "recommended_mode": "hybrid"}) == "scheduled"
    assert recommended_family({"recommended_mode": "hybrid"}) == "fixed"  # before the plan families
    assert recommended_family({"plan_family": None, "recommended_mode": "serverless"}) == "serverless"
    assert recommended_family({"recommended_mode": "batch"}) == "batch"


def test_plan_capacity_from_table_settings():
    demand = _square_demand()
    offer = DedicatedOffer("H100", 1, 1.0, replica_capacity_tps=12.5, target_utilization=0.8)
    profile = ProviderProfile(
        "test", cold_start_minutes=2, scale_up_window_minutes=1, scale_down_window_minutes=3
    )
    days = (date(2026, 11, 9),)
    auto = plan_capacity(
        {"family": "autoscale", "min_replicas": 1, "max_replicas": 3}, demand, offer, profile, days
    )
    trace = simulate_autoscale(demand, offer, profile, 1, 3)
    assert auto is not None and auto.label == "autoscale 1–3 replicas"
    assert np.array_equal(auto.running_replicas, trace.running) and np.array_equal(
        auto.ready_replicas, trace.ready
    )
    day = np.zeros(1440)
    settings = {"family": "scheduled", "replicas": 2, "window": "daily 08:00–20:00 UTC"}
    scheduled = plan_capacity(settings, day, offer, profile, days)
    assert scheduled is not None and scheduled.label == "scheduled 2 replicas daily 08:00–20:00 UTC"
    assert np.flatnonzero(scheduled.in_plan).tolist() == list(range(8 * 60, 20 * 60))
    assert set(scheduled.ready_replicas[scheduled.in_plan].tolist()) == {2}
    unreadable = dict(settings, window="12 busiest hours of the week")
    assert plan_capacity(unreadable, day, offer, profile, days) is None
    assert plan_capacity({"family": "fixed", "replicas": 2}, day, offer, profile, days) is None


def test_family_pictures_are_pngs_of_the_stated_size_and_the_same_bytes_every_time():
    demand = np.zeros(7 * 1440)
    demand[:31] = _square_demand()
    running, ready = np.ones(demand.size, dtype=np.int64), np.ones(demand.size, dtype=np.int64)
    running[6:11], ready[8:11] = 3, 3
    auto = PlanCapacity.autoscale(running, ready, 10.0, "autoscale 1–3 replicas")
    window = np.zeros(demand.size, dtype=bool)
    window[480:1140] = True
    scheduled = PlanCapacity.scheduled(window, 2, 10.0, "scheduled 2 replicas Mon–Fri 08:00–19:00 UTC")
    with_plan = DemandChart("chat", WEEK, DAYS, demand, "hybrid", 3, 0.0, plan=auto, candidate=scheduled)
    options = options_chart("chat", WEEK, _option_rows(), "autoscale")
    assert options is not None
    assert _png_size(demand_png(with_plan)) == (1100, 360) and demand_png(with_plan) == demand_png(with_plan)
    assert demand_png(with_plan) != demand_png(_demand())
    assert _png_size(options_png(options)) == (600, 360) and options_png(options) == options_png(options)
    charts = [EndpointCharts(with_plan, None, options), EndpointCharts(_demand("b"), None)]
    overview = overview_png(charts, WEEK)
    assert _png_size(overview) == (1500, 680) and overview == overview_png(charts, WEEK)


def _with_family_tables(home) -> None:
    """Give the built home's week the plan-family tables: steady-big keeps its recommended fixed replica while the
    cheapest option is autoscale 0–1 (it starts cold: minute 0 has no replica, minutes 1-5 one starting); nightly
    is recommended 1 replica scheduled daily 02:00–03:00 UTC."""
    recommendations = read_week_table(home, "recommendations", WEEK)
    fingerprint = recorded_week_fingerprint(home, "recommendations", WEEK)
    family = {"steady-big": "fixed", "nightly": "scheduled"}
    window = {"nightly": "daily 02:00–03:00 UTC"}
    recommendations = recommendations.with_columns(
        plan_family=pl.col("endpoint").replace_strict(family, default=None),
        min_replicas=pl.lit(None, dtype=pl.Int64),
        max_replicas=pl.lit(None, dtype=pl.Int64),
        schedule_window=pl.col("endpoint").replace_strict(window, default=None),
        replicas=pl.when(pl.col("endpoint") == "nightly").then(1).otherwise(pl.col("replicas")),
    )
    write_week_table(home, "recommendations", WEEK, recommendations, fingerprint)
    options = pl.DataFrame(
        {
            "week_start": [WEEK] * 4,
            "endpoint": ["steady-big"] * 3 + ["nightly"],
            "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"] * 4,
            "family": ["serverless", "fixed", "autoscale", "scheduled"],
            "replicas": [None, 1, 1, 1],
            "min_replicas": [None, 1, 0, None],
            "max_replicas": [None, 1, 1, 1],
            "window": [None, None, None, "daily 02:00–03:00 UTC"],
            "total_cost_usd": [3000.0, 922.32, 921.0, 40.0],
            "reserved_cost_usd": [0.0, 922.32, 920.0, 40.0],
            "overflow_cost_usd": [3000.0, 0.0, 1.0, 0.0],
            "is_cheapest": [False, False, True, True],
        },
        schema_overrides={"replicas": pl.Int64, "min_replicas": pl.Int64, "max_replicas": pl.Int64},
    )
    write_week_table(home, "plan_options", WEEK, options, "test")


def test_week_charts_draw_the_plan_families_of_the_weekly_tables(built_home):
    _with_family_tables(built_home)
    charts = load_week_charts(built_home, Settings.load(built_home), WEEK, ["steady-big", "nightly"])
    steady = charts[0].demand
    assert steady.reserved_tps == pytest.approx(44_275.2) and steady.plan is None  # the fixed plan, as before
    assert steady.candidate is not None and steady.candidate.label == "autoscale 0–1 replicas"
    assert steady.cheapest_tps is None
    capacity = steady.candidate.capacity_tps
    assert capacity[:6].tolist() == [0.0] * 6 and np.allclose(capacity[6:], 44_275.2)  # C = 5 minutes
    assert np.flatnonzero(steady.cold_start_minutes).tolist() == [1, 2, 3, 4, 5]
    assert charts[0].options is not None and charts[0].options.families == (
        "serverless",
        "fixed",
        "autoscale",
    )
    assert charts[0].options.recommended == 1 and charts[0].options.cheapest == 2
    nightly = charts[1].demand
    assert nightly.plan is not None and nightly.plan.label == "scheduled 1 replica daily 02:00–03:00 UTC"
    assert nightly.plan.in_plan.sum() == 7 * 60
    assert np.all((np.flatnonzero(nightly.plan.in_plan) % 1440) // 60 == 2)
    assert nightly.overflow_share == 0.0  # 383/s in its window, one replica serves 44,275/s
    assert charts[1].options is not None and charts[1].options.recommended == 0
    written = write_week_charts(built_home, WEEK, charts)
    assert sorted(written.options) == ["nightly", "steady-big"]
    assert all(_png_size(path.read_bytes()) == (600, 360) for path in written.options.values())


# ------------------------------------------------------------- the curve's saving counts from the current plan


def _drawn_texts(chart: CurveChart) -> list[str]:
    """Every text ``draw_curve`` puts on the axes (annotations and the verdict box)."""
    from matplotlib.figure import Figure

    from pipelines.delivery.charts import draw_curve

    axes = Figure().add_subplot()
    draw_curve(axes, chart)
    return [text.get_text() for text in axes.texts]


def test_the_curve_saving_counts_from_the_current_plan_not_from_serverless():
    """An endpoint on 3 dedicated replicas ($2,766.96/wk) whose cheapest plan is serverless ($933.96): the old
    picture said R* = 0 'saves $0.00' (serverless against serverless); the saving is $1,833 against the current
    plan, the recommendations row's ``savings_usd``."""
    from pipelines.delivery.charts import plan_verdict

    rows = pl.DataFrame({"endpoint": ["chat"] * 3, "replicas": [0, 1, 2],
                         "reserved_cost_usd": [0.0, 922.32, 1844.64], "overflow_cost_usd": [933.96, 300.0, 0.0],
                         "total_cost_usd": [933.96, 1222.32, 1844.64], "is_cheapest": [True, False, False]})  # fmt: skip
    row = {"endpoint": "chat", "current_mode": "dedicated", "recommended_mode": "serverless", "action": "migrate",
           "raw_mode": "serverless", "replicas": 0, "current_cost_usd": 2766.96, "recommended_cost_usd": 933.96,
           "savings_usd": 1833.0, "raw_savings_usd": 1833.0}  # fmt: skip
    curve = curve_chart("chat", WEEK, rows)
    assert curve.savings_vs_serverless_usd[0] == 0.0  # what the old annotation printed
    chart = CurveChart(**{**curve.__dict__, "verdict": plan_verdict(row)})
    texts = _drawn_texts(chart)
    assert texts == chart.annotations()
    assert texts[0] == "R* = 0: $934/wk"
    assert "saves $1,833/wk vs the current plan" in texts[1] and "$0.00" not in " ".join(texts)
    assert "now: dedicated, $2,767/wk" in texts[1] and "recommended: serverless, $934/wk" in texts[1]


def test_the_cost_curve_annotations_are_the_recommendations_savings_batch_included(built_home):
    """With a policy that moves at once (no threshold, one week of persistence) nightly goes to batch and steady-big
    to one dedicated replica: each curve's verdict is its recommendations row, the saving printed is the row's
    ``savings_usd`` (batch priced from ``plan_options``), and the batch price is drawn as a line."""
    from pipelines.app.runner import materialize_pending

    built_home.config_file.write_text(
        "policy:\n  min_savings_usd_per_week: 0\n  min_savings_pct: 0\n  persistence_weeks: 1\n"
    )
    materialize_pending(built_home, progress=lambda _: None)
    settings = Settings.load(built_home)
    recommendations = read_week_table(built_home, "recommendations", WEEK)
    rows = {row["endpoint"]: row for row in recommendations.iter_rows(named=True)}
    assert (rows["nightly"]["recommended_mode"], rows["nightly"]["action"]) == ("batch", "migrate")
    charts = load_week_charts(built_home, settings, WEEK, ["steady-big", "nightly", "small-chat"])
    savings = {}
    for chart in charts:
        row, curve = rows[chart.demand.endpoint], chart.curve
        assert curve is not None and curve.verdict is not None
        assert curve.verdict.savings_usd == pytest.approx(row["savings_usd"])
        assert curve.verdict.current_cost_usd == pytest.approx(row["current_cost_usd"])
        (box,) = [t for t in _drawn_texts(curve) if "vs the current plan" in t]
        printed = re.search(r"saves (\$[\d,.]+)/wk vs the current plan", box).group(1)
        assert printed == format_usd(row["savings_usd"])
        savings[chart.demand.endpoint] = printed
    assert savings == {"steady-big": "$2,236", "nightly": "$0.26", "small-chat": "$0.00"}
    nightly = charts[1].curve.verdict
    options = read_week_table(built_home, "plan_options", WEEK)
    batch = options.filter((pl.col("endpoint") == "nightly") & (pl.col("family") == "batch"))
    assert nightly.batch_cost_usd == pytest.approx(float(batch["total_cost_usd"][0])) == pytest.approx(0.2583)
    assert nightly.recommended_plan == "batch"


def _embedded_pictures(markdown: str) -> list[tuple[Path, bytes]]:
    """(path written under it, decoded PNG) of every data-URI image in a chart's Markdown metadata."""
    found = re.findall(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)\n\n`([^`]+)`", markdown)
    return [(Path(path), base64.b64decode(data)) for data, path in found]


def test_pictures_past_the_embedding_budget_are_named_by_their_path(tmp_path):
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    small.write_bytes(b"\x89PNG" + b"s" * 296)  # 300 bytes: 400 encoded
    large.write_bytes(b"\x89PNG" + b"l" * 596)  # 600 bytes: 800 encoded
    embed = ChartEmbedder(budget_bytes=1_000)
    first, second, third = (embed.markdown(path, "a [chart](x)") for path in (small, large, small))
    assert _embedded_pictures(first) == [(small, small.read_bytes())]
    assert "data:" not in second and f"`{large}`" in second and "not embedded" in second  # 400 + 800 > 1,000
    assert _embedded_pictures(third) == [(small, small.read_bytes())]  # 400 + 400 still fits
    assert embed.embedded_bytes == 800
    assert first.startswith("**a  chart  x**")  # the caption cannot make a link or an image
