-- The accepted buckets of one aggregated usage export (view usage_buckets: the rows of usage_buckets.sql) as one
-- row per minute each covers: a 1m bucket is its minute; an hourly or daily bucket is spread evenly over its 60 or
-- 1,440 minutes, each count split into whole numbers that add up to the bucket's exactly (minute i of n gets
-- floor(x·(i+1)/n) − floor(x·i/n)). Every accepted bucket has at least one row, so the staged buckets can be
-- counted from the written files. width_s (60, 3600 or 86400) says how coarse the minute's source is.
WITH expanded AS (
    SELECT *, width_s // 60 AS n, unnest(range(width_s // 60)) AS i
    FROM usage_buckets
    WHERE quarantine_reason IS NULL
)
SELECT
    endpoint,
    model,
    make_timestamptz(epoch_us(bucket_start) + i * 60000000) AS minute,
    (input_tokens * (i + 1)) // n - (input_tokens * i) // n AS input_tokens,
    (cached_input_tokens * (i + 1)) // n - (cached_input_tokens * i) // n AS cached_input_tokens,
    (output_tokens * (i + 1)) // n - (output_tokens * i) // n AS output_tokens,
    (requests * (i + 1)) // n - (requests * i) // n AS requests,
    batch,
    service_tier,
    width_s,
    bucket_key,
    source_file,
    source_line,
    landed_at_ns,
    day
FROM expanded
