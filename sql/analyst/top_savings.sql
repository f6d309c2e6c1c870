-- This week's top savings: the newest week's recommendations, largest weekly saving first (at most 10 rows).
-- Money is USD per week (the week's covered days) at the row's price_basis (list, billed or contract);
-- list_savings_usd is the saving list prices would have shown. savings_percent is the saving as a percentage of the
-- current cost.
--   duckdb -readonly "$MODESHIFT_HOME/analytics.duckdb" -f sql/analyst/top_savings.sql
SELECT
    week_start,
    endpoint,
    current_mode,
    recommended_mode,
    raw_mode,
    action,
    replicas,
    gpu_type,
    round(current_cost_usd, 2) AS current_cost_usd,
    round(recommended_cost_usd, 2) AS recommended_cost_usd,
    round(savings_usd, 2) AS savings_usd,
    round(100 * savings_pct, 1) AS savings_percent,
    price_basis,
    round(list_savings_usd, 2) AS list_savings_usd,
    confidence,
    array_to_string(reasons, '; ') AS reasons
FROM recommendations
WHERE week_start = (SELECT max(week_start) FROM recommendations)
ORDER BY savings_usd DESC NULLS LAST, endpoint
LIMIT 10;
