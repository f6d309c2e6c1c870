"""Effective prices and price bases: what the log says was billed against the list price of the same requests,
per group of minute rollup rows (the weekly table groups by provider and model, and by endpoint), and the basis
each group's serverless tokens are then costed at: list, billed or contract (docs/cost-model.md#price-bases). An
endpoint whose own log carries billed cost on enough of its requests is costed at its own effective price; every
other endpoint at its model's. Pure: frames in, frames out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class PriceWarnings:
    """When a row is flagged: ``max_billed_deviation`` (share of 1 the factor may deviate by) and
    ``min_billed_coverage`` (fraction of ok requests that must carry a billed cost)."""

    max_billed_deviation: float = 0.5
    min_billed_coverage: float = 0.95


def effective_prices(minutes: pl.DataFrame, keys: list[str], warnings: PriceWarnings) -> pl.DataFrame:
    """Per ``keys`` group of minute rollup rows (columns ``ok_requests``, ``billed_ok_requests``,
    ``billed_ok_cost_usd``, ``billed_list_cost_usd``, USD): ``billed_cost_usd`` and ``list_cost_usd`` (USD, over the
    ok requests carrying both a billed and a list cost), ``effective_factor`` = billed / list (unitless; NULL when no
    such request or their list cost is 0), ``rows_with_both``, ``ok_requests``, ``coverage_share`` = rows_with_both /
    ok_requests (0 without ok requests) and ``warning`` (plain words; NULL when none)."""
    priced = pl.col("billed_list_cost_usd").is_not_null() & pl.col("billed_ok_cost_usd").is_not_null()
    grouped = (
        minutes.group_by(keys)
        .agg(
            billed_cost_usd=pl.col("billed_ok_cost_usd").filter(priced).sum(),
            list_cost_usd=pl.col("billed_list_cost_usd").filter(priced).sum(),
            rows_with_both=pl.col("billed_ok_requests").filter(priced).sum().cast(pl.Int64),
            ok_requests=pl.col("ok_requests").sum().cast(pl.Int64),
        )
        .sort(keys)
    )
    factor = (
        pl.when((pl.col("rows_with_both") > 0) & (pl.col("list_cost_usd") > 0))
        .then(pl.col("billed_cost_usd") / pl.col("list_cost_usd"))
        .otherwise(None)
    )
    coverage = (
        pl.when(pl.col("ok_requests") > 0)
        .then(pl.col("rows_with_both") / pl.col("ok_requests"))
        .otherwise(0.0)
    )
    out = grouped.with_columns(effective_factor=factor, coverage_share=coverage)
    deviation = pl.when((pl.col("effective_factor") - 1).abs() > warnings.max_billed_deviation).then(
        pl.format(
            "billed is {} of list, more than {} away from list",
            pl.col("effective_factor").round(3),
            pl.lit(warnings.max_billed_deviation),
        )
    )
    partial = pl.when(pl.col("coverage_share") < warnings.min_billed_coverage).then(
        pl.format(
            "billed cost on only {} of ok requests (partial coverage)",
            pl.col("coverage_share").round(3),
        )
    )
    warning = pl.concat_str([deviation, partial], separator="; ", ignore_nulls=True)
    out = out.with_columns(warning=pl.when(warning != "").then(warning))
    return out.select(
        *keys,
        "effective_factor",
        "billed_cost_usd",
        "list_cost_usd",
        "rows_with_both",
        "ok_requests",
        "coverage_share",
        "warning",
    )


LIST, BILLED, CONTRACT = "list", "billed", "contract"


@dataclass(frozen=True)
class ContractDiscount:
    """A negotiated discount off list (a fraction in [0, 1)) for ``model`` at ``provider`` (None = every
    provider), with where it comes from (``source``)."""

    model: str
    provider: str | None
    discount: float
    source: str


@dataclass(frozen=True)
class BasisRule:
    """How the basis is chosen: ``basis`` is ``auto``, ``list``, ``billed`` or ``contract`` (see
    ``choose_basis``); ``min_billed_coverage`` the fraction of ok requests ``auto`` needs billed."""

    basis: str = "auto"
    min_billed_coverage: float = 0.95
    contracts: tuple[ContractDiscount, ...] = ()

    def contract_for(self, provider: str | None, model: str) -> ContractDiscount | None:
        """The contract of ``model`` at ``provider``: one naming the provider first, else one for every provider."""
        exact = [
            c
            for c in self.contracts
            if c.model == model and c.provider is not None and c.provider == provider
        ]
        anywhere = [c for c in self.contracts if c.model == model and c.provider is None]
        return (exact or anywhere or [None])[0]


@dataclass(frozen=True)
class BasisChoice:
    """The basis one model's serverless tokens are costed at: ``basis`` (list, billed or contract), the
    ``price_factor`` applied to its list cost (unitless, 1 at list), and ``note``: why, in plain words."""

    basis: str
    price_factor: float
    note: str
    contract_source: str | None = None


def choose_basis(
    provider: str | None,
    model: str,
    effective_factor: float | None,
    coverage_share: float,
    rule: BasisRule,
) -> BasisChoice:
    """The basis of ``model`` at ``provider`` for a week whose logs give ``effective_factor`` (billed / list, None
    without billed ok requests) over ``coverage_share`` (fraction) of its ok requests.

    ``list``: always list. ``contract``: the contract's 1 − discount, else list. ``billed``: the effective factor
    wherever there is one (also from partial coverage, which the note says), else list. ``auto``: a contract, else
    billed when the coverage reaches ``min_billed_coverage``, else list. Every fall-back to list says why."""
    coverage = f"{coverage_share:.0%} of ok requests"
    contract = rule.contract_for(provider, model)
    if rule.basis == LIST:
        return BasisChoice(LIST, 1.0, "list prices (pricing.basis is list)")
    if rule.basis in (CONTRACT, "auto") and contract is not None:
        return BasisChoice(
            CONTRACT,
            1.0 - contract.discount,
            f"contract prices: {contract.discount:.0%} off list ({contract.source})",
            contract.source,
        )
    if rule.basis == CONTRACT:
        return BasisChoice(LIST, 1.0, "list prices: no contract discount for this model")
    if effective_factor is None:
        return BasisChoice(LIST, 1.0, "list prices: the logs carry no billed cost for this model")
    billed_note = f"billed prices: {effective_factor:.2f} × list, measured on {coverage}"
    if rule.basis == BILLED:
        partial = coverage_share < rule.min_billed_coverage
        return BasisChoice(BILLED, effective_factor, billed_note + (" (partial coverage)" if partial else ""))
    if coverage_share >= rule.min_billed_coverage:
        return BasisChoice(BILLED, effective_factor, billed_note)
    return BasisChoice(
        LIST,
        1.0,
        f"list prices: billed cost on only {coverage}, below the {rule.min_billed_coverage:.0%} billed prices need",
    )


def with_bases(prices: pl.DataFrame, rule: BasisRule) -> pl.DataFrame:
    """``prices`` (rows of ``effective_prices`` keyed by ``provider`` and ``model``) with each row's chosen basis:
    ``basis``, ``price_factor`` (unitless), ``basis_note`` and ``contract_source`` (see ``choose_basis``)."""
    choices = [
        choose_basis(r["provider"], r["model"], r["effective_factor"], r["coverage_share"], rule)
        for r in prices.select("provider", "model", "effective_factor", "coverage_share").iter_rows(
            named=True
        )
    ]
    return _with_choices(prices, choices)


def choose_endpoint_basis(
    model_choice: BasisChoice,
    effective_factor: float | None,
    coverage_share: float,
    rule: BasisRule,
) -> BasisChoice:
    """The basis of one endpoint whose own log gives ``effective_factor`` (billed / list, None without billed ok
    requests) over ``coverage_share`` (fraction) of its ok requests, given its model's ``model_choice``.

    A contract, ``pricing.basis`` list and ``pricing.basis`` contract apply to every endpoint of the model alike.
    Otherwise (``billed`` or ``auto``) an endpoint whose own coverage reaches ``min_billed_coverage`` is costed at
    its own factor (a gateway key with its own discount pays its own price), and every other endpoint at its
    model's choice, whose note then says so."""
    if rule.basis in (LIST, CONTRACT) or model_choice.basis == CONTRACT:
        return model_choice
    if effective_factor is not None and coverage_share >= rule.min_billed_coverage:
        return BasisChoice(
            BILLED,
            effective_factor,
            f"billed prices: {effective_factor:.2f} × list, measured on {coverage_share:.0%} of this "
            "endpoint's ok requests",
        )
    return dataclasses.replace(model_choice, note=f"{model_choice.note} (its model's basis)")


def with_endpoint_bases(
    endpoint_prices: pl.DataFrame, model_bases: pl.DataFrame, rule: BasisRule
) -> pl.DataFrame:
    """``endpoint_prices`` (rows of ``effective_prices`` keyed by ``provider``, ``model`` and ``endpoint``) with each
    endpoint's basis, ``price_factor`` (unitless), ``basis_note`` and ``contract_source`` (``choose_endpoint_basis``)
    given ``model_bases`` (rows of ``with_bases`` keyed by provider and model)."""
    model_choices = {
        (r["provider"], r["model"]): BasisChoice(
            r["basis"], r["price_factor"], r["basis_note"], r["contract_source"]
        )
        for r in model_bases.iter_rows(named=True)
    }
    choices = [
        choose_endpoint_basis(
            model_choices[(r["provider"], r["model"])], r["effective_factor"], r["coverage_share"], rule
        )
        for r in endpoint_prices.select("provider", "model", "effective_factor", "coverage_share").iter_rows(
            named=True
        )
    ]
    return _with_choices(endpoint_prices, choices)


def _with_choices(frame: pl.DataFrame, choices: list[BasisChoice]) -> pl.DataFrame:
    """``frame`` with one chosen basis per row: ``basis``, ``price_factor``, ``basis_note``, ``contract_source``."""
    return frame.with_columns(
        pl.Series("basis", [c.basis for c in choices], dtype=pl.String),
        pl.Series("price_factor", [c.price_factor for c in choices], dtype=pl.Float64),
        pl.Series("basis_note", [c.note for c in choices], dtype=pl.String),
        pl.Series("contract_source", [c.contract_source for c in choices], dtype=pl.String),
    )


def basis_label(bases: list[str]) -> str:
    """One word for the bases a week's endpoints are costed at: the basis when all share it, else ``mixed (…)``
    naming them; ``list`` when there are none."""
    names = sorted(set(bases)) or ["list"]
    return names[0] if len(names) == 1 else f"mixed ({', '.join(names)})"
