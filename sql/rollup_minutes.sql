-- Daily rollup: per endpoint, model and minute of one UTC day ($files: the day's request lake file), with list
-- cost and weighted tokens from the rate card (a relation named rate_card). Failed requests count as load
-- (requests, tokens) but not as spend. Weighted tokens = input + output_weight * output (ok requests only).
-- Rows whose model has no rate-card price in force have NULL cost and are counted in unpriced_requests.
SELECT
    r.endpoint,
    r.model,
    date_trunc('minute', r.ts) AS minute,
    count(*) AS requests,
    count(*) FILTER (WHERE r.ok) AS ok_requests,
    sum(r.input_tokens) AS input_tokens,
    sum(r.output_tokens) AS output_tokens,
    sum(coalesce(r.cached_input_tokens, 0)) AS cached_input_tokens,
    coalesce(sum(r.input_tokens) FILTER (WHERE r.ok), 0) AS ok_input_tokens,
    coalesce(sum(r.output_tokens) FILTER (WHERE r.ok), 0) AS ok_output_tokens,
    sum(CASE WHEN r.ok THEN r.input_tokens + c.output_weight * r.output_tokens END) AS weighted_tokens,
    sum(CASE WHEN r.ok THEN (r.input_tokens * c.input_usd_per_mtok + r.output_tokens * c.output_usd_per_mtok) / 1e6
        END) AS list_cost_usd,
    sum(r.billed_cost_usd) AS billed_cost_usd,
    count(*) FILTER (WHERE r.stream OR r.interactive) AS interactive_requests,
    count(*) FILTER (WHERE NOT r.interactive OR r.deployment_mode = 'batch') AS offline_requests,
    count(*) FILTER (WHERE r.stream OR r.interactive IS NOT NULL OR r.deployment_mode = 'batch') AS signal_requests,
    count(*) FILTER (WHERE r.deployment_mode = 'dedicated') AS dedicated_requests,
    count(*) FILTER (WHERE r.deployment_mode = 'batch') AS batch_requests,
    count(*) FILTER (WHERE c.model IS NULL) AS unpriced_requests
FROM read_parquet($files) AS r
LEFT JOIN rate_card AS c
    ON r.model = c.model
    AND r.ts >= c.effective_from
    AND (c.effective_to IS NULL OR r.ts < c.effective_to)
GROUP BY ALL
