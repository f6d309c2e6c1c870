-- Langfuse observations (public API objects in camelCase, or blob-storage export rows in snake_case) -> the raw
-- rows every format produces (all text; typed later by normalize_rows.sql). Input: relation `records` with
-- source_line, parse_error and the fields of pipelines/ingest/formats/langfuse.py as text; the usage, cost and
-- metadata objects already as JSON object text or NULL (pipelines/ingest/formats/nested.py).
-- `input`, `output` and `statusMessage` are never read. Times are ISO-8601 text or the export's
-- 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC; the session time zone is UTC).
--   Only GENERATION observations are model requests: any other type gets the parse error naming it (quarantined,
--   counted). An observation without a type is read as a generation.
--   input_tokens: the sum of every usageDetails key containing 'input' (Langfuse's own rule: input, input_cached_tokens,
--   cache_read_input_tokens, cache_creation_input_tokens, input_audio_tokens, ...; Langfuse keeps those buckets apart,
--   so the sum is every prompt token); output_tokens: the sum of the keys containing 'output'. A map with output keys
--   only has 0 input tokens (and the other way round). Without such keys: the legacy usage object's input / output,
--   else the legacy promptTokens / completionTokens. A counted key whose value is not a non-negative JSON number gets
--   a parse error naming the key.
--   cached_input_tokens: the sum of the 'input' keys that also contain 'cached' or 'cache_read' (cache reads; cache
--   writes are not), NULL when there is none.
--   latency_ms = end - start; ttft_ms = completion start - start when the completion start lies in [start, end)
--   (else NULL: clock noise or no first token); stream true when there is such a first-token time, else NULL.
--   endpoint: metadata.endpoint, else '<environment>:<model>' when the environment is set and not 'default', else
--   the model (--endpoint overrides every row in normalize_rows.sql).
--   ok: level 'ERROR' -> false, any other level -> true, no level -> NULL (normalize_rows.sql reads it as true).
--   interactive: tags holding 'interactive' -> true, else 'batch' or 'offline' -> false.
--   billed_cost_usd: costDetails.total (USD), else totalCost / total_cost / calculatedTotalCost.
--   The user id goes to api_key: normalize_rows.sql keeps only its salted hash as the client.
WITH fields AS (
    SELECT
        source_line,
        parse_error,
        nullif(trim(id), '') AS id_text,
        upper(nullif(trim(type), '')) AS type_text,
        coalesce(nullif(trim("startTime"), ''), nullif(trim(start_time), '')) AS start_text,
        TRY_CAST(coalesce(nullif(trim("endTime"), ''), nullif(trim(end_time), '')) AS TIMESTAMPTZ) AS ended_at,
        TRY_CAST(
            coalesce(nullif(trim("completionStartTime"), ''), nullif(trim(completion_start_time), '')) AS TIMESTAMPTZ
        ) AS first_token_at,
        coalesce(nullif(trim(model), ''), nullif(trim(provided_model_name), '')) AS model_text,
        coalesce(
            map_entries(TRY_CAST(CAST(coalesce("usageDetails", usage_details) AS JSON) AS MAP(VARCHAR, JSON))), []
        ) AS usage_entries,
        usage AS legacy_usage,
        "promptTokens" AS prompt_tokens_text,
        "completionTokens" AS completion_tokens_text,
        json_extract_string(coalesce("costDetails", cost_details), '$.total') AS cost_total_text,
        coalesce(nullif(trim("totalCost"), ''), nullif(trim(total_cost), ''), nullif(trim("calculatedTotalCost"), ''))
            AS total_cost_text,
        coalesce(nullif(trim("userId"), ''), nullif(trim(user_id), '')) AS user_text,
        list_transform(TRY(json_transform(tags, '["VARCHAR"]')), lambda tag: lower(trim(tag))) AS tag_list,
        nullif(trim(json_extract_string(metadata, '$.endpoint')), '') AS metadata_endpoint,
        nullif(trim(environment), '') AS environment_text,
        upper(nullif(trim(level), '')) AS level_text
    FROM records
),
usage_kinds AS (
    SELECT
        *,
        list_filter(usage_entries, lambda e: contains(lower(e.key), 'input')) AS input_entries,
        list_filter(usage_entries, lambda e: contains(lower(e.key), 'output')) AS output_entries,
        list_filter(
            usage_entries,
            lambda e: contains(lower(e.key), 'input')
                AND (contains(lower(e.key), 'cached') OR contains(lower(e.key), 'cache_read'))
        ) AS cached_entries,
        TRY_CAST(start_text AS TIMESTAMPTZ) AS started_at
    FROM fields
),
checked AS (
    SELECT
        *,
        len(input_entries) + len(output_entries) > 0 AS has_usage_details,
        list_filter(
            list_concat(input_entries, output_entries),
            lambda e: e.value IS NOT NULL
                AND (json_type(e.value) NOT IN ('UBIGINT', 'BIGINT', 'DOUBLE') OR TRY_CAST(e.value AS DOUBLE) < 0)
        )[1].key AS bad_usage_key,
        first_token_at >= started_at AND (ended_at IS NULL OR first_token_at < ended_at) AS first_token_seen
    FROM usage_kinds
)
SELECT
    source_line,
    CASE
        WHEN parse_error IS NOT NULL THEN parse_error
        WHEN type_text IN ('SPAN', 'EVENT', 'AGENT', 'TOOL', 'CHAIN', 'RETRIEVER', 'EVALUATOR', 'EMBEDDING', 'GUARDRAIL')
            THEN 'a Langfuse ' || type_text || ' observation is not a model request (only GENERATION observations are)'
        WHEN type_text IS NOT NULL AND type_text <> 'GENERATION'
            THEN 'a Langfuse observation of an unknown type is not a model request (only GENERATION observations are)'
        WHEN bad_usage_key IS NOT NULL
            THEN 'usageDetails.' || left(bad_usage_key, 40) || ' is not a non-negative number of tokens'
    END AS parse_error,
    id_text AS request_id,
    start_text AS ts,
    coalesce(
        metadata_endpoint,
        CASE WHEN environment_text IS NOT NULL AND lower(environment_text) <> 'default'
            THEN environment_text || ':' || model_text END,
        model_text
    ) AS endpoint,
    model_text AS model,
    CASE
        WHEN has_usage_details
            THEN CAST(coalesce(list_sum(list_transform(input_entries, lambda e: TRY_CAST(e.value AS DOUBLE))), 0) AS VARCHAR)
        ELSE coalesce(json_extract_string(legacy_usage, '$.input'), prompt_tokens_text)
    END AS input_tokens,
    CASE
        WHEN has_usage_details
            THEN CAST(coalesce(list_sum(list_transform(output_entries, lambda e: TRY_CAST(e.value AS DOUBLE))), 0) AS VARCHAR)
        ELSE coalesce(json_extract_string(legacy_usage, '$.output'), completion_tokens_text)
    END AS output_tokens,
    CASE WHEN has_usage_details AND len(cached_entries) > 0
        THEN CAST(list_sum(list_transform(cached_entries, lambda e: TRY_CAST(e.value AS DOUBLE))) AS VARCHAR)
    END AS cached_input_tokens,
    CASE WHEN ended_at >= started_at
        THEN CAST((epoch_us(ended_at) - epoch_us(started_at)) / 1000.0 AS VARCHAR) END AS latency_ms,
    CASE WHEN first_token_seen
        THEN CAST((epoch_us(first_token_at) - epoch_us(started_at)) / 1000.0 AS VARCHAR) END AS ttft_ms,
    CASE WHEN level_text IS NULL THEN NULL WHEN level_text = 'ERROR' THEN 'false' ELSE 'true' END AS ok,
    CASE WHEN first_token_seen THEN 'true' END AS stream,
    CASE
        WHEN list_contains(tag_list, 'interactive') THEN 'true'
        WHEN list_contains(tag_list, 'batch') OR list_contains(tag_list, 'offline') THEN 'false'
    END AS interactive,
    CAST(NULL AS VARCHAR) AS client,
    user_text AS api_key,
    CAST(NULL AS VARCHAR) AS deployment_mode,
    coalesce(cost_total_text, total_cost_text) AS billed_cost_usd
FROM checked
