"""Source log formats: each module turns one landed file into the standard *raw rows* relation.

Raw rows have ``source_line`` (BIGINT, 1-based record number), ``parse_error`` (VARCHAR, set when the record could not
be read) and the text columns of :data:`pipelines.ingest.formats.records.RAW_COLUMNS`. Typing and validation happen once,
for every format alike, in ``sql/ingest/normalize_rows.sql``.
"""
