-- Weeks that have recommendations, newest first.
SELECT DISTINCT CAST(week_start AS VARCHAR) AS week_start FROM recommendations ORDER BY week_start DESC
