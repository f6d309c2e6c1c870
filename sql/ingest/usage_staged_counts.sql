-- Buckets per day of one staged usage export ($files: its minute files and its quarantine file; a bucket is one
-- record, however many minutes it covers), and the highest record number seen, which must equal the number of
-- records read. The quarantine is the day 'quarantine'.
SELECT day, count(DISTINCT source_line) AS buckets, max(source_line) AS last_line
FROM read_parquet($files, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)
GROUP BY day
ORDER BY day
