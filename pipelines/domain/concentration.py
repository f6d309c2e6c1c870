"""How concentrated a week's spend is across endpoints: shares, ranks, HHI, Gini, top-k for 80%
(see docs/metrics.md#spend-concentration).

Edge cases, by decision: endpoints with a null cost are unpriced; they are left out of every statistic and listed
under ``unpriced`` in the summary. When the priced total is 0 (or nothing is priced) every share and cum_share is 0,
``top_k_80`` is 0 (no endpoint is in the top 80%), and ``hhi`` and ``gini`` are 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

TOP_SHARE = 0.8
# cum_share is a quotient of floating sums; this slack keeps an exact 80% split (e.g. 50 + 30 of 100) at 80%.
SHARE_TOLERANCE = 1e-12


def gini(costs: np.ndarray) -> float:
    """Gini coefficient Σ_i Σ_j |x_i − x_j| / (2 n² mean) of non-negative costs (unitless, 0 = equal spend).

    Computed from the sorted costs as Σ_i (2i − n − 1)·x_(i) / (n·Σx), which is the same sum in O(n log n).
    0 for n <= 1 or a zero total.
    """
    x = np.sort(np.asarray(costs, dtype=np.float64))
    n, total = len(x), float(x.sum())
    if n <= 1 or total == 0:
        return 0.0
    weights = 2 * np.arange(1, n + 1) - n - 1
    return float(weights @ x / (n * total))


def spend_concentration(costs: pl.DataFrame, key: str = "endpoint") -> tuple[pl.DataFrame, dict[str, Any]]:
    """Per priced row (``key, cost_usd``): ``share``, ``rank``, ``cum_share``, ``in_top_80``; plus a summary.

    ``rank`` 1 is the largest cost, ties broken by ``key`` ascending; ``cum_share`` accumulates in rank order;
    ``in_top_80`` marks the smallest set of top-ranked rows holding at least 80% of the spend. The summary holds
    ``hhi`` (Σ share²), ``gini``, ``top_k_80``, ``total_cost_usd`` (USD), ``endpoints`` (priced rows) and
    ``unpriced`` (sorted keys whose cost is null, excluded from everything else).
    """
    unpriced = sorted(costs.filter(pl.col("cost_usd").is_null())[key].to_list())
    priced = costs.filter(pl.col("cost_usd").is_not_null()).sort(["cost_usd", key], descending=[True, False])
    total = float(priced["cost_usd"].sum())
    share = (pl.col("cost_usd") / total) if total > 0 else pl.lit(0.0)
    cum_share = (pl.col("cost_usd").cum_sum() / total) if total > 0 else pl.lit(0.0)
    ranked = priced.select(
        key,
        "cost_usd",
        share.alias("share"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"),
        cum_share.alias("cum_share"),
    )
    reached = ranked.filter(pl.col("cum_share") >= TOP_SHARE - SHARE_TOLERANCE)
    top_k_80 = int(reached["rank"].min()) if total > 0 and reached.height else 0
    rows = ranked.with_columns(in_top_80=pl.col("rank") <= top_k_80)
    summary = {
        "hhi": float((rows["share"] ** 2).sum()),
        "gini": gini(rows["cost_usd"].to_numpy()),
        "top_k_80": top_k_80,
        "total_cost_usd": total,
        "endpoints": rows.height,
        "unpriced": unpriced,
    }
    return rows, summary
