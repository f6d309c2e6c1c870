"""The rate card: serverless and batch prices and dedicated replica economics per provider and model,
effective-dated.

The shipped card is ``pipelines/config/rate_card.csv``; users point ``rate_card`` in config.yaml to their own.
Capacity figures (replica_capacity_tps, output_weight) are assumptions until calibrated: every row says its source.
A card without the ``provider`` column (older cards) is read as the ``together`` card; without ``min_replicas``
every deployment minimum is 1 replica; without ``cached_input_usd_per_mtok`` (the price of a cached input token, a
prompt-cache read, USD per million tokens) every cached input token is priced as an ordinary input token (the
column is null). ``priced_rate_card`` is the card the weekly steps cost dedicated replicas with: the settings'
GPU contracts (``pricing.gpu_contracts``) in place of the card's GPU-hour prices where they apply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from pipelines.core.errors import ModeshiftError
from pipelines.core.settings import GpuContractPrice, Settings
from pipelines.domain.cost_model import DedicatedOffer
from pipelines.lake.csv_tables import read_checked_csv

DEFAULT_CARD_PROVIDER = "together"  # the provider of a card without a provider column
RATE_CARD_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "effective_from": pl.Date(),
    "effective_to": pl.Date(),
    "input_usd_per_mtok": pl.Float64(),
    "output_usd_per_mtok": pl.Float64(),
    "batch_offered": pl.Boolean(),
    "batch_discount": pl.Float64(),
    "gpu_type": pl.String(),
    "gpus_per_replica": pl.Int64(),
    "usd_per_gpu_hour": pl.Float64(),
    "replica_capacity_tps": pl.Float64(),
    "output_weight": pl.Float64(),
    "target_utilization": pl.Float64(),
    "source": pl.String(),
    "as_of": pl.Date(),
}
# Columns a rate card may leave out (older cards): the batch service's limits, with the defaults used when absent.
OPTIONAL_COLUMNS: dict[str, tuple[pl.DataType, object]] = {
    "batch_max_tokens_per_job": (pl.Float64(), 30e9),
    "batch_completion_window_hours": (pl.Float64(), 24.0),
    # The provider whose price list the row is (providers.csv names); older cards are together's.
    "provider": (pl.String(), "together"),
    # The provider's deployment minimum for the model, in replicas (a plan reserves 0 or at least this many).
    "min_replicas": (pl.Int64(), 1),
    # USD per million cached input tokens (prompt-cache reads); null = the list input price.
    "cached_input_usd_per_mtok": (pl.Float64(), None),
}


def load_rate_card(path: Path) -> pl.DataFrame:
    """Read and check a rate card CSV; a clear error names the first problem found."""
    optional = {name: kind for name, (kind, _) in OPTIONAL_COLUMNS.items()}
    card = read_checked_csv(path, "rate card", RATE_CARD_SCHEMA, optional)
    for name, (kind, default) in OPTIONAL_COLUMNS.items():
        column = pl.col(name) if name in card.columns else pl.lit(None, dtype=kind)
        if default is not None:
            column = column.fill_null(pl.lit(default, dtype=kind))
        card = card.with_columns(column.alias(name))
    card = card.select(
        "provider", *RATE_CARD_SCHEMA, *(name for name in OPTIONAL_COLUMNS if name != "provider")
    )
    if (card["batch_max_tokens_per_job"] <= 0).any() or (card["batch_completion_window_hours"] <= 0).any():
        raise ModeshiftError(f"The rate card {path} has a batch limit that is not positive.")
    if (card["min_replicas"] < 1).any():
        raise ModeshiftError(
            f"The rate card {path} has a min_replicas below 1.", "Leave it empty for no minimum."
        )
    required = ["model", "effective_from", "input_usd_per_mtok", "output_usd_per_mtok", "source", "as_of"]
    for column in required:
        if card[column].null_count():
            raise ModeshiftError(f"The rate card {path} has rows without {column}.", "Every row needs it.")
    if (card["input_usd_per_mtok"] < 0).any() or (card["output_usd_per_mtok"] < 0).any():
        raise ModeshiftError(f"The rate card {path} has a negative price.")
    cached = card.filter(pl.col("cached_input_usd_per_mtok").is_not_null())
    if (cached["cached_input_usd_per_mtok"] < 0).any():
        raise ModeshiftError(f"The rate card {path} has a negative cached_input_usd_per_mtok.")
    dearer = cached.filter(pl.col("cached_input_usd_per_mtok") > pl.col("input_usd_per_mtok"))
    if dearer.height:
        raise ModeshiftError(
            f"The rate card {path} prices cached input tokens of {dearer['model'][0]} above its input tokens.",
            "cached_input_usd_per_mtok is the price of a prompt-cache read, at most input_usd_per_mtok; "
            "leave it empty to price cached tokens as input.",
        )
    overlapping = (
        card.sort("provider", "model", "effective_from")
        .with_columns(next_from=pl.col("effective_from").shift(-1).over("provider", "model"))
        .filter(
            pl.col("next_from").is_not_null()
            & (pl.col("effective_to").is_null() | (pl.col("effective_to") > pl.col("next_from")))
        )
    )
    if overlapping.height:
        raise ModeshiftError(
            f"The rate card {path} has overlapping periods for {overlapping['model'][0]} "
            f"({overlapping['provider'][0]}).",
            "Close each period with effective_to before the next one starts.",
        )
    return card.with_columns(
        batch_offered=pl.col("batch_offered").fill_null(False),
        batch_discount=pl.col("batch_discount").fill_null(0.0),
        target_utilization=pl.col("target_utilization").fill_null(0.8),
    )


def with_gpu_contracts(card: pl.DataFrame, contracts: tuple[GpuContractPrice, ...]) -> pl.DataFrame:
    """``card`` (a ``load_rate_card`` frame) with ``usd_per_gpu_hour`` replaced by the contract price (USD per
    GPU-hour) on every row of a contract's GPU type and provider (a contract naming the provider wins over one for
    every provider), ``list_usd_per_gpu_hour`` (the card's own price) and ``gpu_price_source`` (the contract's
    source; NULL on rows at the card's price). A contract whose GPU type no row of its provider has is a
    ``ModeshiftError``: a misspelt name would otherwise change nothing, silently."""
    card = card.with_columns(
        list_usd_per_gpu_hour=pl.col("usd_per_gpu_hour"), gpu_price_source=pl.lit(None, dtype=pl.String)
    )
    # the contracts for every provider first, so that one naming the provider, applied after, wins
    for contract in sorted(contracts, key=lambda c: c.provider is not None):
        rows = pl.col("gpu_type") == contract.gpu_type
        if contract.provider is not None:
            rows = rows & (pl.col("provider") == contract.provider)
        if not card.select(rows.any()).item():
            where = f" at provider {contract.provider}" if contract.provider else ""
            raise ModeshiftError(
                f"pricing.gpu_contracts prices GPU type {contract.gpu_type}{where}, which no rate-card row uses.",
                f"GPU types on the card: {', '.join(sorted(card['gpu_type'].drop_nulls().unique()))}.",
            )
        card = card.with_columns(
            usd_per_gpu_hour=pl.when(rows).then(contract.usd_per_gpu_hour).otherwise("usd_per_gpu_hour"),
            gpu_price_source=pl.when(rows).then(pl.lit(contract.source)).otherwise("gpu_price_source"),
        )
    return card


def priced_rate_card(settings: Settings) -> pl.DataFrame:
    """The rate card the weekly steps price with: the configured card, with the GPU contracts the price basis
    applies (``pricing.gpu_contracts`` under ``auto`` and ``contract``) in place of its GPU-hour prices."""
    return with_gpu_contracts(
        load_rate_card(settings.rate_card_path), settings.pricing.gpu_contracts_in_use()
    )


def rate_card_fingerprint(path: Path) -> str:
    """A short hash of the rate card file, so outputs priced with an older card are recomputed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class ModelTerms:
    """What the rate card offers for one model in a given week (``model``: its name; None when built by hand)."""

    offer: DedicatedOffer | None
    batch_discount: float | None
    batch_max_tokens_per_job: float = 30e9
    batch_completion_window_hours: float = 24.0
    model: str | None = None


def model_terms(
    card: pl.DataFrame, week_start: date, provider: str = DEFAULT_CARD_PROVIDER
) -> dict[str, ModelTerms]:
    """For each model of ``provider``'s rows, the dedicated offer (with the deployment minimum ``min_replicas``)
    and batch discount of the rate-card row in force during the week (the latest one that started before the week
    ended)."""
    terms: dict[str, ModelTerms] = {}
    for row in _in_force(card, week_start, provider).iter_rows(named=True):
        dedicated_fields = ("gpu_type", "gpus_per_replica", "usd_per_gpu_hour", "replica_capacity_tps")
        offer = None
        if all(row[name] is not None for name in dedicated_fields):
            offer = DedicatedOffer(
                gpu_type=row["gpu_type"],
                gpus_per_replica=int(row["gpus_per_replica"]),
                usd_per_gpu_hour=float(row["usd_per_gpu_hour"]),
                replica_capacity_tps=float(row["replica_capacity_tps"]),
                target_utilization=float(row["target_utilization"]),
                min_replicas=int(row["min_replicas"]),
            )
        discount = float(row["batch_discount"]) if row["batch_offered"] else None
        terms[row["model"]] = ModelTerms(
            offer,
            discount,
            float(row["batch_max_tokens_per_job"]),
            float(row["batch_completion_window_hours"]),
            row["model"],
        )
    return terms


def _in_force(card: pl.DataFrame, week_start: date, provider: str) -> pl.DataFrame:
    """Per model of ``provider``'s rows, the rate-card row in force during the week (the latest one that started
    before the week ended)."""
    week_end = week_start + timedelta(days=7)
    return (
        card.filter(
            (pl.col("provider") == provider)
            & (pl.col("effective_from") < week_end)
            & (pl.col("effective_to").is_null() | (pl.col("effective_to") > week_start))
        )
        .sort("effective_from")
        .group_by("model", maintain_order=True)
        .last()
    )


def gpu_contract_notes(card: pl.DataFrame, week_start: date, provider: str) -> dict[str, str]:
    """Per model of ``provider`` whose replicas the week's ``priced_rate_card`` prices at a GPU contract, the plain
    words a recommendation says about it (contract and card price in USD per GPU-hour, and the source)."""
    if "gpu_price_source" not in card.columns:
        return {}
    rows = _in_force(card, week_start, provider).filter(pl.col("gpu_price_source").is_not_null())
    return {
        row["model"]: (
            f"dedicated replicas at the contract GPU price: ${row['usd_per_gpu_hour']:.2f} per {row['gpu_type']} "
            f"GPU-hour ({row['gpu_price_source']}; the rate card's ${row['list_usd_per_gpu_hour']:.2f})"
        )
        for row in rows.iter_rows(named=True)
    }
