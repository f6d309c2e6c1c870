-- Type and validate the records of one aggregated usage export (view usage_raw: source_line, parse_error and the
-- bucket and result fields of pipelines/ingest/formats/openai_usage.py, all as text). One output row per record:
-- the typed bucket, the reason it is quarantined (NULL when accepted), a short copy of its fields for quarantined
-- records (the API key id replaced by its salted hash), and its UTC day ('quarantine' for refused records).
-- Parameters: $file_id VARCHAR, $landed_at_ns BIGINT, $endpoint_override VARCHAR or NULL, $endpoint_by VARCHAR
-- (project_id | api_key_id | user_id | model), $salt VARCHAR, $min_ts_us BIGINT, $max_ts_us BIGINT,
-- $max_name_length BIGINT. bucket_key identifies the bucket and its group (not the endpoint name chosen for it):
-- the same bucket landed twice is one bucket (pipelines/ingest/usage_merge.py keeps the first copy).
WITH cleaned AS (
    SELECT
        source_line,
        parse_error,
        nullif(trim(start_time), '') AS start_text,
        nullif(trim(end_time), '') AS end_text,
        nullif(trim(input_tokens), '') AS input_text,
        nullif(trim(input_cached_tokens), '') AS cached_text,
        nullif(trim(output_tokens), '') AS output_text,
        nullif(trim(input_audio_tokens), '') AS input_audio_text,
        nullif(trim(output_audio_tokens), '') AS output_audio_text,
        nullif(trim(num_model_requests), '') AS requests_text,
        nullif(trim(project_id), '') AS project_text,
        nullif(trim(user_id), '') AS user_text,
        nullif(trim(api_key_id), '') AS api_key_text,
        nullif(trim(model), '') AS model_text,
        nullif(lower(trim(batch)), '') AS batch_text,
        nullif(trim(service_tier), '') AS tier_text
    FROM usage_raw
),
typed AS (
    SELECT
        *,
        TRY_CAST(start_text AS DOUBLE) AS start_number,
        TRY_CAST(end_text AS DOUBLE) AS end_number,
        TRY_CAST(input_text AS DOUBLE) AS input_number,
        TRY_CAST(cached_text AS DOUBLE) AS cached_number,
        TRY_CAST(output_text AS DOUBLE) AS output_number,
        TRY_CAST(input_audio_text AS DOUBLE) AS input_audio_number,
        TRY_CAST(output_audio_text AS DOUBLE) AS output_audio_number,
        TRY_CAST(requests_text AS DOUBLE) AS requests_number,
        CASE WHEN api_key_text IS NOT NULL THEN 'key-' || left(sha256($salt || api_key_text), 16) END AS api_key_hash,
        CASE $endpoint_by
            WHEN 'project_id' THEN project_text
            WHEN 'api_key_id' THEN CASE WHEN api_key_text IS NOT NULL THEN 'key-' || left(sha256($salt || api_key_text), 16) END
            WHEN 'user_id' THEN user_text
            WHEN 'model' THEN model_text
        END AS grouped_endpoint
    FROM cleaned
),
named AS (
    SELECT *, nullif(trim(coalesce(CAST($endpoint_override AS VARCHAR), grouped_endpoint)), '') AS endpoint_text
    FROM typed
),
judged AS (
    SELECT
        *,
        CASE
            WHEN parse_error IS NOT NULL THEN parse_error
            WHEN start_text IS NULL THEN 'missing start_time'
            WHEN start_number IS NULL OR start_number <> floor(start_number) OR abs(start_number) > 1e11
                THEN 'start_time ''' || left(start_text, 40) || ''' is not a whole number of Unix seconds'
            WHEN end_text IS NULL THEN 'missing end_time'
            WHEN end_number IS NULL OR end_number <> floor(end_number) OR abs(end_number) > 1e11
                THEN 'end_time ''' || left(end_text, 40) || ''' is not a whole number of Unix seconds'
            WHEN end_number <= start_number THEN 'end_time ' || CAST(CAST(end_number AS BIGINT) AS VARCHAR)
                || ' is not after start_time ' || CAST(CAST(start_number AS BIGINT) AS VARCHAR)
            WHEN end_number - start_number NOT IN (60, 3600, 86400) THEN 'bucket width '
                || CAST(CAST(end_number - start_number AS BIGINT) AS VARCHAR) || ' s is not 1m, 1h or 1d'
            WHEN start_number % 60 <> 0 THEN 'start_time ' || CAST(CAST(start_number AS BIGINT) AS VARCHAR)
                || ' is not on a whole minute'
            WHEN floor(start_number / 86400) <> floor((end_number - 1) / 86400)
                THEN 'the bucket crosses midnight UTC (a 1d bucket must start at 00:00 UTC)'
            WHEN start_number * 1e6 < $min_ts_us THEN 'start_time ' || CAST(make_timestamptz(CAST(start_number * 1e6 AS BIGINT)) AS VARCHAR)
                || ' is before the configured start date'
            WHEN start_number * 1e6 > $max_ts_us THEN 'start_time ' || CAST(make_timestamptz(CAST(start_number * 1e6 AS BIGINT)) AS VARCHAR)
                || ' is in the future (after the file landed)'
            WHEN model_text IS NULL THEN 'missing model (export the usage grouped by model: group_by=model)'
            WHEN length(model_text) > $max_name_length THEN 'model name is too long'
            WHEN regexp_matches(model_text, '[\x00-\x1f\x7f]') THEN 'model name contains control characters'
            WHEN endpoint_text IS NULL THEN 'no ' || $endpoint_by || ' to name the endpoint (export the usage grouped by '
                || $endpoint_by || ', or pass --endpoint-by or --endpoint)'
            WHEN length(endpoint_text) > $max_name_length THEN 'endpoint name is too long'
            WHEN regexp_matches(endpoint_text, '[\x00-\x1f\x7f]') THEN 'endpoint name contains control characters'
            WHEN input_text IS NULL THEN 'input_tokens is missing'
            WHEN input_text IN ('true', 'false') THEN 'input_tokens is a boolean (' || input_text || '), not a number'
            WHEN input_number IS NULL THEN 'input_tokens ''' || left(input_text, 40) || ''' is not a number'
            WHEN input_number < 0 THEN 'input_tokens ' || input_text || ' is negative'
            WHEN input_number <> floor(input_number) OR input_number >= 1e12
                THEN 'input_tokens ' || input_text || ' is not an integer below 10^12'
            WHEN output_text IS NULL THEN 'output_tokens is missing'
            WHEN output_text IN ('true', 'false') THEN 'output_tokens is a boolean (' || output_text || '), not a number'
            WHEN output_number IS NULL THEN 'output_tokens ''' || left(output_text, 40) || ''' is not a number'
            WHEN output_number < 0 THEN 'output_tokens ' || output_text || ' is negative'
            WHEN output_number <> floor(output_number) OR output_number >= 1e12
                THEN 'output_tokens ' || output_text || ' is not an integer below 10^12'
            WHEN requests_text IS NULL THEN 'num_model_requests is missing'
            WHEN requests_text IN ('true', 'false') THEN 'num_model_requests is a boolean (' || requests_text || '), not a number'
            WHEN requests_number IS NULL THEN 'num_model_requests ''' || left(requests_text, 40) || ''' is not a number'
            WHEN requests_number < 0 THEN 'num_model_requests ' || requests_text || ' is negative'
            WHEN requests_number <> floor(requests_number) OR requests_number >= 1e12
                THEN 'num_model_requests ' || requests_text || ' is not an integer below 10^12'
            WHEN cached_text IN ('true', 'false') THEN 'input_cached_tokens is a boolean (' || cached_text || '), not a number'
            WHEN cached_text IS NOT NULL AND cached_number IS NULL
                THEN 'input_cached_tokens ''' || left(cached_text, 40) || ''' is not a number'
            WHEN cached_number < 0 THEN 'input_cached_tokens ' || cached_text || ' is negative'
            WHEN cached_number <> floor(cached_number) OR cached_number >= 1e12
                THEN 'input_cached_tokens ' || cached_text || ' is not an integer below 10^12'
            WHEN cached_number > input_number THEN 'input_cached_tokens ' || cached_text
                || ' exceeds input_tokens ' || input_text
            WHEN input_audio_text IN ('true', 'false') OR (input_audio_text IS NOT NULL AND input_audio_number IS NULL)
                OR input_audio_number < 0 OR input_audio_number <> floor(input_audio_number)
                THEN 'input_audio_tokens ''' || left(input_audio_text, 40) || ''' is not a non-negative integer'
            WHEN output_audio_text IN ('true', 'false') OR (output_audio_text IS NOT NULL AND output_audio_number IS NULL)
                OR output_audio_number < 0 OR output_audio_number <> floor(output_audio_number)
                THEN 'output_audio_tokens ''' || left(output_audio_text, 40) || ''' is not a non-negative integer'
            WHEN batch_text IS NOT NULL AND batch_text NOT IN ('true', 'false')
                THEN 'batch ''' || left(batch_text, 40) || ''' is not a boolean'
            WHEN length(tier_text) > $max_name_length THEN 'service_tier is too long'
        END AS quarantine_reason
    FROM named
)
SELECT
    $file_id AS source_file,
    source_line,
    CAST($landed_at_ns AS BIGINT) AS landed_at_ns,
    endpoint_text AS endpoint,
    model_text AS model,
    CASE WHEN quarantine_reason IS NULL THEN make_timestamptz(CAST(start_number AS BIGINT) * 1000000) END AS bucket_start,
    CASE WHEN quarantine_reason IS NULL THEN CAST(end_number - start_number AS BIGINT) END AS width_s,
    TRY_CAST(input_number AS BIGINT) AS input_tokens,
    coalesce(TRY_CAST(cached_number AS BIGINT), 0) AS cached_input_tokens,
    TRY_CAST(output_number AS BIGINT) AS output_tokens,
    TRY_CAST(requests_number AS BIGINT) AS requests,
    coalesce(batch_text = 'true', false) AS batch,
    tier_text AS service_tier,
    sha256(concat_ws(chr(31), coalesce(start_text, chr(0)), coalesce(end_text, chr(0)),
        coalesce(project_text, chr(0)), coalesce(user_text, chr(0)), coalesce(api_key_hash, chr(0)),
        coalesce(model_text, chr(0)), coalesce(batch_text, chr(0)), coalesce(tier_text, chr(0)))) AS bucket_key,
    quarantine_reason,
    CASE WHEN quarantine_reason IS NOT NULL THEN left(CAST(to_json({
        'start_time': start_text, 'end_time': end_text, 'input_tokens': input_text,
        'input_cached_tokens': cached_text, 'output_tokens': output_text, 'input_audio_tokens': input_audio_text,
        'output_audio_tokens': output_audio_text, 'num_model_requests': requests_text, 'project_id': project_text,
        'user_id': user_text, 'api_key_id': api_key_hash, 'model': model_text, 'batch': batch_text,
        'service_tier': tier_text
    }) AS VARCHAR), 1000) END AS raw,
    CASE WHEN quarantine_reason IS NULL
        THEN CAST(CAST(make_timestamptz(CAST(start_number AS BIGINT) * 1000000) AS DATE) AS VARCHAR)
        ELSE 'quarantine' END AS day
FROM judged
