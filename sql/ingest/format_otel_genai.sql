-- OpenTelemetry OTLP/JSON trace export (JSON lines of TracesData) -> the raw rows every format produces, one row per
-- span (typed later by normalize_rows.sql). Input: relation `records` with source_line (the line's record number),
-- parse_error, "resourceSpans" (typed by the reader: only the keys of RESOURCE_SPANS_TYPE in
-- pipelines/ingest/formats/otel_genai.py, no events or links) and endpoint_key (the attribute naming the endpoint).
--   One row per element of resourceSpans[].scopeSpans[].spans[], in file order (line, resource, scope, span); a line
--   that holds no span at all (unreadable, or an empty envelope) is one row carrying the reason. source_line is the
--   running number of that row in the file: rows in = spans + lines without a span.
--   An attribute value is its stringValue, intValue, doubleValue or boolValue, as text (OTLP/JSON writes 64-bit
--   integers as decimal strings; numbers are accepted too). The first attribute with a key wins.
--   Only allowlisted keys are kept (in the projection right after the unnesting, before any operator that buffers
--   rows, such as the numbering window at the end): message contents
--   (gen_ai.input.messages, gen_ai.output.messages, gen_ai.prompt*, gen_ai.completion*, ...) and span events are
--   never selected.
--   ts: startTimeUnixNano (ns since 1970) as microseconds (the format's timestamp rule is 'us').
--   latency_ms: endTimeUnixNano - startTimeUnixNano; NULL when the end is missing or before the start.
--   ttft_ms: gen_ai.response.time_to_first_chunk (seconds) x 1000.
--   ok: false when error.type is set or status.code is 2 (STATUS_CODE_ERROR), else true.
--   request_id: gen_ai.response.id, else traceId:spanId, else NULL (normalize_rows.sql derives one).
--   endpoint: the endpoint_key attribute of the span, else of its resource. client: NULL; user.id / enduser.id go
--   to api_key, so normalize_rows.sql stores only their salted hash.
WITH lines AS (
    SELECT
        source_line AS line,
        parse_error AS line_error,
        CASE WHEN parse_error IS NULL THEN flatten(list_transform(
            "resourceSpans",
            lambda r: flatten(list_transform(
                r.scopeSpans,
                lambda s: list_transform(
                    s.spans,
                    lambda sp: {
                        'resource_endpoint': list_filter(r.resource.attributes, lambda a: a.key = endpoint_key)[1].value,
                        'span': sp
                    }
                )
            ))
        )) END AS spans,
        endpoint_key
    FROM records
),
exploded AS (
    SELECT
        line,
        line_error,
        endpoint_key,
        unnest(CASE WHEN len(spans) > 0 THEN spans ELSE [NULL] END) AS item,
        generate_subscripts(CASE WHEN len(spans) > 0 THEN spans ELSE [NULL] END, 1) AS position
    FROM lines
),
spans AS (
    SELECT
        line,
        position,
        line_error,
        item IS NULL AS no_span,
        item.span.traceId AS trace_id,
        item.span.spanId AS span_id,
        nullif(trim(item.span.startTimeUnixNano), '') AS start_text,
        TRY_CAST(nullif(trim(item.span.startTimeUnixNano), '') AS HUGEINT) AS start_ns,
        TRY_CAST(nullif(trim(item.span.endTimeUnixNano), '') AS HUGEINT) AS end_ns,
        trim(item.span.status.code) AS status_code,
        coalesce(
            item.resource_endpoint.stringValue,
            item.resource_endpoint.intValue,
            item.resource_endpoint.doubleValue,
            item.resource_endpoint.boolValue
        ) AS resource_endpoint,
        endpoint_key,
        list_filter(
            item.span.attributes,
            lambda a: a.key = endpoint_key OR a.key IN (
                'gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.system',
                'gen_ai.request.model', 'gen_ai.response.model', 'gen_ai.response.id',
                'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens',
                'gen_ai.usage.prompt_tokens', 'gen_ai.usage.completion_tokens',
                'gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens',
                'gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_write.input_tokens',
                'gen_ai.usage.cache_creation_input_tokens',
                'gen_ai.request.stream', 'gen_ai.response.time_to_first_chunk', 'error.type',
                'user.id', 'enduser.id'
            )
        ) AS attrs
    FROM exploded
),
keyed AS (
    SELECT
        * EXCLUDE (attrs),
        list_transform(attrs, lambda a: a.key) AS keys,
        list_transform(
            attrs,
            lambda a: coalesce(a.value.stringValue, a.value.intValue, a.value.doubleValue, a.value.boolValue)
        ) AS texts
    FROM spans
),
fields AS (
    SELECT
        line,
        position,
        line_error,
        no_span,
        trace_id,
        span_id,
        start_text,
        start_ns,
        end_ns,
        status_code,
        resource_endpoint,
        nullif(trim(texts[list_position(keys, endpoint_key)]), '') AS span_endpoint,
        nullif(trim(texts[list_position(keys, 'gen_ai.operation.name')]), '') AS operation,
        coalesce(
            nullif(trim(texts[list_position(keys, 'gen_ai.provider.name')]), ''),
            nullif(trim(texts[list_position(keys, 'gen_ai.system')]), '')
        ) AS provider,
        nullif(trim(texts[list_position(keys, 'gen_ai.request.model')]), '') AS request_model,
        nullif(trim(texts[list_position(keys, 'gen_ai.response.model')]), '') AS response_model,
        nullif(trim(texts[list_position(keys, 'gen_ai.response.id')]), '') AS response_id,
        coalesce(
            texts[list_position(keys, 'gen_ai.usage.input_tokens')],
            texts[list_position(keys, 'gen_ai.usage.prompt_tokens')]
        ) AS input_text,
        coalesce(
            texts[list_position(keys, 'gen_ai.usage.output_tokens')],
            texts[list_position(keys, 'gen_ai.usage.completion_tokens')]
        ) AS output_text,
        coalesce(
            texts[list_position(keys, 'gen_ai.usage.cache_read.input_tokens')],
            texts[list_position(keys, 'gen_ai.usage.cache_read_input_tokens')]
        ) AS cache_read_text,
        coalesce(
            texts[list_position(keys, 'gen_ai.usage.cache_creation.input_tokens')],
            texts[list_position(keys, 'gen_ai.usage.cache_write.input_tokens')],
            texts[list_position(keys, 'gen_ai.usage.cache_creation_input_tokens')]
        ) AS cache_write_text,
        texts[list_position(keys, 'gen_ai.request.stream')] AS stream_text,
        TRY_CAST(texts[list_position(keys, 'gen_ai.response.time_to_first_chunk')] AS DOUBLE)
            AS ttft_s,
        nullif(trim(texts[list_position(keys, 'error.type')]), '') AS error_type,
        coalesce(
            nullif(trim(texts[list_position(keys, 'user.id')]), ''),
            nullif(trim(texts[list_position(keys, 'enduser.id')]), '')
        ) AS user_text
    FROM keyed
),
judged AS (
    SELECT
        *,
        TRY_CAST(trim(cache_write_text) AS DOUBLE) AS cache_write_number,
        CASE
            WHEN line_error IS NOT NULL THEN line_error
            WHEN no_span THEN 'no spans in this line (an OTLP envelope without resourceSpans[].scopeSpans[].spans[])'
            WHEN operation IS NULL AND provider IS NULL AND request_model IS NULL AND response_model IS NULL
                THEN 'not a GenAI span: no gen_ai.operation.name, gen_ai.provider.name, gen_ai.system or model attribute'
            WHEN lower(operation) IN ('invoke_agent', 'create_agent', 'execute_tool')
                THEN 'not a model call: gen_ai.operation.name is ' || lower(operation)
                    || ' (its model calls are spans of their own)'
            WHEN start_text IS NULL THEN 'missing startTimeUnixNano'
            WHEN start_ns IS NULL OR start_ns < 0 OR start_ns >= 1e20
                THEN 'startTimeUnixNano ''' || left(start_text, 40) || ''' is not a whole number of nanoseconds'
        END AS span_error
    FROM fields
)
SELECT
    -- numbered here, where only scalars are left: the sort holds no attribute list (no message text, nothing large)
    row_number() OVER (ORDER BY line, position) AS source_line,
    CASE
        WHEN span_error IS NOT NULL THEN span_error
        WHEN cache_write_text IS NOT NULL AND (cache_write_number IS NULL OR cache_write_number < 0
            OR cache_write_number <> floor(cache_write_number) OR cache_write_number >= 1e12)
            THEN 'gen_ai.usage.cache_creation.input_tokens ''' || left(cache_write_text, 40)
                || ''' is not a non-negative integer below 10^12'
    END AS parse_error,
    coalesce(response_id, CASE WHEN nullif(trim(trace_id), '') IS NOT NULL AND nullif(trim(span_id), '') IS NOT NULL
        THEN lower(trim(trace_id)) || ':' || lower(trim(span_id)) END) AS request_id,
    CAST(start_ns / 1000 AS VARCHAR) AS ts,
    coalesce(span_endpoint, nullif(trim(resource_endpoint), '')) AS endpoint,
    coalesce(response_model, request_model) AS model,
    input_text AS input_tokens,
    output_text AS output_tokens,
    cache_read_text AS cached_input_tokens,
    CASE WHEN end_ns >= start_ns THEN CAST((end_ns - start_ns) / 1e6 AS VARCHAR) END AS latency_ms,
    CAST(ttft_s * 1000 AS VARCHAR) AS ttft_ms,
    CASE
        WHEN error_type IS NOT NULL OR status_code IN ('2', 'STATUS_CODE_ERROR') THEN 'false'
        WHEN line_error IS NULL AND NOT no_span THEN 'true'
    END AS ok,
    stream_text AS stream,
    CAST(NULL AS VARCHAR) AS interactive,
    CAST(NULL AS VARCHAR) AS client,
    user_text AS api_key,
    CAST(NULL AS VARCHAR) AS deployment_mode,
    CAST(NULL AS VARCHAR) AS billed_cost_usd
FROM judged
