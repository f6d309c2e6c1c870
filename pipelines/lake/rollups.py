"""Daily rollups: everything the weekly step needs from one day of requests, so the weekly step never reads raw
requests (its cost grows with endpoints × minutes, not with traffic). Written per day, replaced atomically::

    lake/rollups/day=D/minutes.parquet        per endpoint, model and minute: counts, tokens (cached ones too), list
                                              cost, weighted tokens (capacity.cached_input_weight), signals (request
                                              minutes and aggregated usage minutes, lake/usage/day=D, alike)
    lake/rollups/day=D/interarrival.parquet   per endpoint: gap count, sum and sum of squares, first/last arrival
    lake/rollups/day=D/histograms.parquet     per endpoint and metric: request counts per histogram bucket
    lake/rollups/day=D/latency_hours.parquet  per endpoint, hour and latency metric: serverless ok requests per bucket
    lake/rollups/day=D/_manifest.json         fingerprint of the inputs (written last)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from pipelines.core.atomic import replace_dir, temp_path, write_json
from pipelines.core.duck import connect
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.usage_merge import usage_part_files
from pipelines.lake.lineage import rollup_fingerprint
from pipelines.lake.providers import endpoint_provider_frame
from pipelines.lake.rate_card import load_rate_card


@dataclass(frozen=True)
class DayRollup:
    """What one day's rollup holds."""

    day: str
    endpoints: int
    minute_rows: int
    requests: int
    list_cost_usd: float
    unpriced_requests: int


def endpoint_providers(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    params: dict[str, Any],
    usage_files: list[str] | None = None,
) -> pl.DataFrame:
    """One row per endpoint of the day's files (``params["files"]``, and the day's merged usage minutes
    ``usage_files``) with the provider its prices come from (``provider.endpoints``, else ``provider.name``): the
    rollup joins the rate card on model and provider."""
    names = {str(row[0]) for row in con.sql(load_sql("rollup/day_endpoints"), params=params).fetchall()}
    if usage_files:
        usage = con.sql(load_sql("rollup/usage_endpoints"), params={"files": usage_files}).fetchall()
        names |= {str(row[0]) for row in usage}
    return endpoint_provider_frame(settings, sorted(names))


def rollup_day(home: Home, settings: Settings, day: str) -> DayRollup | None:
    """Build the rollups of ``day`` from its request lake file and its merged aggregated usage minutes; None (and
    nothing written) for a day without data."""
    expected = rollup_fingerprint(home, settings, day)
    lake_files = sorted(str(p) for p in home.request_day_dir(day).glob("*.parquet"))
    usage_files = usage_part_files(home, day)
    if expected is None or not (lake_files or usage_files):
        return None
    work_dir = temp_path(home.rollups, day)
    out_dir = work_dir / "out"
    out_dir.mkdir(parents=True)
    try:
        with connect(temp_dir=work_dir / "spill") as con:
            con.register("rate_card", load_rate_card(settings.rate_card_path))
            if (
                not lake_files
            ):  # only aggregated usage that day: the request rollups get their columns, no rows
                empty = str(work_dir / "no-requests.parquet")
                con.sql(load_sql("rollup/empty_requests")).write_parquet(empty)
                lake_files = [empty]
            params = {"files": lake_files}
            con.register("endpoint_provider", endpoint_providers(con, settings, params, usage_files))
            weight = {"cached_input_weight": settings.capacity.cached_input_weight}
            con.sql(load_sql("rollup/minutes"), params=params | weight).create_view("request_minutes")
            if usage_files:
                con.sql(load_sql("rollup/usage_minutes"), params={"files": usage_files} | weight).create_view(
                    "usage_minutes"
                )
                minutes = con.sql(load_sql("rollup/minutes_all"))
            else:
                minutes = con.sql(load_sql("rollup/request_minutes_only"))
            minutes.write_parquet(str(out_dir / "minutes.parquet"))
            con.sql(load_sql("rollup/interarrival"), params=params | {"day": day}).write_parquet(
                str(out_dir / "interarrival.parquet")
            )
            con.sql(load_sql("rollup/histograms"), params=params).write_parquet(
                str(out_dir / "histograms.parquet")
            )
            con.sql(load_sql("rollup/latency_hours"), params=params).write_parquet(
                str(out_dir / "latency_hours.parquet")
            )
            totals = con.sql(
                load_sql("rollup/totals"), params={"file": str(out_dir / "minutes.parquet")}
            ).fetchall()
        endpoints, minute_rows, requests, cost, unpriced = totals[0]
        result = DayRollup(
            day, endpoints, minute_rows, int(requests or 0), float(cost or 0.0), int(unpriced or 0)
        )
        write_json(out_dir / "_manifest.json", {"fingerprint": expected, "totals": result.__dict__})
        replace_dir(out_dir, home.rollup_day_dir(day))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return result
