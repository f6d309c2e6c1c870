"""Weekly pictures: per featured endpoint, the week's per-minute weighted demand against the recommended reserved
capacity (overflow above it shaded), and the plan cost curve total(R) with R* marked.

Pure data first (``DemandChart``, ``CurveChart``: what is drawn, testable without looking at pixels), then rendering
with matplotlib's object API on the Agg canvas (no pyplot global state, no display, same bytes for the same data),
then loading from the weekly Parquet tables and the rollups and writing PNG files atomically under
``$MODESHIFT_HOME/reports/<week>/``.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pipelines.core.atomic import read_json, replace_file, temp_sibling, write_json
from pipelines.core.calendar import MINUTES_PER_DAY
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.text import display_name, format_usd
from pipelines.core.vocabulary import RESERVED_MODES
from pipelines.lake.rate_card import load_rate_card, model_terms
from pipelines.lake.series import endpoint_series
from pipelines.lake.weekly_inputs import load_week_rollups
from pipelines.lake.weekly_store import read_week_table, recorded_week_fingerprint

DPI = 100
_STYLE = {
    "text.parse_math": False,  # endpoint names and dollar amounts are text, never mathtext
    "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs everywhere
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "modeshift",
}
_DEMAND_COLOR = "#1f5f99"
_CAPACITY_COLOR = "#c0392b"
_OVERFLOW_COLOR = "#f39c12"
_CHEAPEST_COLOR = "#7f8c8d"
_RESERVED_COLOR = "#5b8db8"


# ----------------------------------------------------------------------------------------------- what is drawn


@dataclass(frozen=True, eq=False)
class DemandChart:
    """One endpoint's week, minute by minute: weighted demand (weighted tokens/s) against reserved capacity.

    ``reserved_tps`` = replicas × K × u of the recommended plan (0 when it reserves nothing);
    ``cheapest_tps`` = R* × K × u of the cheapest plan on the cost curve when it differs from the recommended
    capacity (a held candidate), else None.
    """

    endpoint: str
    week_start: date
    covered_days: tuple[date, ...]
    demand_tps: np.ndarray
    recommended_mode: str
    replicas: int
    reserved_tps: float
    cheapest_replicas: int | None = None
    cheapest_tps: float | None = None

    @property
    def overflow_tps(self) -> np.ndarray:
        """Per-minute demand above the reserved capacity (weighted tokens/s), served by serverless; zeros when
        nothing is reserved (then all of it is simply serverless traffic, not overflow)."""
        if self.reserved_tps <= 0:
            return np.zeros_like(self.demand_tps)
        return np.maximum(self.demand_tps - self.reserved_tps, 0.0)

    @property
    def overflow_share(self) -> float:
        """Overflow weighted tokens / all weighted tokens of the week (fraction; 0 without demand).
        Minute m overflows (1 − φ_m)·D_m = max(0, D_m − Cap), so this is the plan's overflow_share
        (see docs/cost-model.md#utilization-and-overflow-share)."""
        total = float(self.demand_tps.sum())
        return float(self.overflow_tps.sum()) / total if total > 0 else 0.0


@dataclass(frozen=True, eq=False)
class CurveChart:
    """One endpoint's plan cost curve: weekly cost in USD of R = 0..R_full reserved replicas plus overflow."""

    endpoint: str
    week_start: date
    replicas: np.ndarray
    reserved_cost_usd: np.ndarray
    overflow_cost_usd: np.ndarray
    total_cost_usd: np.ndarray
    r_star: int

    @property
    def savings_usd(self) -> np.ndarray:
        """Weekly saving of each R against pure serverless: total(0) − total(R), USD."""
        return self.total_cost_usd[0] - self.total_cost_usd


@dataclass(frozen=True, eq=False)
class EndpointCharts:
    """The two pictures of one featured endpoint (``curve`` is None when the model has no dedicated offer)."""

    demand: DemandChart
    curve: CurveChart | None


def reserved_capacity_tps(replicas: int, replica_capacity_tps: float, target_utilization: float) -> float:
    """Planned capacity of ``replicas`` replicas in weighted tokens/s: R × K × u
    (see docs/cost-model.md#replica-capacity-and-target-utilization)."""
    return float(replicas) * replica_capacity_tps * target_utilization


def curve_chart(endpoint: str, week_start: date, curve_rows: pl.DataFrame) -> CurveChart | None:
    """The cost curve of ``endpoint`` from its ``plan_curve`` rows (None when it has none)."""
    rows = curve_rows.filter(pl.col("endpoint") == endpoint).sort("replicas")
    if rows.height == 0:
        return None
    cheapest = rows.filter(pl.col("is_cheapest"))
    totals = rows["total_cost_usd"].to_numpy()
    r_star = int(cheapest["replicas"][0]) if cheapest.height else int(np.argmin(totals))
    return CurveChart(
        endpoint=endpoint,
        week_start=week_start,
        replicas=rows["replicas"].to_numpy(),
        reserved_cost_usd=rows["reserved_cost_usd"].to_numpy(),
        overflow_cost_usd=rows["overflow_cost_usd"].to_numpy(),
        total_cost_usd=totals,
        r_star=r_star,
    )


# ------------------------------------------------------------------------------------------------- rendering


def hourly_mean(demand_tps: np.ndarray) -> np.ndarray:
    """Mean weighted demand of each hour (weighted tokens/s) from a per-minute series whose length is a whole
    number of hours."""
    return demand_tps.reshape(-1, 60).mean(axis=1) if demand_tps.size else demand_tps


def draw_demand(ax: Axes, chart: DemandChart) -> None:
    """Draw ``chart`` on ``ax``: per-minute demand (light) with its hourly mean (dark), the reserved capacity line,
    the overflow above it shaded, one tick per covered day."""
    demand = chart.demand_tps
    days = np.arange(demand.size) / MINUTES_PER_DAY
    ax.fill_between(days, 0, demand, step="post", color=_DEMAND_COLOR, alpha=0.25, linewidth=0,
                    label="weighted demand, per minute")  # fmt: skip
    hours = hourly_mean(demand)
    ax.plot(
        (np.arange(hours.size) + 0.5) / 24, hours, color=_DEMAND_COLOR, linewidth=1.0, label="hourly mean"
    )
    top = float(demand.max()) if demand.size else 0.0
    if chart.reserved_tps > 0:
        ax.fill_between(days, chart.reserved_tps, demand, where=demand > chart.reserved_tps, step="post",
                        color=_OVERFLOW_COLOR, alpha=0.85, linewidth=0,
                        label=f"overflow to serverless ({chart.overflow_share:.1%} of tokens)")  # fmt: skip
        ax.axhline(chart.reserved_tps, color=_CAPACITY_COLOR, linewidth=1.4,
                   label=f"reserved: {chart.replicas} × K × u = {chart.reserved_tps:,.0f}/s")  # fmt: skip
        top = max(top, chart.reserved_tps)
    if chart.cheapest_tps:
        ax.axhline(chart.cheapest_tps, color=_CHEAPEST_COLOR, linestyle="--", linewidth=1.0,
                   label=f"cheapest plan (held): R* = {chart.cheapest_replicas}, {chart.cheapest_tps:,.0f}/s")  # fmt: skip
        top = max(top, chart.cheapest_tps)
    ax.set_xlim(0, max(len(chart.covered_days), 1))
    ax.set_ylim(0, top * 1.25 if top > 0 else 1.0)
    ax.set_xticks(np.arange(len(chart.covered_days)) + 0.5)
    ax.set_xticklabels([day.strftime("%a %m-%d") for day in chart.covered_days])
    ax.tick_params(axis="x", length=0)
    for boundary in range(1, len(chart.covered_days)):
        ax.axvline(boundary, color="#dddddd", linewidth=0.6, zorder=0)
    ax.set_ylabel("weighted tokens/s")
    plan = (
        f"{chart.recommended_mode}, {chart.replicas} replica(s)"
        if chart.recommended_mode in RESERVED_MODES
        else f"{chart.recommended_mode} (nothing reserved)"
    )
    ax.set_title(f"{display_name(chart.endpoint)}: demand, week of {chart.week_start} — recommended {plan}",
                 loc="left")  # fmt: skip
    ax.legend(loc="upper right", fontsize=7, frameon=True, framealpha=0.9, ncol=2)


def draw_curve(ax: Axes, chart: CurveChart) -> None:
    """Draw ``chart`` on ``ax``: stacked bars of reserved and overflow cost per R, serverless cost as a dashed line,
    R* highlighted with its saving against serverless."""
    replicas = chart.replicas
    ax.bar(replicas, chart.reserved_cost_usd, color=_RESERVED_COLOR, label="reserved replicas")
    ax.bar(replicas, chart.overflow_cost_usd, bottom=chart.reserved_cost_usd, color=_OVERFLOW_COLOR,
           label="serverless overflow")  # fmt: skip
    ax.axhline(chart.total_cost_usd[0], color=_CHEAPEST_COLOR, linestyle="--", linewidth=1.0,
               label=f"serverless: {format_usd(float(chart.total_cost_usd[0]))}/wk")  # fmt: skip
    best = int(np.flatnonzero(replicas == chart.r_star)[0])
    ax.plot([chart.r_star], [chart.total_cost_usd[best]], marker="*", markersize=14, color=_CAPACITY_COLOR,
            linestyle="none", label=f"R* = {chart.r_star}")  # fmt: skip
    ax.annotate(
        f"R* = {chart.r_star}: {format_usd(float(chart.total_cost_usd[best]))}/wk\n"
        f"saves {format_usd(float(chart.savings_usd[best]))}/wk",
        xy=(chart.r_star, chart.total_cost_usd[best]),
        xytext=(0, 14),
        textcoords="offset points",
        ha="center",
        fontsize=8,
    )
    ax.set_xticks(replicas if replicas.size <= 16 else np.linspace(0, replicas[-1], 9).round().astype(int))
    ax.set_xlabel("reserved replicas R")
    ax.set_ylabel("USD per week")
    ax.set_ylim(0, float(chart.total_cost_usd.max()) * 1.3 or 1.0)
    ax.set_title(f"{display_name(chart.endpoint, 40)}: weekly cost vs replicas", loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=7, frameon=False)


def _png(figure: Figure) -> bytes:
    """The figure as PNG bytes (no timestamp or version in the file: same data, same bytes)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def demand_png(chart: DemandChart) -> bytes:
    """The demand picture of one endpoint as PNG bytes (1100 × 360 px)."""
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(11, 3.6), layout="constrained")
        draw_demand(figure.add_subplot(), chart)
        return _png(figure)


def curve_png(chart: CurveChart) -> bytes:
    """The cost-curve picture of one endpoint as PNG bytes (600 × 360 px)."""
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(6, 3.6), layout="constrained")
        draw_curve(figure.add_subplot(), chart)
        return _png(figure)


def overview_png(charts: list[EndpointCharts], week_start: date) -> bytes:
    """One picture of the week for the Slack report: a row per featured endpoint, demand left, cost curve right."""
    with matplotlib.rc_context(_STYLE):
        rows = max(len(charts), 1)
        figure = Figure(figsize=(15, 3.4 * rows), layout="constrained")
        figure.suptitle(f"modeshift — week of {week_start}", fontsize=12, x=0.01, ha="left")
        grid = figure.add_gridspec(rows, 2, width_ratios=[2.4, 1])
        if not charts:
            figure.add_subplot(grid[0, :]).text(0.5, 0.5, "no priced spend this week", ha="center")
        for row, chart in enumerate(charts):
            draw_demand(figure.add_subplot(grid[row, 0]), chart.demand)
            curve_axes = figure.add_subplot(grid[row, 1])
            if chart.curve is not None:
                draw_curve(curve_axes, chart.curve)
            else:
                curve_axes.set_axis_off()
                curve_axes.text(0.5, 0.5, "no dedicated offer for this model", ha="center", va="center")
        return _png(figure)


# --------------------------------------------------------------------------------------- loading and writing


def load_week_charts(
    home: Home, settings: Settings, week_start: date, endpoints: list[str]
) -> list[EndpointCharts]:
    """The pictures' data for ``endpoints`` (in that order) from the week's recommendations and plan_curve Parquet
    tables, the daily rollups and the rate card; endpoints without a recommendation row are skipped."""
    recommendations = read_week_table(home, "recommendations", week_start)
    if recommendations is None:
        raise RuntimeError(f"week {week_start} has no recommendations yet")
    curves = read_week_table(home, "plan_curve", week_start)
    rollups = load_week_rollups(home, week_start)
    series = endpoint_series(rollups.minutes, rollups.covered_days) if rollups.minutes is not None else {}
    terms = model_terms(load_rate_card(settings.rate_card_path), week_start)
    minutes = len(rollups.covered_days) * MINUTES_PER_DAY
    by_endpoint = {row["endpoint"]: row for row in recommendations.iter_rows(named=True)}
    charts = []
    for endpoint in endpoints:
        row = by_endpoint.get(endpoint)
        if row is None:
            continue
        terms_ = terms.get(row["model"])
        offer = terms_.offer if terms_ is not None else None
        curve = curve_chart(endpoint, week_start, curves) if curves is not None else None
        replicas = int(row["replicas"] or 0) if row["recommended_mode"] in RESERVED_MODES else 0
        reserved = reserved_capacity_tps(replicas, offer.replica_capacity_tps, offer.target_utilization) if (
            offer is not None) else 0.0  # fmt: skip
        cheapest_replicas = cheapest = None
        if curve is not None and offer is not None and curve.r_star not in (0, replicas):
            cheapest_replicas = curve.r_star
            cheapest = reserved_capacity_tps(
                curve.r_star, offer.replica_capacity_tps, offer.target_utilization
            )
        demand = series[endpoint].demand_tps if endpoint in series else np.zeros(minutes)
        charts.append(
            EndpointCharts(
                demand=DemandChart(
                    endpoint=endpoint,
                    week_start=week_start,
                    covered_days=tuple(rollups.covered_days),
                    demand_tps=demand,
                    recommended_mode=row["recommended_mode"],
                    replicas=replicas,
                    reserved_tps=reserved,
                    cheapest_replicas=cheapest_replicas,
                    cheapest_tps=cheapest,
                ),
                curve=curve,
            )
        )
    return charts


def slugify(name: str, limit: int = 48) -> str:
    """A file-name-safe, unique slug of an endpoint name: ASCII letters, digits, '.', '_' and '-' only (no path
    separators, control characters or leading dots), plus 8 hex digits of the name's hash so that names that
    clean up alike ('a/b', 'a b') never share a file."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", ascii_name).strip("-.")[:limit].strip("-.") or "endpoint"
    return f"{cleaned}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def reports_dir(home: Home, week_start: date) -> Path:
    """Directory of one week's pictures: ``$MODESHIFT_HOME/reports/<week_start>/``."""
    return home.root / "reports" / week_start.isoformat()


@dataclass(frozen=True)
class WrittenCharts:
    """Paths of the PNG files written for one week: the overview and, per endpoint, demand and curve."""

    overview: Path
    demand: dict[str, Path]
    curve: dict[str, Path]


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = temp_sibling(path)
    tmp.write_bytes(data)
    replace_file(tmp, path)


def _overview_manifest(home: Home, week_start: date) -> Path:
    return reports_dir(home, week_start) / "_overview.json"


def _overview_identity(home: Home, week_start: date, endpoints: list[str]) -> dict[str, object]:
    """What an overview picture was drawn from: the week's recommendations (their recorded fingerprint) and the
    featured endpoints in order."""
    return {
        "recommendations": recorded_week_fingerprint(home, "recommendations", week_start),
        "endpoints": endpoints,
    }


def write_week_charts(home: Home, week_start: date, charts: list[EndpointCharts]) -> WrittenCharts:
    """Render and write every picture of the week (each file replaced atomically); PNG files of endpoints no
    longer featured are removed. The overview records what it was drawn from (``_overview.json``), so the Slack
    report can upload the file instead of drawing it again."""
    directory = reports_dir(home, week_start)
    directory.mkdir(parents=True, exist_ok=True)
    overview = directory / "overview.png"
    _write_atomically(overview, overview_png(charts, week_start))
    write_json(
        _overview_manifest(home, week_start),
        _overview_identity(home, week_start, [chart.demand.endpoint for chart in charts]),
    )
    demand: dict[str, Path] = {}
    curve: dict[str, Path] = {}
    for chart in charts:
        slug = slugify(chart.demand.endpoint)
        demand[chart.demand.endpoint] = directory / f"demand-{slug}.png"
        _write_atomically(demand[chart.demand.endpoint], demand_png(chart.demand))
        if chart.curve is not None:
            curve[chart.demand.endpoint] = directory / f"curve-{slug}.png"
            _write_atomically(curve[chart.demand.endpoint], curve_png(chart.curve))
    keep = {overview, *demand.values(), *curve.values()}
    for stale in directory.glob("*.png"):
        if stale not in keep:
            stale.unlink(missing_ok=True)
    return WrittenCharts(overview=overview, demand=demand, curve=curve)


def week_overview_png(home: Home, settings: Settings, week_start: date, endpoints: list[str]) -> bytes:
    """The week's overview picture (PNG bytes) for ``endpoints``: the file ``weekly_charts`` wrote when it was drawn
    from the week's current recommendations for the same endpoints, else drawn now (and written for next time)."""
    overview = reports_dir(home, week_start) / "overview.png"
    if overview.is_file() and read_json(_overview_manifest(home, week_start)) == _overview_identity(
        home, week_start, endpoints
    ):
        return overview.read_bytes()
    charts = load_week_charts(home, settings, week_start, endpoints)
    data = overview_png(charts, week_start)
    overview.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(overview, data)
    write_json(
        _overview_manifest(home, week_start),
        _overview_identity(home, week_start, [c.demand.endpoint for c in charts]),
    )
    return data
