-- One endpoint's weekly trend: traffic, spend and what modeshift recommended, oldest week first.
-- The CLI has no bound parameters: name the endpoint in a DuckDB variable first, e.g.
--   duckdb -readonly "$MODESHIFT_HOME/analytics.duckdb" -cmd "SET VARIABLE endpoint = 'chat-prod'" -f sql/analyst/endpoint_trend.sql
-- or, inside a session:  SET VARIABLE endpoint = 'chat-prod';  .read sql/analyst/endpoint_trend.sql
SELECT
    p.week_start,
    p.endpoint,
    p.coverage_days,
    p.requests,
    CAST(p.input_tokens + p.output_tokens AS BIGINT) AS tokens,
    round(p.mean_tps, 1) AS mean_tps,
    round(p.peak_tps, 1) AS peak_tps,
    round(100 * p.wow_change, 1) AS wow_change_percent,
    p.stability_class,
    p.burst_class,
    p.latency_class,
    round(p.list_cost_usd, 2) AS list_cost_usd,
    r.current_mode,
    r.raw_mode,
    r.recommended_mode,
    r.action,
    r.replicas,
    round(r.savings_usd, 2) AS savings_usd,
    r.confidence
FROM endpoint_profiles AS p
LEFT JOIN recommendations AS r USING (week_start, endpoint)
WHERE p.endpoint = coalesce(
    getvariable('endpoint'), error('Name the endpoint first: SET VARIABLE endpoint = ''<endpoint>'';')
)
ORDER BY p.week_start;
