-- The most frequent quarantine reasons in a set of quarantine Parquet files ($files), most frequent first.
SELECT quarantine_reason, count(*) AS rows
FROM read_parquet($files)
GROUP BY quarantine_reason
ORDER BY rows DESC, quarantine_reason
LIMIT 10
