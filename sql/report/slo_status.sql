-- The latency SLOs of one week ($week_start) with what the recommendation does about them, for `modeshift report`:
-- breached first (the dearest to meet first), then not checked, then met.
SELECT
    s.endpoint,
    s.metric,
    s.percentile,
    s.threshold_ms,
    s.status,
    s.hours_with_requests,
    s.breached_hours,
    s.worst_hour_ms,
    s.week_ms,
    r.action,
    r.recommended_mode,
    r.raw_mode,
    r.raw_replicas,
    r.slo_premium_usd
FROM slo_status AS s
LEFT JOIN recommendations AS r ON r.week_start = s.week_start AND r.endpoint = s.endpoint
WHERE s.week_start = CAST($week_start AS DATE)
ORDER BY
    CASE s.status WHEN 'breached' THEN 0 WHEN 'not_checked' THEN 1 ELSE 2 END,
    r.slo_premium_usd DESC NULLS LAST,
    s.endpoint
