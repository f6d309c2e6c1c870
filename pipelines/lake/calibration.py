"""``modeshift calibrate``'s reading of the request lake: for each endpoint served on dedicated replicas whose replica
count is declared (settings ``deployments``), the per-replica capacity its own traffic shows beside the capacity
the rate card and the capacity file assume for its request shape (docs/cost-model.md#calibrating-replica-capacity).

Only reads: the lake's day files (the days merged so far), the rate card, the capacity file and the settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.core.calendar import week_start_of
from pipelines.core.duck import connect
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.sql_loader import load_sql
from pipelines.domain.calibration import CapacityEstimate, estimate_replica_capacity
from pipelines.lake.lineage import covered_days
from pipelines.lake.rate_card import load_rate_card, model_terms
from pipelines.lake.replica_capacity import ReplicaCapacityTable, endpoint_offer, load_replica_capacity

# Fewer observed minutes than this and the hint says the evidence is thin (one hour of dedicated traffic).
FEW_MINUTES = 60


@dataclass(frozen=True)
class CalibrationRow:
    """One endpoint (and model) of the calibration: ``estimate`` and the card's ``card_tps`` for its shape when it
    could be compared, else ``why`` it could not; ``hint`` says which file and row to correct."""

    endpoint: str
    model: str | None
    replicas: int | None
    estimate: CapacityEstimate | None = None
    card_tps: float | None = None
    input_tokens_p50: float | None = None
    output_tokens_p50: float | None = None
    why: str | None = None
    hint: str | None = None

    @property
    def ratio(self) -> float | None:
        """K̂ / the card's K for the endpoint's shape (None when either is missing)."""
        if self.estimate is None or not self.card_tps:
            return None
        return self.estimate.per_replica_tps / self.card_tps


@dataclass(frozen=True)
class Calibration:
    """The calibration of one home: ``rows`` (see ``calibration_rows``) and how many other endpoints the lake holds
    (served only serverless or batch, no replica count declared)."""

    rows: list[CalibrationRow]
    other_endpoints: int


def lake_files(home: Home) -> list[str]:
    """The request lake's day files of every merged day, in day order."""
    return [
        str(path)
        for day in covered_days(home)
        for path in sorted(home.request_day_dir(day).glob("*.parquet"))
    ]


def fixed_replicas(settings: Settings) -> dict[str, int]:
    """The replica count of every deployment declared as a fixed count (autoscaled and scheduled deployments
    change their count during the week, so traffic per replica cannot be read off them)."""
    return {
        name: int(deployment.replicas)
        for name, deployment in settings.deployments.items()
        if deployment.family == "fixed" and deployment.replicas is not None
    }


def calibrate(home: Home, settings: Settings) -> Calibration:
    """Every endpoint with dedicated traffic or a declared replica count, estimated or with why not, sorted by
    endpoint (then model), and the count of the lake's other endpoints."""
    files = lake_files(home)
    declared = fixed_replicas(settings)
    # The default provider's rows (provider.name): calibration measures the replicas of that price list.
    card = load_rate_card(settings.rate_card_path)
    card = card.filter(pl.col("provider") == settings.provider.name)
    capacity = load_replica_capacity(settings.replica_capacity_path)
    if not files:
        rows = [
            CalibrationRow(name, None, replicas, why="no requests in the lake")
            for name, replicas in sorted(declared.items())
        ]
        return Calibration(rows, 0)
    con = connect()
    with con:
        con.register("rate_card", card)
        params = {"files": files}
        weight = {"cached_input_weight": settings.capacity.cached_input_weight}
        minutes = con.sql(load_sql("analyst/calibrate_minutes"), params=params | weight).pl()
        shapes = con.sql(load_sql("analyst/calibrate_shapes"), params=params).pl()
        endpoints = con.sql(load_sql("analyst/calibrate_endpoints"), params=params).pl()
    rows: list[CalibrationRow] = []
    for shape in shapes.iter_rows(named=True):
        endpoint, model = shape["endpoint"], shape["model"]
        replicas = declared.get(endpoint)
        row = _row(endpoint, model, replicas, shape, minutes, card, capacity, settings.rate_card_path)
        deployment = settings.deployment_of(endpoint)
        if replicas is None and deployment is not None:
            row = _with(row, why=f"declared as {deployment.family} under deployments: its replica count changes "
                                 "during the week; calibrating needs a fixed count")  # fmt: skip
        rows.append(row)
    with_dedicated = set(shapes["endpoint"].to_list())
    seen = {row["endpoint"]: row for row in endpoints.iter_rows(named=True)}
    for name, replicas in sorted(declared.items()):
        if name in with_dedicated:
            continue
        why = (
            f"no request served on dedicated replicas ({seen[name]['requests']:,} requests, none with "
            "deployment_mode dedicated)"
            if name in seen
            else "no requests in the lake"
        )
        rows.append(CalibrationRow(name, None, replicas, why=why))
    listed = {row.endpoint for row in rows}
    other = sum(1 for name in seen if name not in listed)
    return Calibration(sorted(rows, key=lambda row: (row.endpoint, row.model or "")), other)


def _row(
    endpoint: str,
    model: str,
    replicas: int | None,
    shape: dict,
    minutes: pl.DataFrame,
    card: pl.DataFrame,
    capacity: ReplicaCapacityTable,
    card_path: Path,
) -> CalibrationRow:
    tokens_in, tokens_out = shape["input_tokens_p50"], shape["output_tokens_p50"]
    base = CalibrationRow(endpoint, model, replicas, input_tokens_p50=tokens_in, output_tokens_p50=tokens_out)
    if replicas is None:
        return _with(
            base,
            why=f"no replica count declared: add '{endpoint}: N' under deployments: in config.yaml "
            f"({shape['requests']:,} requests served on dedicated replicas)",
        )
    own = minutes.filter((pl.col("endpoint") == endpoint) & (pl.col("model") == model))
    if own["output_weight"].null_count() == own.height:
        return _with(base, why="the model is not on the rate card (no output weight to weigh its tokens)")
    estimate = estimate_replica_capacity(
        own["weighted_tokens"].to_numpy(),
        own["latency_p95_ms"].fill_null(math.nan).to_numpy().astype(np.float64),
        replicas,
    )
    week = week_start_of(_as_date(shape["last_ts"]))
    terms = model_terms(card, week, str(card["provider"][0]) if card.height else "together").get(model)
    if terms is None or terms.offer is None:
        return _with(
            base,
            estimate=estimate,
            hint=f"{model} has no dedicated offer on the rate card {card_path}: add gpu_type, gpus_per_replica, "
            f"usd_per_gpu_hour and replica_capacity_tps (about {estimate.per_replica_tps:,.0f}) to its row",
        )
    offer, _ = endpoint_offer(terms, capacity, tokens_in, tokens_out)
    assert offer is not None
    return _with(
        base,
        estimate=estimate,
        card_tps=offer.replica_capacity_tps,
        hint=_hint(
            model,
            offer.gpu_type,
            offer.gpus_per_replica,
            tokens_in,
            tokens_out,
            estimate,
            offer.replica_capacity_tps,
            capacity,
            card,
            card_path,
            week,
        ),  # fmt: skip
    )


def _with(row: CalibrationRow, **changes: object) -> CalibrationRow:
    return CalibrationRow(**{**row.__dict__, **changes})


def _as_date(value: datetime | date) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


def _hint(
    model: str,
    gpu_type: str,
    gpus: int,
    tokens_in: float,
    tokens_out: float,
    estimate: CapacityEstimate,
    card_tps: float,
    capacity: ReplicaCapacityTable,
    card: pl.DataFrame,
    card_path: Path,
    week: date,
) -> str:
    """Which row of which file holds the K this endpoint was compared with, and what the evidence says about it."""
    anchors = capacity.anchors.get((model, gpu_type, gpus))
    if anchors is not None:
        length = tokens_in + tokens_out
        nearest = min(anchors, key=lambda a: abs(math.log(a.sequence_tokens) - math.log(max(length, 1e-9))))
        where = (
            f"replica_capacity_tps of the {nearest.shape} row of {model} on {gpus}×{gpu_type} in {capacity.path} "
            f"(the anchor nearest to ~{tokens_in:,.0f} in / {tokens_out:,.0f} out tokens)"
        )
    else:
        in_force = card.filter((pl.col("model") == model) & (pl.col("effective_from") <= week)).sort(
            "effective_from"
        )
        since = in_force["effective_from"][-1] if in_force.height else None
        where = (
            f"replica_capacity_tps of the {model} row effective {since} in {card_path} (or add shape rows for it "
            f"to {capacity.path})"
        )
    latency = (
        f"at a P95 latency of {estimate.latency_p95_ms:,.0f} ms"
        if estimate.latency_p95_ms is not None
        else "(no latency recorded)"
    )
    thin = (
        f"; only {estimate.minutes_observed} minutes observed: weak evidence"
        if estimate.minutes_observed < FEW_MINUTES
        else ""
    )
    if estimate.per_replica_tps >= card_tps:
        advice = (
            f"the replicas carried {estimate.per_replica_tps:,.0f} weighted tokens/s each {latency}, more than the "
            f"assumed {card_tps:,.0f}: if that latency meets your target, raise {where} to about "
            f"{estimate.per_replica_tps:,.0f}"
        )
    else:
        advice = (
            f"the replicas carried {estimate.per_replica_tps:,.0f} weighted tokens/s each {latency}, less than the "
            f"assumed {card_tps:,.0f}: a lower bound unless they were saturated; if that latency is above your "
            f"target, lower {where} to about {estimate.per_replica_tps:,.0f}"
        )
    return advice + thin
