-- Daily rollup of per-request distributions: per endpoint and metric (input_tokens, output_tokens, latency_ms,
-- ttft_ms), the count of requests in each histogram bucket, so weekly percentiles can be merged from days.
-- Bucket rule (pipelines/domain/histogram.py, tested to agree): values below 1024 are their own bucket (floor);
-- above, 1024 + floor(ln(v / 1024) / ln(1.01)), i.e. buckets 1 % wide.
-- Speed: one GROUP BY per metric (four small hash tables keyed by endpoint and bucket) rather than one over the
-- union of the four metrics; the bucket expression is therefore written once per metric, identically.
SELECT
    endpoint,
    'input_tokens' AS metric,
    CASE
        WHEN v < 1024 THEN CAST(floor(v) AS BIGINT)
        ELSE 1024 + CAST(floor(ln(v / 1024.0) / 0.009950330853168092) AS BIGINT)
    END AS bucket,
    count(*) AS n
FROM (SELECT endpoint, CAST(input_tokens AS DOUBLE) AS v FROM read_parquet($files))
GROUP BY ALL
UNION ALL
SELECT
    endpoint,
    'output_tokens' AS metric,
    CASE
        WHEN v < 1024 THEN CAST(floor(v) AS BIGINT)
        ELSE 1024 + CAST(floor(ln(v / 1024.0) / 0.009950330853168092) AS BIGINT)
    END AS bucket,
    count(*) AS n
FROM (SELECT endpoint, CAST(output_tokens AS DOUBLE) AS v FROM read_parquet($files))
GROUP BY ALL
UNION ALL
SELECT
    endpoint,
    'latency_ms' AS metric,
    CASE
        WHEN v < 1024 THEN CAST(floor(v) AS BIGINT)
        ELSE 1024 + CAST(floor(ln(v / 1024.0) / 0.009950330853168092) AS BIGINT)
    END AS bucket,
    count(*) AS n
FROM (SELECT endpoint, latency_ms AS v FROM read_parquet($files) WHERE latency_ms IS NOT NULL)
GROUP BY ALL
UNION ALL
SELECT
    endpoint,
    'ttft_ms' AS metric,
    CASE
        WHEN v < 1024 THEN CAST(floor(v) AS BIGINT)
        ELSE 1024 + CAST(floor(ln(v / 1024.0) / 0.009950330853168092) AS BIGINT)
    END AS bucket,
    count(*) AS n
FROM (SELECT endpoint, ttft_ms AS v FROM read_parquet($files) WHERE ttft_ms IS NOT NULL)
GROUP BY ALL
