-- How many different column layouts the Parquet files $files have (1: every file has the same columns, with the
-- same types, in the same order, so they can stand side by side as one day of the lake).
SELECT count(DISTINCT layout) AS layouts
FROM (
    SELECT file_name, string_agg(name || ':' || coalesce(duckdb_type, ''), ',' ORDER BY column_id) AS layout
    FROM parquet_schema($files)
    GROUP BY file_name
)
