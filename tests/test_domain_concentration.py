"""Spend concentration across endpoints: shares, ranks, HHI, Gini and the top-k holding 80% of spend."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipelines.domain.concentration import gini, spend_concentration


def costs_frame(costs: list[float | None], keys: list[str] | None = None) -> pl.DataFrame:
    """``endpoint, cost_usd`` rows, endpoints named e0, e1, ... unless given."""
    keys = keys or [f"e{i}" for i in range(len(costs))]
    return pl.DataFrame(
        {"endpoint": keys, "cost_usd": costs}, schema={"endpoint": pl.String, "cost_usd": pl.Float64}
    )


@pytest.mark.parametrize("n", [2, 7, 50])
def test_equal_spend(n: int) -> None:
    rows, summary = spend_concentration(costs_frame([3.0] * n))
    assert summary["hhi"] == pytest.approx(1 / n, abs=1e-12)
    assert summary["gini"] == pytest.approx(0.0, abs=1e-12)
    assert rows["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert summary["top_k_80"] == int(np.ceil(0.8 * n))
    assert summary["endpoints"] == n


def test_one_endpoint() -> None:
    rows, summary = spend_concentration(costs_frame([12.5]))
    assert summary["hhi"] == 1.0
    assert summary["gini"] == 0.0
    assert summary["top_k_80"] == 1
    assert rows.row(0, named=True) == {
        "endpoint": "e0",
        "cost_usd": 12.5,
        "share": 1.0,
        "rank": 1,
        "cum_share": 1.0,
        "in_top_80": True,
    }


def test_pareto_split_half_and_thirty() -> None:
    rows, summary = spend_concentration(costs_frame([5.0, 50.0, 10.0, 30.0, 5.0]))
    assert summary["top_k_80"] == 2
    assert summary["total_cost_usd"] == 100.0
    assert rows["cost_usd"].to_list() == [50.0, 30.0, 10.0, 5.0, 5.0]
    assert rows["rank"].to_list() == [1, 2, 3, 4, 5]
    assert rows["cum_share"].to_list() == pytest.approx([0.5, 0.8, 0.9, 0.95, 1.0])
    assert rows["in_top_80"].to_list() == [True, True, False, False, False]
    assert rows["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert summary["hhi"] == pytest.approx(0.25 + 0.09 + 0.01 + 0.0025 + 0.0025)


def test_pareto_split_needs_three_and_ties_break_by_key() -> None:
    keys = ["d", "c", "b", "a", "e"]
    rows, summary = spend_concentration(costs_frame([10.0, 20.0, 40.0, 20.0, 10.0], keys))
    assert summary["top_k_80"] == 3
    assert rows["endpoint"].to_list() == ["b", "a", "c", "d", "e"]
    assert rows.filter("in_top_80")["endpoint"].to_list() == ["b", "a", "c"]
    assert rows["share"].sum() == pytest.approx(1.0, abs=1e-12)


def test_gini_known_values() -> None:
    assert gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75, abs=1e-12)
    assert gini(np.array([1.0, 3.0])) == pytest.approx(
        2 * 2 / (2 * 4 * 2), abs=1e-12
    )  # Σ|xi−xj| = 4, n=2, mean 2
    _, summary = spend_concentration(costs_frame([0.0, 0.0, 0.0, 1.0]))
    assert summary["gini"] == pytest.approx(0.75, abs=1e-12)


def test_gini_equals_the_double_sum_definition() -> None:
    x = np.random.default_rng(11).lognormal(0, 2, size=40)
    double_sum = np.abs(x[:, None] - x[None, :]).sum()
    assert gini(x) == pytest.approx(double_sum / (2 * len(x) ** 2 * x.mean()), rel=1e-12)


def test_unpriced_endpoints_are_excluded_and_listed() -> None:
    rows, summary = spend_concentration(costs_frame([None, 60.0, 40.0, None], ["z", "a", "b", "y"]))
    assert rows["endpoint"].to_list() == ["a", "b"]
    assert summary["unpriced"] == ["y", "z"]
    assert summary["endpoints"] == 2
    assert summary["total_cost_usd"] == 100.0
    assert summary["hhi"] == pytest.approx(0.36 + 0.16)


def test_zero_total_spend() -> None:
    rows, summary = spend_concentration(costs_frame([0.0, 0.0, 0.0]))
    assert rows["share"].to_list() == [0.0, 0.0, 0.0]
    assert rows["cum_share"].to_list() == [0.0, 0.0, 0.0]
    assert not rows["in_top_80"].any()
    assert (summary["top_k_80"], summary["hhi"], summary["gini"], summary["total_cost_usd"]) == (
        0,
        0.0,
        0.0,
        0.0,
    )


def test_nothing_priced() -> None:
    rows, summary = spend_concentration(costs_frame([None]))
    assert rows.height == 0
    assert summary == {
        "hhi": 0.0,
        "gini": 0.0,
        "top_k_80": 0,
        "total_cost_usd": 0.0,
        "endpoints": 0,
        "unpriced": ["e0"],
    }


def test_custom_key() -> None:
    costs = pl.DataFrame({"team": ["x", "y"], "cost_usd": [1.0, 3.0]})
    rows, summary = spend_concentration(costs, key="team")
    assert rows["team"].to_list() == ["y", "x"]
    assert summary["top_k_80"] == 2  # the larger alone holds 0.75 < 0.8
