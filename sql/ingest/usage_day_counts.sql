-- Per staged usage export, the buckets one merged usage day accepted and refused as duplicates, and the requests
-- (num_model_requests) it accepted ($file: the marked rows of usage_merge_day.sql; a bucket is one record however
-- many minutes it covers).
SELECT
    source_file,
    count(DISTINCT source_line) FILTER (WHERE kind = 'accepted') AS accepted,
    count(DISTINCT source_line) FILTER (WHERE kind = 'duplicate') AS quarantined,
    coalesce(sum(requests) FILTER (WHERE kind = 'accepted'), 0) AS requests
FROM read_parquet($file)
GROUP BY source_file
ORDER BY source_file
