-- The refused records of one aggregated usage export (view usage_buckets: the rows of usage_buckets.sql), in the
-- columns the warehouse's quarantine view reads (the day partition is 'quarantine').
SELECT source_file, source_line, quarantine_reason, raw, day
FROM usage_buckets
WHERE quarantine_reason IS NOT NULL
