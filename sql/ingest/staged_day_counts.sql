-- Rows per day slice of one staged file (the quarantine slice is the day 'quarantine'), and the highest record
-- number seen, which must equal the number of records read. $files: the Parquet files of the staged directory.
SELECT day, count(*) AS rows, max(source_line) AS last_line
FROM read_parquet($files, hive_partitioning = true, hive_types_autocast = false)
GROUP BY day
ORDER BY day
