-- modeshift calibrate: per endpoint, model and minute, the requests served on dedicated replicas
-- (deployment_mode = 'dedicated') in the request lake ($files: its day files), with the weighted tokens of the ok
-- requests ((input - cached) + $cached_input_weight * cached + output_weight * output, cached = the request's
-- cached input tokens or 0, as the minute rollups count them; the rate-card row in force at the request's time; a
-- relation named rate_card) and the minute's P95 request latency in ms (requests that recorded one; NULL when none did).
-- output_weight is NULL for a model the rate card does not price.
WITH dedicated AS (
    SELECT
        r.endpoint,
        r.model,
        epoch_us(r.ts) - (epoch_us(r.ts) % 60000000 + 60000000) % 60000000 AS minute_us,
        r.ok,
        CAST(r.input_tokens AS DOUBLE) AS input_tokens,
        CAST(r.output_tokens AS DOUBLE) AS output_tokens,
        CAST(coalesce(r.cached_input_tokens, 0) AS DOUBLE) AS cached_input_tokens,
        r.latency_ms,
        c.output_weight
    FROM read_parquet($files, union_by_name = true, hive_partitioning = false) AS r
    LEFT JOIN rate_card AS c
        ON r.model = c.model
        AND r.ts >= c.effective_from
        AND (c.effective_to IS NULL OR r.ts < c.effective_to)
    WHERE r.deployment_mode = 'dedicated'
)
SELECT
    endpoint,
    model,
    minute_us,
    count(*) AS requests,
    coalesce(sum((input_tokens - cached_input_tokens) + CAST($cached_input_weight AS DOUBLE) * cached_input_tokens
        + output_weight * output_tokens) FILTER (WHERE ok), 0) AS weighted_tokens,
    max(output_weight) AS output_weight,
    quantile_cont(latency_ms, 0.95) AS latency_p95_ms
FROM dedicated
GROUP BY endpoint, model, minute_us
ORDER BY endpoint, model, minute_us
