-- How many request_ids with a copy on $day occur more than once in the day's dedupe window: among the copies in the
-- region's census ($census, see dedupe_census.sql) those on the staged slices of the window ($slices: the
-- 'file_id/day' of the day's own slices and of those of its window that can decide its duplicates). 0: the day
-- needs no duplicate removal.
SELECT count(*) AS repeated_ids
FROM (
    SELECT request_id
    FROM read_parquet($census)
    WHERE list_contains($slices, source_file || '/' || day)
    GROUP BY request_id
    HAVING count(*) > 1 AND bool_or(day = $day)
)
