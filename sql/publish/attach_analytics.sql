-- Create the new analytics file ($path, a temporary name next to the published file) as database "analytics".
-- STORAGE_VERSION 'v1.5.0' keeps it readable by the DuckDB 1.5 CLI (duckdb-cli on PyPI): without it DuckDB 2.0
-- writes storage version 69, which DuckDB 1.5 refuses to open.
ATTACH $path AS analytics (STORAGE_VERSION 'v1.5.0')
