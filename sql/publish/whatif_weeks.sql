-- The newest $weeks weeks with recommendations, newest first (the weeks the what-if tables are published for).
SELECT DISTINCT week_start FROM recommendations ORDER BY week_start DESC LIMIT $weeks
