-- LiteLLM SpendLogs (JSONL or CSV export) -> the raw rows every format produces (all text; typed later by
-- normalize_rows.sql). Input: relation `records` with source_line, parse_error and the SpendLogs fields as text.
-- `messages` and `response` are never read. Times are ISO-8601 text (naive = UTC: the session time zone is UTC).
--   latency_ms = endTime - startTime; NULL when either is missing/unreadable or endTime < startTime.
--   ttft_ms    = completionStartTime - startTime; NULL when completionStartTime is missing/unreadable, before
--                startTime, or not strictly before endTime (LiteLLM sets it to endTime for non-streamed calls,
--                where no first token was observed).
--   interactive: request_tags (a JSON list) holding 'interactive' -> true, else 'batch' or 'offline' -> false.
--   cached_input_tokens: metadata.usage_object.prompt_tokens_details.cached_tokens when it is a whole number >= 0.
--   Inconsistent times give NULL durations, not quarantined requests: the call still happened and counts as load.
--   ok: 'success' -> true, any other status -> false, no status -> NULL (normalize_rows.sql reads it as true).
--   client: team_id, else end_user; when neither, NULL so normalize_rows.sql uses the salted hash of api_key.
--   cache_hit true ('True', 'true', '1', 'yes'): the proxy's cache answered, no model ran; the row gets the parse
--   error 'served from the proxy cache' (quarantined: counted in the accounting, excluded from load and spend).
WITH fields AS (
    SELECT
        source_line,
        CASE
            WHEN parse_error IS NOT NULL THEN parse_error
            WHEN lower(trim(cache_hit)) IN ('true', '1', 'yes')
                THEN 'served from the proxy cache (cache_hit): no model load, no list spend'
        END AS parse_error,
        request_id,
        nullif(trim("startTime"), '') AS start_text,
        TRY_CAST(nullif(trim("startTime"), '') AS TIMESTAMPTZ) AS started_at,
        TRY_CAST(nullif(trim("endTime"), '') AS TIMESTAMPTZ) AS ended_at,
        TRY_CAST(nullif(trim("completionStartTime"), '') AS TIMESTAMPTZ) AS first_token_at,
        nullif(trim(model), '') AS model_text,
        nullif(trim(model_group), '') AS model_group_text,
        prompt_tokens,
        completion_tokens,
        spend,
        nullif(lower(trim(status)), '') AS status_text,
        list_transform(
            TRY(json_transform(request_tags, '["VARCHAR"]')), lambda tag: lower(trim(tag))
        ) AS tags,
        TRY_CAST(
            TRY(json_extract_string(metadata, '$.usage_object.prompt_tokens_details.cached_tokens')) AS DOUBLE
        ) AS cached_number,
        coalesce(nullif(trim(team_id), ''), nullif(trim(end_user), '')) AS client_text,
        api_key
    FROM records
)
SELECT
    source_line,
    parse_error,
    request_id,
    start_text AS ts,
    coalesce(model_group_text, model_text) AS endpoint,
    model_text AS model,
    prompt_tokens AS input_tokens,
    completion_tokens AS output_tokens,
    CASE WHEN cached_number >= 0 AND cached_number < 1e12 AND cached_number = floor(cached_number)
        THEN CAST(CAST(cached_number AS BIGINT) AS VARCHAR) END AS cached_input_tokens,
    CASE WHEN ended_at >= started_at
        THEN CAST((epoch_us(ended_at) - epoch_us(started_at)) / 1000.0 AS VARCHAR) END AS latency_ms,
    CASE WHEN first_token_at >= started_at AND (ended_at IS NULL OR first_token_at < ended_at)
        THEN CAST((epoch_us(first_token_at) - epoch_us(started_at)) / 1000.0 AS VARCHAR) END AS ttft_ms,
    CASE WHEN status_text IS NULL THEN NULL WHEN status_text = 'success' THEN 'true' ELSE 'false' END AS ok,
    CAST(NULL AS VARCHAR) AS stream,
    CASE
        WHEN list_contains(tags, 'interactive') THEN 'true'
        WHEN list_contains(tags, 'batch') OR list_contains(tags, 'offline') THEN 'false'
    END AS interactive,
    client_text AS client,
    api_key,
    CAST(NULL AS VARCHAR) AS deployment_mode,
    spend AS billed_cost_usd
FROM fields
