-- Spend concentration over time: per week, total list spend (USD), HHI and Gini across endpoints, how many
-- endpoints make 80% of the spend, and those endpoints with their share of the week's spend (percent).
--   duckdb -readonly "$MODESHIFT_HOME/analytics.duckdb" -f sql/analyst/concentration_over_time.sql
SELECT
    s.week_start,
    s.endpoints,
    round(s.total_cost_usd, 2) AS total_cost_usd,
    round(s.hhi, 4) AS hhi,
    round(s.gini, 4) AS gini,
    s.top_k_80,
    string_agg(c.endpoint || ' ' || CAST(round(100 * c.share, 1) AS VARCHAR) || '%', ', ' ORDER BY c.rank)
        FILTER (WHERE c.in_top_80) AS top_80_endpoints,
    s.unpriced AS unpriced_endpoints
FROM spend_concentration_summary AS s
LEFT JOIN spend_concentration AS c USING (week_start)
GROUP BY ALL
ORDER BY s.week_start;
