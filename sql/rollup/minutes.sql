-- Daily rollup: per endpoint, model and minute of one UTC day ($files: the day's request lake file), with list
-- cost and weighted tokens from the rate card (a relation named rate_card), the rows of each endpoint's provider (a
-- relation endpoint_provider: endpoint, provider; from provider.endpoints in the settings). Failed requests count
-- as load (requests, tokens) but not as spend. Cached input tokens (prompt-cache hits) are part of input_tokens
-- (docs/metrics.md#the-request-record); over the ok requests of a group:
--   weighted tokens = (input - cached) + $cached_input_weight * cached + output_weight * output
--   list cost = ((input - cached) * input price + cached * coalesce(cached input price, input price)
--               + output * output price) / 1e6
-- With no cached tokens logged both are input + output_weight * output and (input * input price + output * output
-- price) / 1e6, to the bit (x - 0 = x, 0 * p = 0). Rows whose model has no rate-card price in force have NULL cost
-- and are counted in unpriced_requests. billed_requests counts the requests whose log carried billed_cost_usd (the
-- FOCUS export tells a fully billed minute from a partly billed one with it). billed_ok_requests,
-- billed_ok_cost_usd and billed_list_cost_usd cover the same requests: the ok requests whose log carried
-- billed_cost_usd, with their billed cost and their list cost (priced as list cost above; NULL when unpriced
-- or when no ok request of the group carried a billed cost), so
-- that an effective price (docs/cost-model.md#effective-prices) divides like by like.
-- first_arrival_us / last_arrival_us (epoch microseconds) bound the minute's arrivals: the weekly job splitter
-- measures the exact idle gap between two active minutes from them.
-- Speed: requests are grouped by an integer minute (floor of epoch microseconds; date_trunc on TIMESTAMPTZ goes
-- through ICU and costs as much as the whole aggregation), and priced after grouping, one rate-card lookup per
-- (model, minute): prices change at midnight UTC (effective_from/effective_to are dates), so a request and its
-- minute are always on the same side of a price change, and the cost above computed on a group's sums equals the
-- per-request sum (up to float rounding). Token sums are DOUBLE sums (cheaper than the HUGEINT that sum(BIGINT)
-- gives, which Parquet stores as DOUBLE anyway): integer sums below 2^53 are exact in a DOUBLE, so the stored
-- values are the same.
WITH per_minute AS (
    SELECT
        endpoint,
        model,
        epoch_us(ts) - (epoch_us(ts) % 60000000 + 60000000) % 60000000 AS minute_us,
        count(*) AS requests,
        count(*) FILTER (WHERE ok) AS ok_requests,
        sum(CAST(input_tokens AS DOUBLE)) AS input_tokens,
        sum(CAST(output_tokens AS DOUBLE)) AS output_tokens,
        coalesce(sum(CAST(cached_input_tokens AS DOUBLE)), 0) AS cached_input_tokens,
        sum(CAST(input_tokens AS DOUBLE)) FILTER (WHERE ok) AS ok_input_tokens,
        sum(CAST(output_tokens AS DOUBLE)) FILTER (WHERE ok) AS ok_output_tokens,
        coalesce(sum(CAST(cached_input_tokens AS DOUBLE)) FILTER (WHERE ok), 0) AS ok_cached_input_tokens,
        sum(billed_cost_usd) AS billed_cost_usd,
        count(billed_cost_usd) AS billed_requests,
        count(billed_cost_usd) FILTER (WHERE ok) AS billed_ok_requests,
        sum(billed_cost_usd) FILTER (WHERE ok) AS billed_ok_cost_usd,
        sum(CAST(input_tokens AS DOUBLE)) FILTER (WHERE ok AND billed_cost_usd IS NOT NULL) AS billed_input_tokens,
        sum(CAST(output_tokens AS DOUBLE)) FILTER (WHERE ok AND billed_cost_usd IS NOT NULL) AS billed_output_tokens,
        coalesce(sum(CAST(cached_input_tokens AS DOUBLE)) FILTER (WHERE ok AND billed_cost_usd IS NOT NULL), 0)
            AS billed_cached_input_tokens,
        count(*) FILTER (WHERE stream OR interactive) AS interactive_requests,
        count(*) FILTER (WHERE NOT interactive OR deployment_mode = 'batch') AS offline_requests,
        count(*) FILTER (WHERE stream IS NOT NULL OR interactive IS NOT NULL OR deployment_mode = 'batch') AS signal_requests,
        count(*) FILTER (WHERE deployment_mode = 'dedicated') AS dedicated_requests,
        count(*) FILTER (WHERE deployment_mode = 'batch') AS batch_requests,
        min(epoch_us(ts)) AS first_arrival_us,
        max(epoch_us(ts)) AS last_arrival_us
    FROM read_parquet($files)
    GROUP BY endpoint, model, minute_us
),
per_minute_ts AS (
    SELECT * EXCLUDE (minute_us), make_timestamptz(minute_us) AS minute FROM per_minute
)
SELECT
    m.endpoint,
    m.model,
    m.minute,
    m.requests,
    m.ok_requests,
    m.input_tokens,
    m.output_tokens,
    m.cached_input_tokens,
    coalesce(m.ok_input_tokens, 0) AS ok_input_tokens,
    coalesce(m.ok_output_tokens, 0) AS ok_output_tokens,
    m.ok_cached_input_tokens,
    (m.ok_input_tokens - m.ok_cached_input_tokens) + CAST($cached_input_weight AS DOUBLE) * m.ok_cached_input_tokens
        + c.output_weight * m.ok_output_tokens AS weighted_tokens,
    ((m.ok_input_tokens - m.ok_cached_input_tokens) * c.input_usd_per_mtok
        + m.ok_cached_input_tokens * coalesce(c.cached_input_usd_per_mtok, c.input_usd_per_mtok)
        + m.ok_output_tokens * c.output_usd_per_mtok) / 1e6 AS list_cost_usd,
    m.billed_cost_usd,
    m.billed_requests,
    m.interactive_requests,
    m.offline_requests,
    m.signal_requests,
    m.dedicated_requests,
    m.batch_requests,
    m.first_arrival_us,
    m.last_arrival_us,
    CASE WHEN c.model IS NULL THEN m.requests ELSE 0 END AS unpriced_requests,
    m.billed_ok_requests,
    m.billed_ok_cost_usd,
    ((m.billed_input_tokens - m.billed_cached_input_tokens) * c.input_usd_per_mtok
        + m.billed_cached_input_tokens * coalesce(c.cached_input_usd_per_mtok, c.input_usd_per_mtok)
        + m.billed_output_tokens * c.output_usd_per_mtok) / 1e6 AS billed_list_cost_usd
FROM per_minute_ts AS m
LEFT JOIN endpoint_provider AS p
    ON m.endpoint = p.endpoint
LEFT JOIN rate_card AS c
    ON m.model = c.model
    AND c.provider = p.provider
    AND m.minute >= c.effective_from
    AND (c.effective_to IS NULL OR m.minute < c.effective_to)
