-- Daily rollup of aggregated usage: per endpoint, model and minute of one UTC day ($files: the day's merged usage
-- minutes, lake/usage/day=D/part.parquet), in the columns of minutes.sql, with list cost and weighted tokens from
-- the rate card (relations rate_card and endpoint_provider, as in minutes.sql). A usage export counts requests, not
-- failures: every request is ok. Batch API results (batch = true) are batch traffic: batch, offline and signal
-- requests. There are no arrivals: first_arrival_us / last_arrival_us bound the whole minute (its first and last
-- microsecond), so the job splitter sees the minute as busy throughout. bucket_requests counts the requests that
-- came from buckets and bucket_width_s is the coarsest bucket (60, 3600 or 86400 s) behind the minute: the weekly
-- profile says from them which metrics cannot be known (docs/metrics.md#aggregated-sources).
-- Cost and load as in minutes.sql: input_tokens include the cached ones, priced at the card's
-- cached_input_usd_per_mtok (NULL: the input price) and weighted by $cached_input_weight:
-- cost = ((in - cached) * p_in + cached * coalesce(p_cached, p_in) + out * p_out) / 1e6,
-- weighted tokens = (in - cached) + $cached_input_weight * cached + output_weight * out.
-- A usage export carries no billed cost: billed_cost_usd NULL, billed_requests 0 (and billed_ok_requests 0,
-- billed_ok_cost_usd and billed_list_cost_usd NULL).
WITH per_minute AS (
    SELECT
        endpoint,
        model,
        minute,
        CAST(sum(requests) AS BIGINT) AS requests,
        CAST(sum(input_tokens) AS DOUBLE) AS input_tokens,
        CAST(sum(output_tokens) AS DOUBLE) AS output_tokens,
        CAST(sum(cached_input_tokens) AS DOUBLE) AS cached_input_tokens,
        CAST(coalesce(sum(requests) FILTER (WHERE batch), 0) AS BIGINT) AS batch_requests,
        CAST(max(width_s) AS BIGINT) AS bucket_width_s
    FROM read_parquet($files)
    GROUP BY endpoint, model, minute
)
SELECT
    m.endpoint,
    m.model,
    m.minute,
    m.requests,
    m.requests AS ok_requests,
    m.input_tokens,
    m.output_tokens,
    m.cached_input_tokens,
    m.input_tokens AS ok_input_tokens,
    m.output_tokens AS ok_output_tokens,
    m.cached_input_tokens AS ok_cached_input_tokens,
    (m.input_tokens - m.cached_input_tokens) + CAST($cached_input_weight AS DOUBLE) * m.cached_input_tokens
        + c.output_weight * m.output_tokens AS weighted_tokens,
    ((m.input_tokens - m.cached_input_tokens) * c.input_usd_per_mtok
        + m.cached_input_tokens * coalesce(c.cached_input_usd_per_mtok, c.input_usd_per_mtok)
        + m.output_tokens * c.output_usd_per_mtok) / 1e6 AS list_cost_usd,
    CAST(NULL AS DOUBLE) AS billed_cost_usd,
    CAST(0 AS BIGINT) AS billed_requests,
    CAST(0 AS BIGINT) AS interactive_requests,
    m.batch_requests AS offline_requests,
    m.batch_requests AS signal_requests,
    CAST(0 AS BIGINT) AS dedicated_requests,
    m.batch_requests,
    epoch_us(m.minute) AS first_arrival_us,
    epoch_us(m.minute) + 59999999 AS last_arrival_us,
    CASE WHEN c.model IS NULL THEN m.requests ELSE 0 END AS unpriced_requests,
    m.requests AS bucket_requests,
    m.bucket_width_s,
    CAST(0 AS BIGINT) AS billed_ok_requests,
    CAST(NULL AS DOUBLE) AS billed_ok_cost_usd,
    CAST(NULL AS DOUBLE) AS billed_list_cost_usd
FROM per_minute AS m
LEFT JOIN endpoint_provider AS p
    ON m.endpoint = p.endpoint
LEFT JOIN rate_card AS c
    ON m.model = c.model
    AND c.provider = p.provider
    AND m.minute >= c.effective_from
    AND (c.effective_to IS NULL OR m.minute < c.effective_to)
