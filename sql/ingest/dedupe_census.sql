-- The dedupe census of a region ($files: every staged slice of the days of one dedupe region, from every landed
-- file; see DedupeWindow.region_of): every copy of each request_id that occurs more than once in them, with what
-- ranks the copies (landed_at_ns, source_file, source_line) and the day it is on. Usually empty or small; every day
-- merge of the region reads it instead of grouping the region's request_ids again.
-- Speed: the one GROUP BY over the region's request_ids is the expensive part (spilled to disk past the memory
-- limit); the second read takes only the copies of the repeated ids.
WITH repeated_ids AS (
    SELECT request_id
    FROM read_parquet($files, union_by_name = true, hive_partitioning = true, hive_types_autocast = false)
    GROUP BY request_id
    HAVING count(*) > 1
)
SELECT request_id, source_file, source_line, landed_at_ns, day
FROM read_parquet($files, union_by_name = true, hive_partitioning = true, hive_types_autocast = false)
SEMI JOIN repeated_ids USING (request_id)
