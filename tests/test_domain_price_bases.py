"""The price basis rules (docs/cost-model.md#price-bases) and what they change in a decision, as pure functions."""

from __future__ import annotations

import dataclasses
from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.domain.effective_price import (
    BasisChoice,
    BasisRule,
    ContractDiscount,
    choose_basis,
    choose_endpoint_basis,
    with_bases,
    with_endpoint_bases,
)
from pipelines.domain.policy import Decision
from pipelines.domain.price_comparison import with_price_basis

CONTRACT = ContractDiscount("m", None, 0.2, "order form 7")


def test_auto_takes_billed_prices_only_with_enough_coverage() -> None:
    full = choose_basis("together", "m", 0.70, 1.0, BasisRule())
    assert (full.basis, full.price_factor) == ("billed", 0.70)
    assert full.note == "billed prices: 0.70 × list, measured on 100% of ok requests"
    half = choose_basis("together", "m", 0.70, 0.5, BasisRule())
    assert (half.basis, half.price_factor) == ("list", 1.0)
    assert (
        half.note == "list prices: billed cost on only 50% of ok requests, below the 95% billed prices need"
    )
    none = choose_basis("together", "m", None, 0.0, BasisRule())
    assert (none.basis, none.price_factor) == ("list", 1.0) and "no billed cost" in none.note


def test_billed_applies_a_partial_factor_and_says_so() -> None:
    half = choose_basis("together", "m", 0.70, 0.5, BasisRule(basis="billed"))
    assert (half.basis, half.price_factor) == ("billed", 0.70) and half.note.endswith("(partial coverage)")
    absent = choose_basis("together", "m", None, 0.0, BasisRule(basis="billed"))
    assert (absent.basis, absent.price_factor) == ("list", 1.0)


def test_contract_discounts_override_list_and_billed() -> None:
    for basis in ("auto", "contract"):
        chosen = choose_basis("together", "m", 0.70, 1.0, BasisRule(basis=basis, contracts=(CONTRACT,)))
        assert chosen.basis == "contract" and chosen.price_factor == pytest.approx(0.8)
        assert chosen.contract_source == "order form 7" and "20% off list (order form 7)" in chosen.note
    other = choose_basis("together", "other", 0.70, 1.0, BasisRule(basis="contract", contracts=(CONTRACT,)))
    assert (other.basis, other.price_factor) == ("list", 1.0) and "no contract" in other.note
    listed = choose_basis("together", "m", 0.70, 1.0, BasisRule(basis="list", contracts=(CONTRACT,)))
    assert (listed.basis, listed.price_factor) == ("list", 1.0)


def test_a_contract_naming_the_provider_wins_over_one_for_every_provider() -> None:
    named = ContractDiscount("m", "azure-openai", 0.3, "azure order")
    rule = BasisRule(contracts=(CONTRACT, named))
    assert choose_basis("azure-openai", "m", None, 0.0, rule).price_factor == pytest.approx(0.7)
    assert choose_basis("together", "m", None, 0.0, rule).price_factor == pytest.approx(0.8)


def test_with_bases_adds_one_choice_per_provider_and_model() -> None:
    prices = pl.DataFrame(
        {
            "provider": ["p", "p"],
            "model": ["m", "n"],
            "effective_factor": [0.7, None],
            "coverage_share": [1.0, 0.0],
        }
    )
    out = with_bases(prices, BasisRule())
    assert out["basis"].to_list() == ["billed", "list"]
    assert out["price_factor"].to_list() == [0.7, 1.0]
    assert out["contract_source"].to_list() == [None, None]


def test_an_endpoint_billed_on_its_own_pays_its_own_price_and_the_rest_their_model_s() -> None:
    model = choose_basis("p", "m", 0.85, 0.98, BasisRule())  # the model, over all its endpoints' billed rows
    own = choose_endpoint_basis(model, 0.60, 1.0, BasisRule())
    assert (own.basis, own.price_factor) == ("billed", 0.60)
    assert own.note == "billed prices: 0.60 × list, measured on 100% of this endpoint's ok requests"
    unbilled = choose_endpoint_basis(model, None, 0.0, BasisRule())
    assert (unbilled.basis, unbilled.price_factor) == ("billed", 0.85)
    assert unbilled.note == model.note + " (its model's basis)"
    partial = choose_endpoint_basis(model, 0.60, 0.5, BasisRule())  # too little of its own: the model's
    assert partial.price_factor == 0.85
    # the model's coverage is too low for billed prices, but this endpoint's own is enough
    thin_model = choose_basis("p", "m", 0.60, 0.4, BasisRule())
    assert thin_model.basis == "list"
    assert choose_endpoint_basis(thin_model, 0.60, 1.0, BasisRule()).price_factor == 0.60


def test_contracts_and_the_list_and_contract_settings_apply_to_every_endpoint_alike() -> None:
    contracted = choose_basis("p", "m", 0.7, 1.0, BasisRule(contracts=(CONTRACT,)))
    assert choose_endpoint_basis(contracted, 0.5, 1.0, BasisRule(contracts=(CONTRACT,))) == contracted
    listed_rule = BasisRule(basis="list")
    listed = choose_basis("p", "m", 0.7, 1.0, listed_rule)
    assert choose_endpoint_basis(listed, 0.5, 1.0, listed_rule).price_factor == 1.0
    no_contract_rule = BasisRule(basis="contract")
    no_contract = choose_basis("p", "m", 0.7, 1.0, no_contract_rule)
    assert choose_endpoint_basis(no_contract, 0.5, 1.0, no_contract_rule).price_factor == 1.0


def test_with_endpoint_bases_adds_one_choice_per_endpoint_from_its_model() -> None:
    models = with_bases(
        pl.DataFrame(
            {"provider": ["p"], "model": ["m"], "effective_factor": [0.9], "coverage_share": [0.97]}
        ),
        BasisRule(),
    )
    endpoints = pl.DataFrame(
        {
            "provider": ["p", "p"],
            "model": ["m", "m"],
            "endpoint": ["gateway", "legacy"],
            "effective_factor": [0.6, None],
            "coverage_share": [1.0, 0.0],
        }
    )
    out = with_endpoint_bases(endpoints, models, BasisRule())
    assert out["price_factor"].to_list() == [0.6, 0.9]
    assert out["basis"].to_list() == ["billed", "billed"]


@given(
    model_factor=st.floats(0.01, 3.0),
    factor=st.one_of(st.none(), st.floats(0.01, 3.0)),
    coverage=st.floats(0.0, 1.0),
    basis=st.sampled_from(["auto", "list", "billed", "contract"]),
)
def test_an_endpoint_s_factor_is_its_own_or_its_model_s(model_factor, factor, coverage, basis) -> None:
    rule = BasisRule(basis=basis)
    model = BasisChoice("billed", model_factor, "billed prices") if basis in ("auto", "billed") else (
        BasisChoice("list", 1.0, "list prices")
    )  # fmt: skip
    chosen = choose_endpoint_basis(model, factor, coverage, rule)
    own = factor is not None and coverage >= rule.min_billed_coverage and basis in ("auto", "billed")
    assert chosen.price_factor == (factor if own else model.price_factor)


@given(
    factor=st.one_of(st.none(), st.floats(0.01, 3.0)),
    coverage=st.floats(0.0, 1.0),
    basis=st.sampled_from(["auto", "list", "billed", "contract"]),
    contracted=st.booleans(),
)
def test_the_factor_is_always_one_of_the_three_sources(factor, coverage, basis, contracted) -> None:
    contracts = (CONTRACT,) if contracted else ()
    if basis == "contract" and not contracts:
        contracts = (ContractDiscount("elsewhere", None, 0.5, "x"),)
    chosen = choose_basis("p", "m", factor, coverage, BasisRule(basis, 0.95, contracts))
    expected = {"list": 1.0, "contract": 0.8, "billed": factor}[chosen.basis]
    assert chosen.price_factor == pytest.approx(expected)
    assert chosen.note  # every choice says why
    if chosen.basis == "billed":
        assert basis in ("auto", "billed") and factor is not None
        assert basis == "billed" or coverage >= 0.95


def _decision(**fields) -> Decision:
    base = dict(
        week_start=date(2026, 11, 9), endpoint="e", model="m", current_mode="serverless", raw_mode="serverless",
        recommended_mode="serverless", action="stay", replicas=0, gpu_type=None, current_cost_usd=100.0,
        recommended_cost_usd=100.0, savings_usd=0.0, savings_pct=0.0, utilization=None, overflow_share=None,
        batch_upper_bound_savings_usd=None, confidence="high", reasons=["r"],
    )  # fmt: skip
    return Decision(**(base | fields))


def test_a_decision_that_list_prices_would_change_says_so() -> None:
    at_basis = _decision(current_cost_usd=403.2, recommended_cost_usd=403.2)
    at_list = _decision(
        raw_mode="hybrid", recommended_mode="hybrid", action="migrate", current_cost_usd=806.4,
        recommended_cost_usd=537.6, savings_usd=268.8, raw_family="fixed",
    )  # fmt: skip
    out = with_price_basis(at_basis, "billed", 0.5, "billed prices: 0.50 × list", at_list)
    assert (out.price_basis, out.price_factor, out.list_action, out.list_recommended_mode) == (
        "billed", 0.5, "migrate", "hybrid",
    )  # fmt: skip
    assert (out.list_current_cost_usd, out.list_savings_usd, out.list_raw_mode) == (806.4, 268.8, "hybrid")
    assert out.reasons[0] == "r"
    assert out.reasons[1] == "Serverless tokens are costed at billed prices: 0.50 × list."
    assert out.reasons[2].startswith(
        "At list prices modeshift would say migrate to hybrid, saving $269/week; at billed prices it says stay"
    )


def test_at_list_the_list_figures_are_the_row_s_own_and_unpriced_rows_keep_no_factor() -> None:
    decision = _decision(savings_usd=12.0)
    out = with_price_basis(decision, "list", 1.0, "list prices", None)
    assert (out.list_current_cost_usd, out.list_savings_usd, out.reasons) == (100.0, 12.0, ["r"])
    unpriced = with_price_basis(_decision(current_cost_usd=None), "billed", 0.5, "x", None)
    assert (unpriced.price_basis, unpriced.price_factor) == ("list", None)
    assert unpriced == dataclasses.replace(unpriced, price_note=None)
