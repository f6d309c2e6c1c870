-- The accepted minute rows of one merged usage day ($file: the marked rows of usage_merge_day.sql): what the day's
-- rollup reads (lake/usage/day=D/part.parquet).
SELECT
    endpoint, model, minute, input_tokens, cached_input_tokens, output_tokens, requests, batch, service_tier,
    width_s, source_file, source_line
FROM read_parquet($file)
WHERE kind = 'accepted'
