"""The weekly pictures: what is drawn (known answers), file names, atomic writing, and the weekly_charts asset."""

from __future__ import annotations

import re
import struct
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from dagster import DagsterInstance, materialize
from hypothesis import given
from hypothesis import strategies as st

import assets.charts
from pipelines.core.settings import Settings
from pipelines.delivery.charts import (
    CurveChart,
    DemandChart,
    EndpointCharts,
    curve_chart,
    curve_png,
    demand_png,
    hourly_mean,
    load_week_charts,
    overview_png,
    reserved_capacity_tps,
    slugify,
    week_overview_png,
    write_week_charts,
)
from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.lake.weekly_store import read_week_table
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
    assert chart.savings_usd.tolist() == pytest.approx([0.0, 3477.68, 3155.36])
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
    (K = 40,000, u = 0.8) reserves 32,000 tokens/s, so nothing overflows."""
    charts = load_week_charts(built_home, Settings.load(built_home), WEEK, ["steady-big", "nightly"])
    steady = charts[0].demand
    assert steady.demand_tps.size == 7 * 1440
    assert np.allclose(steady.demand_tps, (1_600_000 + 6 * 2_000) / 60)
    assert steady.reserved_tps == pytest.approx(32_000.0)
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
    assert metadata["overview"].value == str(directory / "overview.png")
    assert metadata["endpoints_charted"].value == 3  # the three priced endpoints (unpriced has no spend)
    for key in ("overview", "demand_1", "cost_curve_1", "demand_3"):
        assert _png_size((directory / metadata[key].value.rsplit("/", 1)[-1]).read_bytes())[0] > 0
    assert "steady-big" in metadata["demand_1"].value  # the top endpoint by spend comes first
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
