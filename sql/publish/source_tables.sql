-- Names of the tables and views of one attached database ($catalog).
SELECT table_name FROM information_schema.tables WHERE table_catalog = $catalog ORDER BY table_name
