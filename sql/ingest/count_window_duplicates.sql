-- How many request_ids with a copy on $day occur more than once in $window_files (the day's staged slices plus
-- those of the days of its dedupe window). 0: the day needs no duplicate removal. Reads request_id and day only.
SELECT count(*) AS repeated_ids
FROM (
    SELECT request_id
    FROM read_parquet($window_files, union_by_name = true, hive_partitioning = true, hive_types_autocast = false)
    GROUP BY request_id
    HAVING count(*) > 1 AND bool_or(day = $day)
)
