-- The buckets one merged usage day refused as duplicates ($file: the marked rows of usage_merge_day.sql), one row
-- per refused copy, in the columns the warehouse's quarantine view reads (lake/usage/day=D/quarantine.parquet).
SELECT DISTINCT
    source_file,
    source_line,
    'duplicate bucket: the same bucket (start, end and group) was kept from file ' || first_file AS quarantine_reason,
    CAST(NULL AS VARCHAR) AS raw
FROM read_parquet($file)
WHERE kind = 'duplicate'
ORDER BY source_file, source_line
