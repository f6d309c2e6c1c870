"""Known answers and a scaling property of the effective price (docs/cost-model.md#effective-prices)."""

from __future__ import annotations

import math

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.domain.effective_price import PriceWarnings, effective_prices


def _minutes(rows: list[tuple[str, int, int, float | None, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "model": pl.String,
            "ok_requests": pl.Int64,
            "billed_ok_requests": pl.Int64,
            "billed_ok_cost_usd": pl.Float64,
            "billed_list_cost_usd": pl.Float64,
        },
        orient="row",
    )


def _row(frame: pl.DataFrame, model: str) -> dict:
    return frame.filter(pl.col("model") == model).row(0, named=True)


def test_billed_at_70_percent_of_list_gives_factor_070_without_warning() -> None:
    out = effective_prices(
        _minutes([("a", 4, 4, 0.7, 1.0), ("a", 6, 6, 2.1, 3.0)]), ["model"], PriceWarnings()
    )
    row = _row(out, "a")
    assert math.isclose(row["effective_factor"], 0.70)
    assert (row["rows_with_both"], row["ok_requests"], row["coverage_share"]) == (10, 10, 1.0)
    assert row["warning"] is None


def test_half_the_rows_billed_gives_coverage_half_and_partial_warning() -> None:
    out = effective_prices(_minutes([("b", 10, 5, 5.0, 5.0)]), ["model"], PriceWarnings())
    row = _row(out, "b")
    assert row["coverage_share"] == 0.5
    assert row["effective_factor"] == 1.0
    assert "partial" in row["warning"]


def test_no_billed_rows_gives_null_factor_and_zero_coverage() -> None:
    out = effective_prices(_minutes([("c", 8, 0, None, None)]), ["model"], PriceWarnings())
    row = _row(out, "c")
    assert row["effective_factor"] is None
    assert row["coverage_share"] == 0.0
    assert "partial" in row["warning"]


def test_unpriced_billed_rows_are_left_out_of_both_sides() -> None:
    # 3 billed ok requests whose model has no list price in that minute: not rows with both.
    out = effective_prices(
        _minutes([("d", 5, 2, 1.4, 2.0), ("d", 3, 3, 9.0, None)]), ["model"], PriceWarnings()
    )
    row = _row(out, "d")
    assert math.isclose(row["effective_factor"], 0.7)
    assert (row["rows_with_both"], row["ok_requests"]) == (2, 8)


def test_a_factor_far_from_one_is_flagged() -> None:
    out = effective_prices(
        _minutes([("e", 1, 1, 0.4, 1.0)]), ["model"], PriceWarnings(max_billed_deviation=0.5)
    )
    assert "more than 0.5 away from list" in _row(out, "e")["warning"]
    out = effective_prices(
        _minutes([("e", 1, 1, 0.6, 1.0)]), ["model"], PriceWarnings(max_billed_deviation=0.5)
    )
    assert _row(out, "e")["warning"] is None


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 50), st.floats(0.0, 100.0), st.floats(0.01, 100.0)), min_size=1, max_size=8
    ),
    st.floats(0.01, 100.0),
)
def test_factor_scales_linearly_with_billed_cost(rows: list[tuple[int, float, float]], k: float) -> None:
    base = _minutes([("m", n, n, billed, listed) for n, billed, listed in rows])
    scaled = base.with_columns(pl.col("billed_ok_cost_usd") * k)
    f1 = _row(effective_prices(base, ["model"], PriceWarnings()), "m")["effective_factor"]
    fk = _row(effective_prices(scaled, ["model"], PriceWarnings()), "m")["effective_factor"]
    assert math.isclose(fk, k * f1, rel_tol=1e-9, abs_tol=1e-12)
