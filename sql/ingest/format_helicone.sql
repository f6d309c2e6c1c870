-- Helicone request export (JSON lines / JSON array of request records, or CSV) -> the raw rows every format produces
-- (all text; typed later by normalize_rows.sql). Input: relation `records` with source_line, parse_error and the
-- fields of pipelines/ingest/formats/helicone.py as text; request_properties / properties already as JSON object
-- text or NULL (pipelines/ingest/formats/nested.py). `request_body` and `response_body` are never read.
-- Times are ISO-8601 text or ClickHouse's 'YYYY-MM-DD HH:MM:SS.fff' (UTC; the session time zone is UTC).
--   input_tokens = prompt_tokens + prompt_cache_read_tokens + prompt_cache_write_tokens: Helicone keeps the three
--   buckets apart (prompt_tokens are the fresh, uncached tokens; its cost is the sum of each bucket at its rate), and
--   a request's input tokens are all three. cached_input_tokens = prompt_cache_read_tokens. A cache count that is
--   present but not a non-negative number is a parse error naming it; a missing one counts 0.
--   latency_ms = delay_ms (milliseconds; `latency` in the older CSV export), else response_created_at -
--   request_created_at. ttft_ms = time_to_first_token (milliseconds) when >= 0.
--   ok: response_status 200-299 -> true, any other status (Helicone writes -1 when no response arrived) -> false,
--   none -> NULL (normalize_rows.sql reads it as true); a status that is not a number is a parse error.
--   endpoint: the custom property 'endpoint' (header Helicone-Property-Endpoint; the key compared case-insensitively,
--   with or without the 'helicone-property-' prefix), else the model (--endpoint overrides every row).
--   model: request_model, else response_model, else model.
--   billed_cost_usd: cost (USD: Helicone stores cost times 10^9 and its API divides before returning it), else the
--   older exports' cost_usd / costUSD.
--   A request answered from Helicone's own cache (cache_reference_id naming another request, not the all-zero UUID)
--   ran no model: parse error 'served from the Helicone cache' (quarantined, counted).
--   The user id (request_user_id, the Helicone-User-Id header; user_id in ClickHouse) goes to api_key:
--   normalize_rows.sql keeps only its salted hash as the client.
WITH fields AS (
    SELECT
        source_line,
        parse_error,
        coalesce(nullif(trim(request_id), ''), nullif(trim(response_id), '')) AS id_text,
        nullif(trim(request_created_at), '') AS start_text,
        TRY_CAST(nullif(trim(request_created_at), '') AS TIMESTAMPTZ) AS started_at,
        TRY_CAST(nullif(trim(response_created_at), '') AS TIMESTAMPTZ) AS ended_at,
        coalesce(nullif(trim(request_model), ''), nullif(trim(response_model), ''), nullif(trim(model), ''))
            AS model_text,
        prompt_tokens,
        completion_tokens,
        nullif(trim(prompt_cache_read_tokens), '') AS cache_read_text,
        nullif(trim(prompt_cache_write_tokens), '') AS cache_write_text,
        coalesce(nullif(trim(delay_ms), ''), nullif(trim(latency), '')) AS delay_text,
        TRY_CAST(nullif(trim(time_to_first_token), '') AS DOUBLE) AS ttft_number,
        coalesce(nullif(trim(cost), ''), nullif(trim(cost_usd), ''), nullif(trim("costUSD"), '')) AS cost_text,
        TRY_CAST(nullif(trim(response_status), '') AS DOUBLE) AS status_number,
        nullif(trim(response_status), '') AS status_text,
        list_filter(
            coalesce(
                map_entries(TRY_CAST(CAST(coalesce(request_properties, properties) AS JSON) AS MAP(VARCHAR, JSON))),
                []
            ),
            lambda e: lower(trim(e.key)) IN ('endpoint', 'helicone-property-endpoint')
        )[1].value ->> '$' AS endpoint_property,
        coalesce(nullif(trim(request_user_id), ''), nullif(trim(user_id), '')) AS user_text,
        nullif(lower(trim(cache_reference_id)), '') AS cache_reference_text
    FROM records
),
checked AS (
    SELECT
        *,
        TRY_CAST(cache_read_text AS DOUBLE) AS cache_read_number,
        TRY_CAST(cache_write_text AS DOUBLE) AS cache_write_number,
        TRY_CAST(prompt_tokens AS DOUBLE) AS prompt_number
    FROM fields
)
SELECT
    source_line,
    CASE
        WHEN parse_error IS NOT NULL THEN parse_error
        WHEN cache_reference_text IS NOT NULL AND cache_reference_text <> '00000000-0000-0000-0000-000000000000'
            THEN 'served from the Helicone cache (cache_reference_id): no model load, no list spend'
        WHEN status_text IS NOT NULL AND status_number IS NULL THEN 'response_status is not a number'
        WHEN cache_read_text IS NOT NULL AND NOT coalesce(cache_read_number >= 0, false)
            THEN 'prompt_cache_read_tokens is not a non-negative number'
        WHEN cache_write_text IS NOT NULL AND NOT coalesce(cache_write_number >= 0, false)
            THEN 'prompt_cache_write_tokens is not a non-negative number'
    END AS parse_error,
    id_text AS request_id,
    start_text AS ts,
    coalesce(nullif(trim(endpoint_property), ''), model_text) AS endpoint,
    model_text AS model,
    -- a prompt count that is not a number is passed on as it is: normalize_rows.sql (or the registry, for a
    -- boolean) gives it the reason
    CASE WHEN prompt_number IS NULL THEN prompt_tokens
        ELSE CAST(prompt_number + coalesce(cache_read_number, 0) + coalesce(cache_write_number, 0) AS VARCHAR)
    END AS input_tokens,
    completion_tokens AS output_tokens,
    CAST(cache_read_number AS VARCHAR) AS cached_input_tokens,
    coalesce(
        delay_text,
        CASE WHEN ended_at >= started_at
            THEN CAST((epoch_us(ended_at) - epoch_us(started_at)) / 1000.0 AS VARCHAR) END
    ) AS latency_ms,
    CASE WHEN ttft_number >= 0 THEN CAST(ttft_number AS VARCHAR) END AS ttft_ms,
    CASE
        WHEN status_text IS NULL THEN NULL
        WHEN status_number >= 200 AND status_number < 300 THEN 'true'
        ELSE 'false'
    END AS ok,
    CAST(NULL AS VARCHAR) AS stream,
    CAST(NULL AS VARCHAR) AS interactive,
    CAST(NULL AS VARCHAR) AS client,
    user_text AS api_key,
    CAST(NULL AS VARCHAR) AS deployment_mode,
    cost_text AS billed_cost_usd
FROM checked
