"""Mergeable bucket histograms: the bucket rule, its DuckDB twin, and percentiles read off merged counts."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.domain.histogram import (
    BUCKET_SQL_EXPRESSION,
    bucket_of,
    bucket_value,
    histogram_percentile,
)

EDGES = [0.0, 1.0, 1023.0, 1023.5, 1024.0, 1025.0, float(2**40)]


def random_values(n: int, seed: int) -> np.ndarray:
    """Non-negative test values: integers, fractions and log-uniform values up to 2^40, plus the edges."""
    rng = np.random.default_rng(seed)
    values = np.concatenate(
        [
            rng.integers(0, 2048, size=n // 3).astype(np.float64),
            rng.uniform(0, 2048, size=n // 3),
            np.exp(rng.uniform(0, np.log(2.0**40), size=n - 2 * (n // 3) - len(EDGES))),
            EDGES,
        ]
    )
    return values


def histogram(groups: dict[str, np.ndarray]) -> pl.DataFrame:
    """``g, bucket, n`` counts of each group's values."""
    frames = []
    for group, values in groups.items():
        buckets, counts = np.unique(bucket_of(values), return_counts=True)
        frames.append(pl.DataFrame({"g": group, "bucket": buckets, "n": counts.astype(np.int64)}))
    return pl.concat(frames)


def test_bucket_edges() -> None:
    assert bucket_of(EDGES).tolist() == [0, 1, 1023, 1023, 1024, 1024, 3113]
    assert bucket_of(1024 * 1.01 * 0.999).item() == 1024
    assert bucket_of(1024 * 1.01 * 1.001).item() == 1025
    assert bucket_of(1024 * 1.01**10 * 1.001).item() == 1034


def test_integers_below_1024_are_exact() -> None:
    integers = np.arange(1024)
    assert (bucket_of(integers) == integers).all()
    assert (bucket_value(bucket_of(integers)) == integers).all()


def test_bucket_value_within_half_a_percent() -> None:
    values = random_values(10_000, seed=1)
    large = values[values >= 1024]
    relative = np.abs(bucket_value(bucket_of(large)) - large) / large
    assert relative.max() <= 0.005 + 1e-12


def test_buckets_are_monotone() -> None:
    values = np.sort(random_values(10_000, seed=2))
    assert (np.diff(bucket_of(values)) >= 0).all()
    assert (np.diff(bucket_value(np.arange(4000))) > 0).all()


def test_negative_or_nan_values_are_rejected() -> None:
    with pytest.raises(ValueError):
        bucket_of([1.0, -1.0])
    with pytest.raises(ValueError):
        bucket_of([float("nan")])


@pytest.mark.parametrize("sql_type", ["DOUBLE", "BIGINT"])
def test_duckdb_twin_agrees_with_numpy(sql_type: str) -> None:
    values = random_values(10_000, seed=3)
    if sql_type == "BIGINT":
        values = np.floor(values)
    expression = BUCKET_SQL_EXPRESSION.format(col="v")  # a fixed column name, no user input
    query = f"SELECT v, {expression} AS bucket FROM (SELECT unnest($values::{sql_type}[]) AS v)"  # noqa: S608
    rows = duckdb.connect().sql(query, params={"values": values.tolist()}).fetchall()
    assert len(rows) == len(values)
    from_sql = np.array([bucket for _, bucket in rows])
    from_numpy = bucket_of(np.array([float(v) for v, _ in rows]))
    assert (from_sql == from_numpy).all()
    edges = np.floor(EDGES) if sql_type == "BIGINT" else np.array(EDGES)
    assert set(edges.tolist()) <= {float(v) for v, _ in rows}


def test_percentile_of_one_and_two_is_one_and_a_half() -> None:
    hist = pl.DataFrame({"bucket": [1, 2], "n": [1, 1]})
    assert histogram_percentile(hist, [], 0.5)["value"].item() == 1.5


def test_percentiles_exact_on_small_integers_after_merging_days() -> None:
    rng = np.random.default_rng(4)
    groups = {"a": rng.integers(0, 300, size=501), "b": rng.integers(0, 1024, size=40), "c": np.array([7])}
    # Split every group over two "days" and pass both daily histograms: the function merges them.
    day_one = histogram({g: v[: len(v) // 2] for g, v in groups.items() if len(v) > 1})
    day_two = histogram({g: v[len(v) // 2 :] for g, v in groups.items()})
    merged = pl.concat([day_one, day_two])
    for q in (0.0, 0.1, 0.5, 0.95, 0.99, 1.0):
        result = histogram_percentile(merged, ["g"], q)
        assert result["g"].to_list() == ["a", "b", "c"]
        for group, value in result.iter_rows():
            assert value == pytest.approx(np.percentile(groups[group], q * 100), abs=1e-9)


def test_percentiles_within_one_percent_on_large_values() -> None:
    rng = np.random.default_rng(5)
    values = np.exp(rng.uniform(np.log(1e3), np.log(1e9), size=20_000))
    hist = histogram({"x": values})
    for q in (0.5, 0.95, 0.99):
        estimate = histogram_percentile(hist, ["g"], q, name="p")["p"].item()
        assert estimate == pytest.approx(np.percentile(values, q * 100), rel=0.01)


def test_percentile_matches_duckdb_quantile_cont_from_sql_buckets() -> None:
    rng = np.random.default_rng(6)
    values = rng.integers(0, 1000, size=777).tolist()
    con = duckdb.connect()
    expression = BUCKET_SQL_EXPRESSION.format(col="v")  # a fixed column name, no user input
    query = f"SELECT {expression} AS bucket, count(*) AS n FROM (SELECT unnest($v::BIGINT[]) AS v) GROUP BY bucket"  # noqa: S608
    hist = con.sql(query, params={"v": values}).pl()
    expected = con.sql(
        "SELECT quantile_cont(v, 0.95) FROM (SELECT unnest($v::BIGINT[]) AS v)", params={"v": values}
    )
    assert histogram_percentile(hist, [], 0.95)["value"].item() == pytest.approx(expected.fetchall()[0][0])


def test_percentile_outside_zero_to_one_is_rejected() -> None:
    with pytest.raises(ValueError):
        histogram_percentile(pl.DataFrame({"bucket": [1], "n": [1]}), [], 95)


def test_groups_without_counts_are_left_out_and_custom_columns_work() -> None:
    hist = pl.DataFrame({"e": ["a", "a", "z"], "b": [3, 5, 9], "count": [2, 2, 0]})
    result = histogram_percentile(hist, ["e"], 0.5, bucket_col="b", count_col="count")
    assert result.to_dicts() == [{"e": "a", "value": 4.0}]
