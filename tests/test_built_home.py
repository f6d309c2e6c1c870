"""The shared two-week home fixture really went through the pipeline (other tests build on it)."""

from __future__ import annotations

import duckdb


def test_built_home_has_two_weeks_of_recommendations(built_home):
    with duckdb.connect(str(built_home.warehouse), read_only=True) as con:
        weeks = con.sql(
            "SELECT CAST(week_start AS VARCHAR), count(*) FROM recommendations GROUP BY 1 ORDER BY 1"
        ).fetchall()
        modes = dict(
            con.sql(
                "SELECT endpoint, raw_mode FROM recommendations WHERE week_start = DATE '2026-11-09'"
            ).fetchall()
        )
    assert weeks == [("2026-11-02", 4), ("2026-11-09", 4)]
    assert modes["steady-big"] in ("dedicated", "hybrid")
    assert modes["small-chat"] == "serverless"
    assert modes["nightly"] == "batch"
    assert modes["unpriced"] is None
