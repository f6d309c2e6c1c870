-- The usage merge of one UTC day: every staged minute row of the day ($files: the usage/day=D slices of every
-- staged usage export with buckets on it), each marked 'accepted' or 'duplicate'. A bucket is identified by
-- bucket_key (its start, end and group: project, user, API key hash, model, batch, service tier), so the same
-- bucket landed twice (an overlapping export, the same export gzipped) counts once: of its copies the first in
-- landing order (landed_at_ns, then file id, then record number) is kept, minute by minute alike. first_file names
-- the file whose copy was kept.
WITH ranked AS (
    SELECT
        *,
        row_number() OVER copies AS copy_rank,
        first_value(source_file) OVER copies AS first_file
    FROM read_parquet($files)
    WINDOW copies AS (PARTITION BY bucket_key, minute ORDER BY landed_at_ns, source_file, source_line)
)
SELECT * EXCLUDE (copy_rank), CASE WHEN copy_rank = 1 THEN 'accepted' ELSE 'duplicate' END AS kind
FROM ranked
