-- The rate card in force (from the registered frame rate_card_frame), one row per provider, model and period.
CREATE OR REPLACE TABLE rate_card AS
SELECT * FROM rate_card_frame ORDER BY provider, model, effective_from
