-- The dedupe census of a region ($files: every staged slice of the days of one dedupe region, from every landed
-- file; see DedupeWindow.region_of): every copy of each request_id that occurs more than once in them, with what
-- ranks the copies (landed_at_ns, source_file, source_line) and the day it is on. Usually empty or small; every day
-- merge of the region reads it instead of grouping the region's request_ids again.
-- Speed and memory: the region's ids are grouped by their 64-bit hash (8 bytes a key, whatever the id's length;
-- the one expensive step, spilled to disk past the memory limit); only the copies whose hash repeats are read
-- again, and among those the ids themselves decide (two ids with the same hash are not copies of each other).
WITH repeated_hashes AS (
    SELECT hash(request_id) AS id_hash
    FROM read_parquet($files, union_by_name = true, hive_partitioning = true, hive_types_autocast = false)
    GROUP BY id_hash
    HAVING count(*) > 1
),
candidates AS (
    SELECT request_id, source_file, source_line, landed_at_ns, day
    FROM read_parquet($files, union_by_name = true, hive_partitioning = true, hive_types_autocast = false)
    WHERE hash(request_id) IN (SELECT id_hash FROM repeated_hashes)
)
SELECT request_id, source_file, source_line, landed_at_ns, day
FROM candidates
WHERE request_id IN (SELECT request_id FROM candidates GROUP BY request_id HAVING count(*) > 1)
