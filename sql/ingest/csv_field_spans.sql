-- Line breaks inside the fields of a CSV file (view csv_records: every column as text, as the fast reader read
-- them), to check that reader against the file's physical lines. One row:
--   inner_breaks (line breaks inside fields, in all), max_field_breaks (in one field), max_multiline_bytes (the
--   longest field that spans lines, in bytes; 0 when none does).
WITH cells AS (
    UNPIVOT csv_records ON COLUMNS(*) INTO NAME field VALUE cell
),
spans AS (
    SELECT length(cell) - length(replace(cell, chr(10), '')) AS breaks, strlen(cell) AS bytes FROM cells
)
SELECT
    coalesce(sum(breaks), 0) AS inner_breaks,
    coalesce(max(breaks), 0) AS max_field_breaks,
    coalesce(max(bytes) FILTER (WHERE breaks > 0), 0) AS max_multiline_bytes
FROM spans
