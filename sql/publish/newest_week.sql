-- The newest week with recommendations (NULL when there is none).
SELECT max(week_start) FROM recommendations
