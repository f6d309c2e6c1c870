-- Daily rollup of serverless latencies for the SLO check: per endpoint, UTC hour and metric (ttft_ms, latency_ms),
-- the count of requests in each histogram bucket, over the requests served on serverless (deployment_mode
-- 'serverless') that succeeded (ok) and carry the value. The weekly step reads each hour's and the week's
-- percentiles off these counts (pipelines/domain/slo.py). Bucket rule: as in histograms.sql (values below 1024 are
-- their own bucket; above, 1024 + floor(ln(v / 1024) / ln(1.01))). Hours are grouped as integer epoch hours.
WITH served AS (
    SELECT
        endpoint,
        epoch_us(ts) - (epoch_us(ts) % 3600000000 + 3600000000) % 3600000000 AS hour_us,
        ttft_ms,
        latency_ms
    FROM read_parquet($files)
    WHERE deployment_mode = 'serverless' AND ok AND (ttft_ms IS NOT NULL OR latency_ms IS NOT NULL)
),
per_hour AS (
    SELECT
        endpoint,
        hour_us,
        'ttft_ms' AS metric,
        CASE
            WHEN ttft_ms < 1024 THEN CAST(floor(ttft_ms) AS BIGINT)
            ELSE 1024 + CAST(floor(ln(ttft_ms / 1024.0) / 0.009950330853168092) AS BIGINT)
        END AS bucket,
        count(*) AS n
    FROM served
    WHERE ttft_ms IS NOT NULL
    GROUP BY ALL
    UNION ALL
    SELECT
        endpoint,
        hour_us,
        'latency_ms' AS metric,
        CASE
            WHEN latency_ms < 1024 THEN CAST(floor(latency_ms) AS BIGINT)
            ELSE 1024 + CAST(floor(ln(latency_ms / 1024.0) / 0.009950330853168092) AS BIGINT)
        END AS bucket,
        count(*) AS n
    FROM served
    WHERE latency_ms IS NOT NULL
    GROUP BY ALL
)
SELECT endpoint, make_timestamptz(hour_us) AS hour, metric, bucket, n FROM per_hour
