-- Every row of one table or view, named ($name) as catalog.table (query_table takes the name as a value).
SELECT * FROM query_table($name)
