-- Names of the tables and views of the connected database.
SELECT table_name FROM information_schema.tables
