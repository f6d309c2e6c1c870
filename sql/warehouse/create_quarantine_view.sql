-- Every quarantined row: refused at parse time (staged day=quarantine) or at the day merge (duplicates).
-- $quarantine_globs is replaced by the list of quoted quarantine files (views cannot take bound parameters).
CREATE OR REPLACE VIEW quarantine AS
SELECT
    source_file,
    source_line AS line,
    quarantine_reason AS reason,
    raw,
    CASE WHEN day = 'quarantine' THEN 'parse' ELSE 'duplicate' END AS stage,
    CASE WHEN day = 'quarantine' THEN NULL ELSE CAST(day AS DATE) END AS day
FROM read_parquet($quarantine_globs, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)
