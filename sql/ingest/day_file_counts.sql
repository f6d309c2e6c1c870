-- Per landed file, the rows of one day's merge output ($files) that were accepted and quarantined.
SELECT
    source_file,
    count(*) FILTER (WHERE kind = 'accepted') AS accepted,
    count(*) FILTER (WHERE kind = 'quarantine') AS quarantined
FROM read_parquet($files, hive_partitioning = true, hive_types_autocast = false)
GROUP BY source_file
ORDER BY source_file
