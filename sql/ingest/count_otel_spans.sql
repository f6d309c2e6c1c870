-- The records of an OTLP/JSON trace file counted by DuckDB's raw line reader (not the typed reader of staging):
-- per non-blank line, the total length of its resourceSpans[*].scopeSpans[*].spans arrays, or 1 for a line without
-- any span (unreadable JSON, an empty envelope). Also the lines read, checked against the file's own line count.
-- $path VARCHAR, $max_bytes BIGINT (the longest line read).
SELECT
    count(*) AS lines,
    coalesce(sum(greatest(coalesce(list_sum(
        json_array_length(json, '$.resourceSpans[*].scopeSpans[*].spans')
    ), 0), 1)), 0) AS records
FROM read_ndjson_objects($path, ignore_errors = true, maximum_object_size = $max_bytes)
