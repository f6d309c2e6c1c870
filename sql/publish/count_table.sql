-- Rows of one table or view, named ($name) as catalog.table.
SELECT count(*) FROM query_table($name)
